package stream

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"

	"github.com/braidrpc/braid/internal/jsonrpc"
	"github.com/braidrpc/braid/internal/verify"
)

// Subscribe starts an eth_subscribe subscription. params are
// eth_subscribe's params as sent: ["newHeads"], ["logs"] or ["logs",
// {"address": …, "topics": …}], ["newPendingTransactions"]. deliver gets
// each notification's result, in order, from one goroutine; it must not
// block (a WebSocket connection queues the message or gives up on a slow
// client). A subscription that cannot be made returns a *jsonrpc.Error.
// unsubscribe stops deliveries; after it returns, deliver is not called
// again.
//
// newHeads and logs come from the block stream (Follower): every block of
// the served chain once and in order, a reorg as the new branch's heads
// and the old branch's logs again with "removed": true.
func (s *Stream) Subscribe(params json.RawMessage, deliver func(result json.RawMessage)) (unsubscribe func(), err error) {
	kind, opt, err := subscription(params)
	if err != nil {
		return nil, err
	}
	switch kind {
	case "newHeads":
		if !isNull(opt) {
			return nil, jsonrpc.Errorf(jsonrpc.CodeInvalidParams, "invalid params: newHeads takes no options")
		}
		sub := s.follower.Subscribe(false, func(ev Event) {
			for _, b := range ev.Added {
				deliver(b.JSON)
			}
		})
		return sub.Cancel, nil
	case "logs":
		f, err := parseLogFilter(opt)
		if err != nil {
			return nil, err
		}
		sub := s.follower.Subscribe(true, func(ev Event) { forEachLog(ev, f, deliver) })
		return sub.Cancel, nil
	case "newPendingTransactions":
		if err := hashesOnly(opt); err != nil {
			return nil, err
		}
		return s.pending.subscribe(deliver), nil
	}
	return nil, jsonrpc.Errorf(jsonrpc.CodeInvalidParams,
		"invalid params: no %q subscription: braid serves newHeads, logs and newPendingTransactions", kind)
}

// subscription splits eth_subscribe's params into the subscription's name
// and its options (null when absent).
func subscription(params json.RawMessage) (kind string, opt json.RawMessage, err error) {
	var args []json.RawMessage
	if err := json.Unmarshal(params, &args); err != nil || len(args) == 0 {
		return "", nil, jsonrpc.Errorf(jsonrpc.CodeInvalidParams, "invalid params: eth_subscribe takes a subscription name, e.g. [\"newHeads\"]")
	}
	if err := json.Unmarshal(args[0], &kind); err != nil {
		return "", nil, jsonrpc.Errorf(jsonrpc.CodeInvalidParams, "invalid params: the subscription name must be a string")
	}
	if len(args) > 2 {
		return "", nil, jsonrpc.Errorf(jsonrpc.CodeInvalidParams, "invalid params: too many arguments for %s", kind)
	}
	opt = json.RawMessage("null")
	if len(args) > 1 {
		opt = args[1]
	}
	return kind, opt, nil
}

// forEachLog sends the logs of ev that f selects: the removed ones first,
// then the added ones, as go-ethereum orders them.
func forEachLog(ev Event, f *verify.LogFilter, send func(json.RawMessage)) {
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

// parseLogFilter parses the filter of a logs subscription or of eth_newFilter:
// address and topics as eth_getLogs takes them; fromBlock and toBlock as
// numbers bound which new blocks count, a tag leaves that end open;
// blockHash names no new block and is refused.
func parseLogFilter(raw json.RawMessage) (*verify.LogFilter, error) {
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
