package plan

import (
	"bytes"
	"encoding/json"
	"strconv"

	"github.com/braidrpc/braid/internal/block"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"
)

// Lifetime is how long a cached answer may be served.
type Lifetime uint8

const (
	// NoCache: the answer is not kept.
	NoCache Lifetime = iota
	// Final: the answer cannot change (it is about a block hash, a
	// finalized block or a final transaction); kept until evicted.
	Final
	// TipBound: the answer is about the served tip. Its key names the
	// tip's block, so it is found only while that block is the served tip:
	// the next block or a reorg retires it at once.
	TipBound
)

func (l Lifetime) String() string {
	switch l {
	case Final:
		return "final"
	case TipBound:
		return "tip"
	}
	return "none"
}

// Caching is how one call's answer is looked up and kept. The zero value
// caches nothing.
type Caching struct {
	// Keys are looked up in order; none: the call is not cacheable.
	Keys []string
	// FollowsTip: a key depends on the tip the call was pinned to, so an
	// answer fetched while the served tip changed must not be stored
	// under it.
	FollowsTip bool

	life      Lifetime // decided by the request; NoCache with txRule: by the answer
	txRule    bool     // a transaction or receipt: final once its block is
	blockHash common.Hash
}

// Cacheable reports whether the call's answer may come from the cache.
func (c *Caching) Cacheable() bool { return len(c.Keys) > 0 }

// Caching decides how the call's answer is cached, for the call pinned to
// tip as pin. Only reads braid knows are cached, and only once the tip is
// known; writes, filters, "pending" and methods about the node itself
// (eth_syncing, net_peerCount) never are. Keys carry the quorum and
// verification the answer was obtained under, so a stricter policy never
// serves a laxer one's answer.
func (pl *Plan) Caching(tip block.Tip, pin Pinning) Caching {
	if pl.Kind != Forward || pl.Spec == nil || !tip.Known || pin.Local != nil {
		return Caching{}
	}
	params, ok := compact(pin.Params)
	if !ok {
		return Caching{}
	}
	key := pl.keyPrefix() + params
	atTip := func() string { return key + "@" + tip.Latest.Hash.Hex() }
	finalized, haveFinal := tip.Finalized.Number, tip.Finalized.Hash != (common.Hash{})
	isFinal := func(n uint64) bool { return haveFinal && n <= finalized }

	switch pl.Method {
	case "eth_getBlockByHash", "eth_getBlockTransactionCountByHash", "eth_getUncleCountByBlockHash",
		"eth_getTransactionByBlockHashAndIndex":
		return Caching{Keys: []string{key}, life: Final}
	case "eth_getTransactionByHash", "eth_getTransactionReceipt":
		return Caching{Keys: []string{key, atTip()}, FollowsTip: true, txRule: true}
	case "eth_gasPrice", "eth_maxPriorityFeePerGas", "eth_blobBaseFee":
		return Caching{Keys: []string{atTip()}, FollowsTip: true, life: TipBound}
	case "eth_getLogs":
		return pl.logsCaching(pin, key, atTip, isFinal)
	}
	if pl.Spec.BlockParam < 0 {
		return Caching{} // eth_syncing, net_listening, net_peerCount: about the node
	}
	var raw json.RawMessage
	if i := pl.Spec.BlockParam; i < len(pl.Args) {
		raw = pl.Args[i]
	}
	switch {
	case !pin.HasBlock && namesHash(raw):
		return Caching{Keys: []string{key}, life: Final}
	case !pin.HasBlock:
		return Caching{} // a tag the tip cannot resolve yet
	case pin.Explicit && isFinal(pin.Block):
		return Caching{Keys: []string{key}, life: Final}
	case pin.Explicit:
		return Caching{Keys: []string{atTip()}, FollowsTip: true, life: TipBound}
	case pin.Hash == (common.Hash{}):
		return Caching{} // "pending"
	}
	c := Caching{FollowsTip: true}
	if pl.Method == "eth_getBlockByNumber" {
		c.blockHash = pin.Hash
	}
	if isFinal(pin.Block) {
		c.Keys, c.life = []string{key + "@" + pin.Hash.Hex()}, Final
		return c
	}
	c.Keys, c.life = []string{key + "@" + pin.Hash.Hex()}, TipBound
	return c
}

func (pl *Plan) logsCaching(pin Pinning, key string, atTip func() string, isFinal func(uint64) bool) Caching {
	if len(pl.Args) != 1 || bytes.Contains(pl.Args[0], []byte(`"pending"`)) {
		return Caching{}
	}
	if !pin.HasBlock {
		// By block hash, or a range the tip cannot resolve. A provider
		// that has not seen a block may answer [] for it, so these are
		// only kept while the tip stays.
		return Caching{Keys: []string{atTip()}, FollowsTip: true, life: TipBound}
	}
	if isFinal(pin.MinHead) {
		return Caching{Keys: []string{key}, FollowsTip: true, life: Final}
	}
	return Caching{Keys: []string{atTip()}, FollowsTip: true, life: TipBound}
}

// Admit decides, from the answer, whether and under which key it is
// stored. Nulls are never stored (an unknown transaction or block may
// appear later), nor a block whose hash is not the one the call was
// pinned to, nor a transaction that is not yet in a block. finalized is
// the served tip's finalized block when the answer arrived.
func (c *Caching) Admit(result json.RawMessage, finalized block.Tip) (string, Lifetime) {
	if !c.Cacheable() || len(result) == 0 || bytes.Equal(result, []byte("null")) {
		return "", NoCache
	}
	if c.blockHash != (common.Hash{}) {
		var b struct {
			Hash common.Hash `json:"hash"`
		}
		if json.Unmarshal(result, &b) != nil || b.Hash != c.blockHash {
			return "", NoCache
		}
	}
	if !c.txRule {
		return c.Keys[0], c.life
	}
	var tx struct {
		BlockNumber *hexutil.Uint64 `json:"blockNumber"`
	}
	if json.Unmarshal(result, &tx) != nil || tx.BlockNumber == nil {
		return "", NoCache // pending: its block is not known yet
	}
	if finalized.Finalized.Hash != (common.Hash{}) && uint64(*tx.BlockNumber) <= finalized.Finalized.Number {
		return c.Keys[0], Final
	}
	return c.Keys[1], TipBound
}

// keyPrefix names the method and the trust policy the answer was obtained
// under.
func (pl *Plan) keyPrefix() string {
	v := "u"
	if pl.Verify {
		v = "v"
	}
	return pl.Method + "|q" + strconv.Itoa(max(pl.Quorum.K, 1)) + v + "|"
}

// compact returns params without insignificant whitespace, so that the
// same call spelt differently shares an entry.
func compact(params json.RawMessage) (string, bool) {
	if len(params) == 0 {
		return "[]", true
	}
	if bytes.IndexAny(params, " \t\r\n") < 0 {
		return string(params), true
	}
	var b bytes.Buffer
	if json.Compact(&b, params) != nil {
		return "", false
	}
	return b.String(), true
}

// namesHash reports whether a block param names its block by hash: a
// 32-byte hex string or an EIP-1898 object with blockHash.
func namesHash(raw json.RawMessage) bool {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 68 && raw[0] == '"' && raw[1] == '0' && (raw[2] == 'x' || raw[2] == 'X') {
		return true
	}
	if len(raw) > 0 && raw[0] == '{' {
		var o struct {
			BlockHash *common.Hash `json:"blockHash"`
		}
		return json.Unmarshal(raw, &o) == nil && o.BlockHash != nil
	}
	return false
}
