package plan

import (
	"bytes"
	"encoding/json"
	"strconv"

	"github.com/ethereum/go-ethereum/common"

	"github.com/braidrpc/braid/internal/block"
	"github.com/braidrpc/braid/internal/jsonrpc"
)

// Pinning is how a call reads the chain once pinned to the served tip.
type Pinning struct {
	// Params are the params to send: "latest", "safe" and "finalized"
	// (and a missing optional block) replaced by the tip's blocks.
	Params json.RawMessage
	// Local, when set, is the whole answer: braid knows it from the tip.
	Local json.RawMessage
	// MinHead: only upstreams whose head has reached it may be asked.
	MinHead uint64
	// Block, when HasBlock, is the oldest block the call reads, for depth
	// routing; State says it reads state there (not just history).
	Block    uint64
	HasBlock bool
	State    bool
	// Hash is the hash of Block when braid pinned a tag ("latest", a
	// missing block, …) to one of the tip's blocks; zero otherwise.
	Hash common.Hash
	// Explicit: the client named the block by number (or "earliest").
	Explicit bool
	// Ahead: the call names a block above the served tip (MinHead is
	// beyond it). Floor is then the served tip's number: when no upstream
	// has reached MinHead, upstreams holding Floor answer what a node
	// answers for a block it does not have yet (null, "header not found",
	// a log range beyond its head) instead of the call failing.
	Ahead bool
	Floor uint64
}

// Pin fixes the call to tip. Calls about "now" are pinned to the tip's
// block (by hash where the method takes one, so every provider answers
// about the same block) and may only go to upstreams that hold it; calls
// for an explicit block go to upstreams whose head reached it; calls by
// hash (transactions, receipts) go only to upstreams at the tip, so a
// lagging one cannot answer "null" for what it has not seen yet. maxLag is
// how far behind the tip an upstream may be for methods braid does not
// know.
func (pl *Plan) Pin(tip block.Tip, maxLag uint64) Pinning {
	p := pl.pin(tip, maxLag)
	if tip.Known && p.MinHead > tip.Latest.Number {
		p.Ahead, p.Floor = true, tip.Latest.Number
	}
	return p
}

func (pl *Plan) pin(tip block.Tip, maxLag uint64) Pinning {
	p := Pinning{Params: pl.Params}
	if !tip.Known {
		return p
	}
	spec := pl.Spec
	switch {
	case spec == nil:
		if tip.Latest.Number > maxLag {
			p.MinHead = tip.Latest.Number - maxLag
		}
		return p
	case pl.Method == "eth_blockNumber":
		p.Local = hexQuantity(tip.Latest.Number)
		return p
	case pl.Kind == Write || pl.Kind == Static || pl.Kind == Local || pl.Kind == FilterUse || pl.Kind == Subscribe:
		return p
	}
	p.State = spec.State
	p.MinHead = tip.Latest.Number
	switch {
	case pl.Method == "eth_getLogs" && len(pl.Args) == 1:
		pinLogs(&p, pl.Args[0], tip)
		return p
	case spec.BlockParam < 0:
		return p
	}
	args := pl.Args
	i := spec.BlockParam
	var raw json.RawMessage
	if i < len(args) {
		raw = args[i]
	} else if i > len(args) {
		return p // an optional param before it is missing too: leave it
	}
	ref, pinned, explicit, ok := resolve(raw, tip)
	if !ok {
		return p // a hash or an EIP-1898 object naming a hash: sent as is
	}
	p.Block, p.HasBlock = ref.Number, true
	if explicit {
		p.MinHead = ref.Number
		p.Explicit = true
		return p
	}
	if !pinned {
		return p // "pending": upstream-specific, sent as is to in-sync upstreams
	}
	p.MinHead = ref.Number
	p.Hash = ref.Hash
	var v json.RawMessage
	if spec.Params[i] == BlockNumber {
		v = hexQuantity(ref.Number)
	} else {
		v = json.RawMessage(`{"blockHash":"` + ref.Hash.Hex() + `"}`)
	}
	out := make([]json.RawMessage, max(len(args), i+1))
	copy(out, args)
	out[i] = v
	p.Params = jsonrpc.JoinArray(out)
	return p
}

// resolve reads a block param. pinned: a tag braid replaced by a tip
// block; explicit: the client named a number. ok is false for hashes.
func resolve(raw json.RawMessage, tip block.Tip) (ref block.Block, pinned, explicit, ok bool) {
	if len(raw) == 0 || bytes.Equal(raw, []byte("null")) {
		return tip.Latest, true, false, true
	}
	if raw[0] == '{' {
		var o struct {
			BlockNumber json.RawMessage `json:"blockNumber"`
		}
		if json.Unmarshal(raw, &o) != nil || o.BlockNumber == nil {
			return block.Block{}, false, false, false
		}
		raw = o.BlockNumber
	}
	var s string
	if json.Unmarshal(raw, &s) != nil {
		return block.Block{}, false, false, false
	}
	switch s {
	case "latest":
		return tip.Latest, true, false, true
	case "safe":
		if tip.Safe.Hash != (common.Hash{}) {
			return tip.Safe, true, false, true
		}
		return block.Block{}, false, false, false
	case "finalized":
		if tip.Finalized.Hash != (common.Hash{}) {
			return tip.Finalized, true, false, true
		}
		return block.Block{}, false, false, false
	case "pending":
		return tip.Latest, false, false, true
	case "earliest":
		return block.Block{Number: 0}, false, true, true
	}
	if len(s) > 2 && len(s) <= 18 && (s[:2] == "0x" || s[:2] == "0X") {
		if n, err := strconv.ParseUint(s[2:], 16, 64); err == nil {
			return block.Block{Number: n}, false, true, true
		}
	}
	return block.Block{}, false, false, false
}

// pinLogs pins an eth_getLogs filter's range: tags become the tip's block
// numbers, and the call goes to upstreams that reached its end.
func pinLogs(p *Pinning, filter json.RawMessage, tip block.Tip) {
	var f map[string]json.RawMessage
	if json.Unmarshal(filter, &f) != nil {
		return
	}
	if _, ok := f["blockHash"]; ok {
		return // one block by hash: only in-sync upstreams (MinHead = tip)
	}
	from, _, _, okFrom := resolve(f["fromBlock"], tip)
	to, _, _, okTo := resolve(f["toBlock"], tip)
	if !okFrom || !okTo {
		return
	}
	f["fromBlock"] = hexQuantity(from.Number)
	f["toBlock"] = hexQuantity(to.Number)
	b, err := json.Marshal(f)
	if err != nil {
		return
	}
	p.Params = jsonrpc.JoinArray([]json.RawMessage{b})
	p.MinHead = max(from.Number, to.Number)
	p.Block, p.HasBlock = min(from.Number, to.Number), true
}

func hexQuantity(n uint64) json.RawMessage {
	return json.RawMessage(`"0x` + strconv.FormatUint(n, 16) + `"`)
}
