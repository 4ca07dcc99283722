package devnet

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"
)

// errPruned is go-ethereum's answer for history below its pruning cutoff
// (core/history.PrunedHistoryError).
var errPruned = &rpcError{Code: 4444, Message: "pruned history unavailable"}

// pruneView is a pruning provider's view for one call: blocks numbered
// below cutoff have lost their bodies and receipts, and their
// transactions their lookup entries, as in a geth node after
// `geth prune-history` (EIP-4444). Headers stay.
//
// What each method answers follows go-ethereum v1.17 (eth/api_backend.go,
// internal/ethapi, eth/filters):
//
//   - a block, its transaction count, a transaction or uncle by block and
//     index, its receipts (eth_getBlockReceipts, debug_getRawReceipts and
//     debug_getRawBlock by number): code 4444, by number or by the hash of
//     a known block; "earliest" is the cutoff block;
//   - eth_getLogs whose range starts below the cutoff, or whose block hash
//     is of a pruned block: code 4444; fromBlock "earliest" is the cutoff;
//   - eth_getTransactionByHash, eth_getTransactionReceipt and
//     eth_getRawTransactionByHash of a pruned block's transaction: null,
//     since the lookup entry is gone and the indexer is done;
//   - eth_getRawTransactionByBlock…AndIndex: "0x" (geth drops the error);
//   - debug_getRawBlock by hash: geth's "block #… not found";
//     debug_getRawReceipts by hash: [] (geth finds no receipts).
type pruneView struct {
	d      *Devnet
	cutoff uint64
}

// byNumber are the methods whose first parameter is a block number (or,
// for the last ones, a number or hash) and whose block geth reads whole.
var prunedByNumber = map[string]bool{
	"eth_getBlockByNumber":                    true,
	"eth_getBlockTransactionCountByNumber":    true,
	"eth_getTransactionByBlockNumberAndIndex": true,
	"eth_getUncleByBlockNumberAndIndex":       true,
	"eth_getUncleCountByBlockNumber":          true,
	"eth_getBlockReceipts":                    true,
	"debug_getRawBlock":                       true,
	"debug_getRawReceipts":                    true,
}

// prunedByHash are the methods whose first parameter is a block hash.
var prunedByHash = map[string]bool{
	"eth_getBlockByHash":                    true,
	"eth_getBlockTransactionCountByHash":    true,
	"eth_getTransactionByBlockHashAndIndex": true,
	"eth_getUncleByBlockHashAndIndex":       true,
	"eth_getUncleCountByBlockHash":          true,
}

// newPruneView returns the view of a provider with faults f, or nil when
// it prunes nothing. head is the provider's visible head (a lagging
// provider's view of it).
func (d *Devnet) newPruneView(ctx context.Context, f Faults, head func(context.Context) (uint64, *rpcError)) (*pruneView, *rpcError) {
	if f.PruneBelow == 0 && f.PruneKeep == 0 {
		return nil, nil
	}
	cutoff := f.PruneBelow
	if f.PruneKeep > 0 {
		h, err := head(ctx)
		if err != nil {
			return nil, err
		}
		if h+1 > f.PruneKeep {
			cutoff = max(cutoff, h+1-f.PruneKeep)
		}
	}
	if cutoff == 0 {
		return nil, nil
	}
	return &pruneView{d: d, cutoff: cutoff}, nil
}

// rewrite answers the call itself when it asks for pruned history (done),
// or returns the arguments to forward ("earliest" becomes the cutoff).
func (v *pruneView) rewrite(ctx context.Context, method string, args []json.RawMessage) (_ []json.RawMessage, result json.RawMessage, done bool, _ *rpcError) {
	switch {
	case method == "eth_getLogs":
		return v.rewriteLogs(ctx, args)
	case method == "eth_getRawTransactionByBlockNumberAndIndex" || method == "eth_getRawTransactionByBlockHashAndIndex":
		if len(args) > 0 && v.pruned(ctx, args[0]) {
			return nil, json.RawMessage(`"0x"`), true, nil
		}
	case prunedByHash[method]:
		if len(args) > 0 && v.prunedHash(ctx, args[0]) {
			return nil, nil, true, errPruned
		}
	case prunedByNumber[method]:
		if len(args) == 0 {
			break
		}
		if s, ok := jsonString(args[0]); ok && s == "earliest" {
			args = append([]json.RawMessage{quantityJSON(v.cutoff)}, args[1:]...)
			break
		}
		if _, isHash := hashParam(args[0]); isHash && (method == "debug_getRawBlock" || method == "debug_getRawReceipts") {
			return v.rawByHash(ctx, method, args[0])
		}
		if v.pruned(ctx, args[0]) {
			return nil, nil, true, errPruned
		}
	}
	return args, nil, false, nil
}

// rawByHash is what geth's debug_getRawBlock and debug_getRawReceipts
// answer for a block given by hash: they swallow the pruned error.
func (v *pruneView) rawByHash(ctx context.Context, method string, raw json.RawMessage) ([]json.RawMessage, json.RawMessage, bool, *rpcError) {
	h, _ := hashParam(raw)
	if !v.prunedHash(ctx, raw) {
		return []json.RawMessage{raw}, nil, false, nil
	}
	if method == "debug_getRawReceipts" {
		return nil, json.RawMessage("[]"), true, nil
	}
	return nil, nil, true, &rpcError{Code: -32000, Message: fmt.Sprintf("block #%d not found", h)}
}

// pruned reports whether a block parameter (a number, a hash, or an
// object with either) names a pruned block. Tags name blocks at the head,
// which are kept.
func (v *pruneView) pruned(ctx context.Context, raw json.RawMessage) bool {
	if o, ok := parseObject(raw); ok {
		if h, ok := o.get("blockHash"); ok {
			return v.prunedHash(ctx, h)
		}
		if n, ok := o.get("blockNumber"); ok {
			return v.pruned(ctx, n)
		}
		return false
	}
	if _, isHash := hashParam(raw); isHash {
		return v.prunedHash(ctx, raw)
	}
	s, ok := jsonString(raw)
	if !ok {
		return false
	}
	n, err := hexutil.DecodeUint64(s)
	return err == nil && n < v.cutoff
}

// prunedHash reports whether a block hash names a known pruned block.
func (v *pruneView) prunedHash(ctx context.Context, raw json.RawMessage) bool {
	n, known, _ := v.d.numberByHash(ctx, raw)
	return known && n < v.cutoff
}

// rewriteLogs refuses a filter that reaches below the cutoff.
func (v *pruneView) rewriteLogs(ctx context.Context, args []json.RawMessage) ([]json.RawMessage, json.RawMessage, bool, *rpcError) {
	if len(args) == 0 {
		return args, nil, false, nil
	}
	filter, ok := parseObject(args[0])
	if !ok {
		return args, nil, false, nil
	}
	if h, ok := filter.get("blockHash"); ok {
		if v.prunedHash(ctx, h) {
			return nil, nil, true, errPruned
		}
		return args, nil, false, nil
	}
	from, present := filter.get("fromBlock")
	if !present || isNull(from) {
		return args, nil, false, nil
	}
	if s, ok := jsonString(from); ok && s == "earliest" {
		filter.set("fromBlock", quantityJSON(v.cutoff))
		args = append([]json.RawMessage{filter.encode()}, args[1:]...)
		return args, nil, false, nil
	}
	if v.pruned(ctx, from) {
		return nil, nil, true, errPruned
	}
	return args, nil, false, nil
}

// filter hides a pruned block's transactions from lookups by hash: geth
// removed their index entries.
func (v *pruneView) filter(ctx context.Context, method string, args []json.RawMessage, result json.RawMessage) json.RawMessage {
	switch method {
	case "eth_getTransactionByHash", "eth_getTransactionReceipt":
		if v.minedBelow(result) {
			return nullJSON
		}
	case "eth_getRawTransactionByHash":
		if isNull(result) || len(args) == 0 {
			return result
		}
		tx, err := v.d.forward(ctx, "eth_getTransactionByHash", args[:1])
		if err == nil && v.minedBelow(tx) {
			return nullJSON
		}
	}
	return result
}

// minedBelow reports whether a transaction or receipt answer names a
// block below the cutoff.
func (v *pruneView) minedBelow(result json.RawMessage) bool {
	var tx struct {
		BlockNumber *hexutil.Uint64 `json:"blockNumber"`
	}
	if isNull(result) || json.Unmarshal(result, &tx) != nil || tx.BlockNumber == nil {
		return false
	}
	return uint64(*tx.BlockNumber) < v.cutoff
}

// hashParam decodes a 32-byte hash parameter.
func hashParam(raw json.RawMessage) (common.Hash, bool) {
	s, ok := jsonString(raw)
	if !ok || len(s) != 66 {
		return common.Hash{}, false
	}
	b, err := hexutil.Decode(s)
	if err != nil {
		return common.Hash{}, false
	}
	return common.BytesToHash(b), true
}
