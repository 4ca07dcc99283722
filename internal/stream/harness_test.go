package stream

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"

	"github.com/braidrpc/braid/internal/block"
	"github.com/braidrpc/braid/internal/clock"
	"github.com/braidrpc/braid/internal/config"
	"github.com/braidrpc/braid/internal/jsonrpc"
)

// testFilters are small caps, so tests reach them.
var testFilters = config.Filters{Idle: 5 * time.Minute, Max: 6, MaxPerClient: 3, MaxChanges: 4}

// node answers the stream's calls from a fakeChain, as the gateway's
// executor would: eth_getBlockByHash with the block object (body members
// included), eth_getLogs by blockHash with its logs; any other eth_getLogs
// is recorded and answered with [].
type node struct {
	c *fakeChain

	mu      sync.Mutex
	getLogs []string // params of eth_getLogs calls that name no blockHash
}

func (n *node) call(ctx context.Context, req *jsonrpc.Request) (*jsonrpc.Response, error) {
	var args []json.RawMessage
	if err := json.Unmarshal(req.Params, &args); err != nil {
		return nil, err
	}
	switch req.Method {
	case "eth_getBlockByHash":
		var hash common.Hash
		if err := json.Unmarshal(args[0], &hash); err != nil {
			return nil, err
		}
		h, err := n.c.Header(ctx, hash)
		if err != nil {
			return &jsonrpc.Response{Result: json.RawMessage("null")}, nil
		}
		obj := fmt.Sprintf(`{"hash":%q,"parentHash":%q,"transactions":[],"uncles":[],"size":"0x1",%s`,
			h.Hash.Hex(), h.ParentHash.Hex(), strings.TrimPrefix(string(h.JSON), "{"))
		return &jsonrpc.Response{Result: json.RawMessage(obj)}, nil
	case "eth_getLogs":
		var crit struct{ BlockHash *common.Hash }
		_ = json.Unmarshal(args[0], &crit)
		if crit.BlockHash == nil {
			n.mu.Lock()
			n.getLogs = append(n.getLogs, string(req.Params))
			n.mu.Unlock()
			return &jsonrpc.Response{Result: json.RawMessage("[]")}, nil
		}
		logs, err := n.c.Logs(ctx, *crit.BlockHash)
		if err != nil {
			return nil, err
		}
		b, err := json.Marshal(logs)
		return &jsonrpc.Response{Result: b}, err
	}
	return nil, jsonrpc.Errorf(jsonrpc.CodeMethodNotFound, "no %s here", req.Method)
}

func (n *node) logsAsked() []string {
	n.mu.Lock()
	defer n.mu.Unlock()
	return append([]string(nil), n.getLogs...)
}

// harness is a Stream over a fake chain and fake pools, on a fake clock.
type harness struct {
	*Stream
	chain *fakeChain
	node  *node
	clock *clock.Fake
}

func newHarness(t *testing.T, pools ...Pool) *harness {
	t.Helper()
	c := newFakeChain()
	n := &node{c: c}
	fake := clock.NewFake(time.Unix(1000, 0))
	ctx, cancel := context.WithCancel(context.Background())
	s := New(n.call, func() []Pool { return pools }, Options{Filters: testFilters, Context: ctx, Clock: fake})
	t.Cleanup(func() { cancel(); s.Wait() })
	return &harness{Stream: s, chain: c, node: n, clock: fake}
}

// advance announces tip and brings the block stream to it at once.
func (h *harness) advance(t *testing.T, tip block.Header) {
	t.Helper()
	h.Advance(tip.Block)
	if err := h.follower.step(context.Background()); err != nil {
		t.Fatalf("step to %d: %v", tip.Number, err)
	}
}

// call answers one filter call and fails the test on a braid error.
func (h *harness) filter(t *testing.T, method, params, client string) *jsonrpc.Response {
	t.Helper()
	var args []json.RawMessage
	if params != "" {
		if err := json.Unmarshal([]byte(params), &args); err != nil {
			t.Fatal(err)
		}
	}
	resp, err := h.Filter(context.Background(), method, args, client)
	if err != nil {
		resp = &jsonrpc.Response{Error: jsonrpc.FromError(err)}
	}
	return resp
}
