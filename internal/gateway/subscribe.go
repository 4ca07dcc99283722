package gateway

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"

	"github.com/braidrpc/braid/internal/block"
	"github.com/braidrpc/braid/internal/chain"
	"github.com/braidrpc/braid/internal/jsonrpc"
	"github.com/braidrpc/braid/internal/verify"
)

// Subscribe starts an eth_subscribe subscription on the network. params
// are eth_subscribe's params as sent: ["newHeads"], ["logs"] or ["logs",
// {"address": …, "topics": …}], ["newPendingTransactions"]. deliver gets
// each notification's result, in order, from one goroutine; it must not
// block (a WebSocket connection queues the message or gives up on a slow
// client). A subscription that cannot be made returns a *jsonrpc.Error.
// unsubscribe stops deliveries; after it returns, deliver is not called
// again.
//
// newHeads and logs come from the network's block stream (chain.Follower):
// every block of the served chain once and in order, a reorg as the new
// branch's heads and the old branch's logs again with "removed": true.
func (n *Network) Subscribe(params json.RawMessage, deliver func(result json.RawMessage)) (unsubscribe func(), err error) {
	var args []json.RawMessage
	if err := json.Unmarshal(params, &args); err != nil || len(args) == 0 {
		return nil, jsonrpc.Errorf(jsonrpc.CodeInvalidParams, "invalid params: eth_subscribe takes a subscription name, e.g. [\"newHeads\"]")
	}
	var kind string
	if err := json.Unmarshal(args[0], &kind); err != nil {
		return nil, jsonrpc.Errorf(jsonrpc.CodeInvalidParams, "invalid params: the subscription name must be a string")
	}
	opt := json.RawMessage("null")
	if len(args) > 1 {
		opt = args[1]
	}
	if len(args) > 2 {
		return nil, jsonrpc.Errorf(jsonrpc.CodeInvalidParams, "invalid params: too many arguments for %s", kind)
	}
	switch kind {
	case "newHeads":
		if !isNull(opt) {
			return nil, jsonrpc.Errorf(jsonrpc.CodeInvalidParams, "invalid params: newHeads takes no options")
		}
		s := n.stream.Subscribe(false, func(ev chain.Event) {
			for _, b := range ev.Added {
				deliver(b.JSON)
			}
		})
		return s.Cancel, nil
	case "logs":
		f, err := streamLogFilter(opt)
		if err != nil {
			return nil, err
		}
		s := n.stream.Subscribe(true, func(ev chain.Event) { forEachLog(ev, f, deliver) })
		return s.Cancel, nil
	case "newPendingTransactions":
		if err := hashesOnly(opt); err != nil {
			return nil, err
		}
		return n.pending.subscribe(deliver), nil
	}
	return nil, jsonrpc.Errorf(jsonrpc.CodeInvalidParams,
		"invalid params: no %q subscription: braid serves newHeads, logs and newPendingTransactions", kind)
}

// forEachLog sends the logs of ev that f selects: the removed ones first,
// then the added ones, as go-ethereum orders them.
func forEachLog(ev chain.Event, f *verify.LogFilter, send func(json.RawMessage)) {
	for _, b := range ev.Removed {
		for _, l := range b.Logs {
			if f.Matches(l.Log) {
				send(l.RemovedJSON)
			}
		}
	}
	for _, b := range ev.Added {
		for _, l := range b.Logs {
			if f.Matches(l.Log) {
				send(l.JSON)
			}
		}
	}
}

// openBound stands for a block tag in a filter that follows new blocks.
const openBound = math.MaxUint64

// streamLogFilter parses the filter of a logs subscription or of
// eth_newFilter: address and topics as eth_getLogs takes them; fromBlock
// and toBlock as numbers bound which new blocks count, a tag leaves that
// end open; blockHash names no new block and is refused.
func streamLogFilter(raw json.RawMessage) (*verify.LogFilter, error) {
	f, err := verify.ParseLogFilter(raw, func(tag string) (uint64, error) {
		switch tag {
		case "latest", "pending", "safe", "finalized":
			return openBound, nil
		case "earliest":
			return 0, nil
		}
		return 0, fmt.Errorf("%w: unknown block tag %q", verify.ErrInvalidFilter, tag)
	})
	if err != nil {
		return nil, jsonrpc.Errorf(jsonrpc.CodeInvalidParams, "invalid params: %v", err)
	}
	if f.BlockHash != nil {
		return nil, jsonrpc.Errorf(jsonrpc.CodeInvalidParams,
			"invalid params: a filter of new logs cannot name a blockHash (use eth_getLogs for one block)")
	}
	if f.FromBlock == openBound {
		f.FromBlock = 0
	}
	return f, nil
}

// hashesOnly refuses the full-transaction form of pending subscriptions.
func hashesOnly(opt json.RawMessage) error {
	if isNull(opt) || string(bytes.TrimSpace(opt)) == "false" {
		return nil
	}
	return jsonrpc.Errorf(jsonrpc.CodeInvalidParams,
		"invalid params: braid serves pending transaction hashes only (fullTx is not supported)")
}

func isNull(raw json.RawMessage) bool {
	t := bytes.TrimSpace(raw)
	return len(t) == 0 || string(t) == "null"
}

// streamSource feeds the block stream through the network's own request
// path: blocks by hash and their logs are pinned, quorum-checked and, in
// strict mode, verified exactly as a client's reads are.
type streamSource struct{ n *Network }

var _ chain.Source = streamSource{}

// errNoBlock: every operator said the block is unknown.
var errNoBlock = errors.New("block not found")

// headerBody are the members of a block object that are not its header.
var headerBody = []string{"transactions", "uncles", "withdrawals", "size", "totalDifficulty"}

func (s streamSource) Header(ctx context.Context, hash common.Hash) (chain.Header, error) {
	res, err := s.n.execute(ctx, &jsonrpc.Request{Method: "eth_getBlockByHash",
		Params: json.RawMessage(`[` + strconv.Quote(hash.Hex()) + `,false]`)})
	if err != nil {
		return chain.Header{}, err
	}
	if res.Error != nil {
		return chain.Header{}, res.Error
	}
	if isNull(res.Result) {
		return chain.Header{}, errNoBlock
	}
	var b block.Block
	if err := json.Unmarshal(res.Result, &b); err != nil {
		return chain.Header{}, fmt.Errorf("block %s: %w", hash, err)
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(res.Result, &obj); err != nil {
		return chain.Header{}, fmt.Errorf("block %s: %w", hash, err)
	}
	for _, k := range headerBody {
		delete(obj, k)
	}
	out, err := json.Marshal(obj)
	if err != nil {
		return chain.Header{}, err
	}
	return chain.Header{Number: b.Number, Hash: b.Hash, ParentHash: b.ParentHash, JSON: out}, nil
}

func (s streamSource) Logs(ctx context.Context, hash common.Hash) ([]*types.Log, error) {
	res, err := s.n.execute(ctx, &jsonrpc.Request{Method: "eth_getLogs",
		Params: json.RawMessage(`[{"blockHash":` + strconv.Quote(hash.Hex()) + `}]`)})
	if err != nil {
		return nil, err
	}
	if res.Error != nil {
		return nil, res.Error
	}
	var logs []*types.Log
	if err := json.Unmarshal(res.Result, &logs); err != nil {
		return nil, fmt.Errorf("logs of block %s: %w", hash, err)
	}
	return logs, nil
}
