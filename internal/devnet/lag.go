package devnet

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/ethereum/go-ethereum/common/hexutil"
)

// lagView is a lagging provider's view of the chain for one call: the real
// head H and the visible head V = max(H-N, 0). Blocks above V do not exist
// for it yet, nor do transactions mined in them.
type lagView struct {
	d    *Devnet
	view uint64
}

func (d *Devnet) newLagView(ctx context.Context, lag uint64) (*lagView, *rpcError) {
	head, err := d.headNumber(ctx)
	if err != nil {
		return nil, err
	}
	v := uint64(0)
	if head > lag {
		v = head - lag
	}
	return &lagView{d: d, view: v}, nil
}

// headNumber is the chain's head block number.
func (d *Devnet) headNumber(ctx context.Context) (uint64, *rpcError) {
	var head hexutil.Uint64
	if err := d.rpc.CallContext(ctx, &head, "eth_blockNumber"); err != nil {
		return 0, toRPCError(err)
	}
	return uint64(head), nil
}

// Methods whose first parameter is a block hash (and that have no block
// parameter in plan's sense): a block above V is unknown, so they answer
// null.
var byBlockHash = map[string]bool{
	"eth_getBlockByHash":                    true,
	"eth_getBlockTransactionCountByHash":    true,
	"eth_getUncleCountByBlockHash":          true,
	"eth_getTransactionByBlockHashAndIndex": true,
}

// blockParam is where a method takes its block: the index of the block
// parameter, and whether it may name the block by hash (an EIP-1898
// object): state reads and receipts, which geth answers "header not found"
// above its head, where reads by number answer null. The devnet keeps its
// own list, as a node does: it must not borrow the view of the system it
// tests.
type blockParam struct {
	index  int
	byHash bool
}

var blockParams = map[string]blockParam{
	"eth_feeHistory":                          {1, false},
	"eth_getBalance":                          {1, true},
	"eth_getTransactionCount":                 {1, true},
	"eth_getCode":                             {1, true},
	"eth_getStorageAt":                        {2, true},
	"eth_getProof":                            {2, true},
	"eth_call":                                {1, true},
	"eth_estimateGas":                         {1, true},
	"eth_createAccessList":                    {1, true},
	"eth_getBlockByNumber":                    {0, false},
	"eth_getBlockReceipts":                    {0, true},
	"eth_getBlockTransactionCountByNumber":    {0, false},
	"eth_getUncleCountByBlockNumber":          {0, false},
	"eth_getTransactionByBlockNumberAndIndex": {0, false},
}

// rewrite pins the call's block parameter to the visible head. It either
// returns the arguments to forward, or answers the call itself (done) when
// the call asks for something above V.
func (l *lagView) rewrite(ctx context.Context, method string, args []json.RawMessage) (_ []json.RawMessage, result json.RawMessage, done bool, _ *rpcError) {
	switch {
	case method == "eth_blockNumber":
		return nil, quantityJSON(l.view), true, nil
	case method == "eth_getLogs":
		return l.rewriteLogs(ctx, args)
	case byBlockHash[method]:
		if len(args) > 0 {
			if n, known, err := l.d.numberByHash(ctx, args[0]); err != nil {
				return nil, nil, true, err
			} else if known && n > l.view {
				return nil, nullJSON, true, nil
			}
		}
		return args, nil, false, nil
	}
	m, ok := blockParams[method]
	if !ok || len(args) < m.index {
		return args, nil, false, nil
	}
	bp := m.index
	if len(args) == bp {
		// A missing block parameter means "latest", which is V here.
		return append(args, quantityJSON(l.view)), nil, false, nil
	}
	pinned, n, beyond, err := l.resolve(ctx, args[bp], m.byHash)
	if err != nil {
		return nil, nil, true, err
	}
	if beyond {
		switch {
		case method == "eth_feeHistory":
			return nil, nil, true, &rpcError{Code: -32000,
				Message: fmt.Sprintf("request beyond head block: requested %d, head %d", n, l.view)}
		case m.byHash: // state and receipts: geth's "header not found"
			return nil, nil, true, errNoHeader
		default: // block and transaction by number: not there yet
			return nil, nullJSON, true, nil
		}
	}
	if pinned != nil {
		args = append([]json.RawMessage(nil), args...)
		args[bp] = pinned
	}
	return args, nil, false, nil
}

// resolve reads a block parameter. pinned is the explicit number to send
// instead (nil: keep the parameter); beyond reports a block above V, n its
// number. Parameters the chain would reject are kept, for it to reject.
func (l *lagView) resolve(ctx context.Context, raw json.RawMessage, hashes bool) (pinned json.RawMessage, n uint64, beyond bool, _ *rpcError) {
	if s, ok := jsonString(raw); ok {
		switch s {
		case "latest", "pending", "safe":
			return quantityJSON(l.view), l.view, false, nil
		case "finalized":
			f, err := l.finalized(ctx)
			if err != nil {
				return nil, 0, false, err
			}
			return quantityJSON(f), f, false, nil
		case "earliest":
			return nil, 0, false, nil
		}
		if len(s) == 66 && hashes {
			n, known, err := l.d.numberByHash(ctx, raw)
			return nil, n, known && n > l.view, err
		}
		if n, err := hexutil.DecodeUint64(s); err == nil {
			return nil, n, n > l.view, nil
		}
		return nil, 0, false, nil
	}
	o, ok := parseObject(raw)
	if !ok || !hashes {
		return nil, 0, false, nil
	}
	if h, ok := o.get("blockHash"); ok {
		n, known, err := l.d.numberByHash(ctx, h)
		return nil, n, known && n > l.view, err
	}
	if num, ok := o.get("blockNumber"); ok {
		return l.resolve(ctx, num, false)
	}
	return nil, 0, false, nil
}

// finalized is min(finalized, V).
func (l *lagView) finalized(ctx context.Context) (uint64, *rpcError) {
	var h struct {
		Number hexutil.Uint64 `json:"number"`
	}
	raw, err := l.d.forward(ctx, "eth_getBlockByNumber", []json.RawMessage{json.RawMessage(`"finalized"`), json.RawMessage("false")})
	if err != nil {
		return 0, err
	}
	if isNull(raw) || json.Unmarshal(raw, &h) != nil {
		return 0, nil
	}
	return min(uint64(h.Number), l.view), nil
}

// rewriteLogs clamps a log filter's range to V. A range starting above V
// has no logs yet; a block hash above V is unknown.
func (l *lagView) rewriteLogs(ctx context.Context, args []json.RawMessage) ([]json.RawMessage, json.RawMessage, bool, *rpcError) {
	if len(args) == 0 {
		return args, nil, false, nil
	}
	filter, ok := parseObject(args[0])
	if !ok {
		return args, nil, false, nil
	}
	if h, ok := filter.get("blockHash"); ok {
		n, known, err := l.d.numberByHash(ctx, h)
		if err != nil {
			return nil, nil, true, err
		}
		if known && n > l.view {
			return nil, nil, true, errUnknownBlock
		}
		return args, nil, false, nil
	}
	from, ok, err := l.logBound(ctx, filter, "fromBlock")
	if err != nil || !ok {
		return args, nil, err != nil, err
	}
	to, ok, err := l.logBound(ctx, filter, "toBlock")
	if err != nil || !ok {
		return args, nil, err != nil, err
	}
	if from > l.view {
		return nil, json.RawMessage("[]"), true, nil
	}
	filter.set("fromBlock", quantityJSON(from))
	filter.set("toBlock", quantityJSON(min(to, l.view)))
	args = append([]json.RawMessage(nil), args...)
	args[0] = filter.encode()
	return args, nil, false, nil
}

// logBound reads a filter's fromBlock or toBlock as a number; ok is false
// for a value the chain should judge itself.
func (l *lagView) logBound(ctx context.Context, filter object, key string) (uint64, bool, *rpcError) {
	raw, present := filter.get(key)
	if !present || isNull(raw) {
		return l.view, true, nil
	}
	s, isStr := jsonString(raw)
	if !isStr {
		return 0, false, nil
	}
	switch s {
	case "latest", "pending", "safe":
		return l.view, true, nil
	case "finalized":
		f, err := l.finalized(ctx)
		return f, err == nil, err
	case "earliest":
		return 0, true, nil
	}
	n, err := hexutil.DecodeUint64(s)
	return n, err == nil, nil
}

// filter hides what the call found above V: a transaction or receipt
// mined there is not known yet.
func (l *lagView) filter(method string, result json.RawMessage) json.RawMessage {
	if method != "eth_getTransactionByHash" && method != "eth_getTransactionReceipt" {
		return result
	}
	var tx struct {
		BlockNumber *hexutil.Uint64 `json:"blockNumber"`
	}
	if isNull(result) || json.Unmarshal(result, &tx) != nil || tx.BlockNumber == nil {
		return result
	}
	if uint64(*tx.BlockNumber) > l.view {
		return nullJSON
	}
	return result
}

// numberByHash returns the number of the block with that hash (a JSON
// string); known is false for a hash the chain does not know.
func (d *Devnet) numberByHash(ctx context.Context, hash json.RawMessage) (n uint64, known bool, _ *rpcError) {
	raw, err := d.forward(ctx, "eth_getBlockByHash", []json.RawMessage{hash, json.RawMessage("false")})
	if err != nil {
		// A malformed hash: let the real call report it.
		return 0, false, nil
	}
	var h struct {
		Number *hexutil.Uint64 `json:"number"`
	}
	if isNull(raw) || json.Unmarshal(raw, &h) != nil || h.Number == nil {
		return 0, false, nil
	}
	return uint64(*h.Number), true, nil
}
