package archive

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"sync/atomic"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"

	"github.com/braidrpc/braid/internal/ethjson"
	"github.com/braidrpc/braid/internal/jsonrpc"
	"github.com/braidrpc/braid/internal/plan"
)

// This file is the stage's entry point (Answer): which answers say the
// history is gone, and the rendering of an answer from the store and peers.

// Sources of a history answer (the Braid-Source header, metrics, status).
const (
	sourceProvider = "provider"
	sourceStore    = "store"
	sourcePeer     = "peer"
)

// historyMethods are the calls the stage can answer.
var historyMethods = map[string]bool{
	"eth_getBlockByHash":                      true,
	"eth_getBlockByNumber":                    true,
	"eth_getBlockTransactionCountByHash":      true,
	"eth_getBlockTransactionCountByNumber":    true,
	"eth_getTransactionByBlockHashAndIndex":   true,
	"eth_getTransactionByBlockNumberAndIndex": true,
	"eth_getBlockReceipts":                    true,
	"eth_getTransactionByHash":                true,
	"eth_getTransactionReceipt":               true,
	"eth_getLogs":                             true,
}

// errNotHeld: neither the store nor any peer has the block; the
// providers' own answer stands.
var errNotHeld = errors.New("history: not held")

// sourceCounts count history answers by source and result, for /status.
type sourceCounts struct {
	provider, store, peer, unavailable atomic.Uint64
}

// HistoryCounts is /status's per-source count of history answers.
type HistoryCounts struct {
	Provider    uint64 `json:"provider"`
	Store       uint64 `json:"store"`
	Peer        uint64 `json:"peer"`
	Unavailable uint64 `json:"unavailable"`
}

func (c *sourceCounts) snapshot() HistoryCounts {
	return HistoryCounts{Provider: c.provider.Load(), Store: c.store.Load(), Peer: c.peer.Load(), Unavailable: c.unavailable.Load()}
}

// Answer is the history stage: given the providers' answer to pl, it
// answers from the store or peers when that answer says the history is
// gone, and keeps the providers' answer otherwise. A nil Archive (peers
// off) keeps every answer.
func (a *Archive) Answer(ctx context.Context, pl *plan.Plan, resp *jsonrpc.Response, err error) (*jsonrpc.Response, error) {
	if a == nil || !historyMethods[pl.Method] {
		return resp, err
	}
	if !historyGone(pl.Method, resp, err) {
		if err == nil {
			a.note(sourceProvider, "ok")
		}
		return resp, err
	}
	result, src, herr := a.historyAnswer(ctx, pl)
	var unsettled *unsettledError
	if errors.As(herr, &unsettled) {
		// The providers pruned it and neither proofs nor a quorum of
		// operators settle which block it is: say so.
		a.note(sourceProvider, "unavailable")
		return nil, unsettled.rpcError()
	}
	if herr != nil {
		if !errors.Is(herr, errNotHeld) {
			a.log.Debug("history stage could not answer", "method", pl.Method, "err", herr)
		}
		a.note(sourceProvider, "unavailable")
		return resp, err
	}
	a.note(src, "ok")
	return &jsonrpc.Response{Result: result, Source: src}, nil
}

// note counts one history answer.
func (a *Archive) note(source, result string) {
	a.metrics.count(a.network, source, result)
	switch {
	case result != "ok":
		a.counts.unavailable.Add(1)
	case source == sourceStore:
		a.counts.store.Add(1)
	case source == sourcePeer:
		a.counts.peer.Add(1)
	default:
		a.counts.provider.Add(1)
	}
}

// historyGone reports whether the providers' answer says the history
// asked for is gone: no provider answered, or they answered pruned or not
// available; for lookups by transaction hash, null (a pruned node has
// dropped the lookup entries).
func historyGone(method string, resp *jsonrpc.Response, err error) bool {
	if err != nil {
		return !errors.Is(err, context.Canceled) && !errors.Is(err, context.DeadlineExceeded)
	}
	if resp == nil {
		return false
	}
	if resp.Error != nil {
		return prunedError(resp.Error)
	}
	if method == "eth_getTransactionByHash" || method == "eth_getTransactionReceipt" {
		return strings.TrimSpace(string(resp.Result)) == "null"
	}
	return false
}

// prunedError reports whether a node's error answer says it no longer
// has (or never had) the block's content.
func prunedError(e *jsonrpc.Error) bool {
	if e.Code == 4444 {
		return true
	}
	msg := strings.ToLower(e.Message)
	for _, p := range []string{"pruned", "ancient", "not available", "body is missing", "body not found",
		"receipts not found", "history expired", "historical data"} {
		if strings.Contains(msg, p) {
			return true
		}
	}
	return false
}

// historyAnswer renders the answer to pl from the store and peers, and
// says where the content came from.
func (a *Archive) historyAnswer(ctx context.Context, pl *plan.Plan) (json.RawMessage, string, error) {
	var args []json.RawMessage
	if err := json.Unmarshal(pl.Params, &args); err != nil || len(args) == 0 {
		return nil, "", errNotHeld
	}
	r := a.render
	switch pl.Method {
	case "eth_getTransactionByHash", "eth_getTransactionReceipt":
		return a.historyTx(ctx, pl.Method, args[0])
	case "eth_getLogs":
		return a.historyLogs(ctx, args[0])
	}
	withReceipts := pl.Method == "eth_getBlockReceipts"
	b, src, err := a.historyBlock(ctx, args[0], withReceipts)
	if err != nil {
		return nil, "", err
	}
	var out json.RawMessage
	switch pl.Method {
	case "eth_getBlockByHash", "eth_getBlockByNumber":
		full := len(args) > 1 && strings.TrimSpace(string(args[1])) == "true"
		out, err = r.Block(b, full)
	case "eth_getBlockTransactionCountByHash", "eth_getBlockTransactionCountByNumber":
		out = r.TransactionCount(b)
	case "eth_getTransactionByBlockHashAndIndex", "eth_getTransactionByBlockNumberAndIndex":
		var idx hexutil.Uint64
		if len(args) < 2 || json.Unmarshal(args[1], &idx) != nil {
			return nil, "", errNotHeld
		}
		out, err = r.TransactionAt(b, uint64(idx))
	case "eth_getBlockReceipts":
		out, err = r.BlockReceipts(b)
	}
	return out, src, err
}

// historyTx answers a lookup by transaction hash from the store's index,
// else through peers (peerTx).
func (a *Archive) historyTx(ctx context.Context, method string, raw json.RawMessage) (json.RawMessage, string, error) {
	var txHash common.Hash
	if err := json.Unmarshal(raw, &txHash); err != nil {
		return nil, "", errNotHeld
	}
	withReceipts := method == "eth_getTransactionReceipt"
	b, src, err := a.storedTx(ctx, txHash, withReceipts)
	if errors.Is(err, errNotHeld) {
		b, src, err = a.peerTx(ctx, txHash, withReceipts)
	}
	if err != nil {
		return nil, "", err
	}
	if withReceipts {
		out, err := a.render.Receipt(b, txHash)
		return out, src, err
	}
	out, err := a.render.Transaction(b, txHash)
	return out, src, err
}

// storedTx is the block holding txHash by the store's index: only when
// the block is still the served chain's at that number (the index holds
// canonical blocks only).
func (a *Archive) storedTx(ctx context.Context, txHash common.Hash, withReceipts bool) (*ethjson.Block, string, error) {
	_, loc, ok := a.store.TxLookup(txHash)
	if !ok {
		return nil, "", errNotHeld
	}
	if hash, err := a.trustedCanonical(ctx, loc.Number); err != nil || hash != loc.BlockHash {
		return nil, "", errNotHeld
	}
	return a.blockParts(ctx, loc.BlockHash, withReceipts)
}
