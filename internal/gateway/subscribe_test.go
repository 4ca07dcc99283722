package gateway

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/braidrpc/braid/internal/chain"
	"github.com/braidrpc/braid/internal/clock"
	"github.com/braidrpc/braid/internal/config"
	"github.com/braidrpc/braid/internal/jsonrpc"
)

func testNetwork(t *testing.T) *Network {
	t.Helper()
	cfg := config.Default()
	cfg.Networks = []config.Network{{Name: "mainnet", ChainID: 1, Upstreams: []config.Upstream{
		{Name: "a", Operator: "op", URL: "http://127.0.0.1:1"}}}}
	cfg.ApplyDefaults()
	g, err := New(cfg, Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(g.Close)
	return g.Networks()[0]
}

func TestSubscribeRefusesWhatItCannotServe(t *testing.T) {
	n := testNetwork(t)
	for _, tc := range []struct{ params, want string }{
		{`[]`, "takes a subscription name"},
		{`{}`, "takes a subscription name"},
		{`[1]`, "must be a string"},
		{`["syncing"]`, `no "syncing" subscription`},
		{`["newHeads",{}]`, "newHeads takes no options"},
		{`["newHeads",null,1]`, "too many arguments"},
		{`["logs",{"blockHash":"0x` + strings.Repeat("00", 32) + `"}]`, "cannot name a blockHash"},
		{`["logs",{"address":"0x1"}]`, "address"},
		{`["logs",{"fromBlock":"later"}]`, `unknown block tag "later"`},
		{`["logs",[1]]`, "not an object"},
		{`["newPendingTransactions",true]`, "hashes only"},
	} {
		_, err := n.Subscribe(json.RawMessage(tc.params), func(json.RawMessage) {})
		je, ok := err.(*jsonrpc.Error)
		if !ok || je.Code != jsonrpc.CodeInvalidParams || !strings.Contains(je.Message, tc.want) {
			t.Errorf("%s: %v, want -32602 mentioning %q", tc.params, err, tc.want)
		}
	}
	for _, ok := range []string{`["newHeads"]`, `["newHeads",null]`, `["logs"]`, `["logs",{}]`,
		`["logs",{"address":["0x0000000000000000000000000000000000000001"],"topics":[null,["0x` + strings.Repeat("11", 32) + `"]]}]`,
		`["newPendingTransactions"]`, `["newPendingTransactions",false]`} {
		cancel, err := n.Subscribe(json.RawMessage(ok), func(json.RawMessage) {})
		if err != nil {
			t.Errorf("%s: %v", ok, err)
			continue
		}
		cancel()
	}
	if got := n.stream.Subscribers(); got != 0 {
		t.Errorf("%d stream consumers left after unsubscribing", got)
	}
	if got := n.pending.listeners(); got != 0 {
		t.Errorf("%d pending listeners left after unsubscribing", got)
	}
}

// TestLogFilterBounds: a numeric fromBlock/toBlock bounds which new
// blocks count; a tag leaves that end open.
func TestLogFilterBounds(t *testing.T) {
	addr := common.Address{1}
	log := func(n uint64) *types.Log { return &types.Log{Address: addr, BlockNumber: n} }
	for _, tc := range []struct {
		filter string
		in     []uint64
		out    []uint64
	}{
		{`{}`, []uint64{0, 5, 1 << 40}, nil},
		{`{"fromBlock":"latest","toBlock":"latest"}`, []uint64{0, 5, 1 << 40}, nil},
		{`{"fromBlock":"0x10"}`, []uint64{16, 100}, []uint64{15}},
		{`{"toBlock":"0x10"}`, []uint64{0, 16}, []uint64{17}},
		{`{"fromBlock":"earliest","toBlock":"0x2"}`, []uint64{0, 2}, []uint64{3}},
		{`{"address":"0x0000000000000000000000000000000000000002"}`, nil, []uint64{1}},
	} {
		f, err := streamLogFilter(json.RawMessage(tc.filter))
		if err != nil {
			t.Fatalf("%s: %v", tc.filter, err)
		}
		for _, n := range tc.in {
			if !f.Matches(log(n)) {
				t.Errorf("%s: block %d not matched", tc.filter, n)
			}
		}
		for _, n := range tc.out {
			if f.Matches(log(n)) {
				t.Errorf("%s: block %d matched", tc.filter, n)
			}
		}
	}
}

// TestForEachLogOrder: removed logs first (with removed: true), then the
// added ones, each only when the filter selects it.
func TestForEachLogOrder(t *testing.T) {
	mk := func(n uint64, addr byte) chain.Log {
		l := &types.Log{Address: common.Address{addr}, BlockNumber: n, Topics: []common.Hash{}}
		b, _ := json.Marshal(l)
		c := *l
		c.Removed = true
		rb, _ := json.Marshal(&c)
		return chain.Log{Log: l, JSON: b, RemovedJSON: rb}
	}
	ev := chain.Event{
		Removed: []*chain.Block{{Logs: []chain.Log{mk(4, 1), mk(4, 2)}}, {Logs: []chain.Log{mk(5, 1)}}},
		Added:   []*chain.Block{{Logs: []chain.Log{mk(4, 1)}}, {Logs: []chain.Log{mk(5, 2), mk(5, 1)}}},
	}
	f, err := streamLogFilter(json.RawMessage(`{"address":"0x0100000000000000000000000000000000000000"}`))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	forEachLog(ev, f, func(raw json.RawMessage) {
		var l types.Log
		if err := json.Unmarshal(raw, &l); err != nil {
			t.Fatal(err)
		}
		s := "+"
		if l.Removed {
			s = "-"
		}
		got = append(got, s+string(rune('0'+l.BlockNumber)))
	})
	if strings.Join(got, ",") != "-4,-5,+4,+5" {
		t.Errorf("order %v, want -4,-5,+4,+5", got)
	}
}

// TestNewHeadsMissesNoBlockWhileTheStreamCannotFetch: blocks served after
// eth_subscribe returned reach the subscriber even though the block
// stream could not fetch them at first (the provider did not know them by
// hash yet) while the served tip moved on.
func TestNewHeadsMissesNoBlockWhileTheStreamCannotFetch(t *testing.T) {
	fake := clock.NewFake(time.Unix(1000, 0))
	node := newHeadNode(t, 7)
	g := headGateway(t, fake, prometheus.NewRegistry(), node)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	g.Start(ctx, 5*time.Second)
	n := g.Networks()[0]
	eventually(t, "the served tip", func() bool { return n.head.Tip().Known })

	got := make(chan string, 16)
	unsubscribe, err := n.Subscribe(json.RawMessage(`["newHeads"]`), func(res json.RawMessage) {
		var h struct{ Number string }
		_ = json.Unmarshal(res, &h)
		got <- h.Number
	})
	if err != nil {
		t.Fatal(err)
	}
	defer unsubscribe()
	for _, b := range []uint64{8, 9} { // the stream's fetches of these fail
		node.setLatest(b)
		advanceUntil(t, fake, 2*time.Second, fmt.Sprintf("served tip %d", b), func() bool { return n.head.Tip().Latest.Number == b })
	}
	node.mu.Lock()
	node.byHash = true
	node.mu.Unlock()
	node.setLatest(10)
	var seen []string
	advanceUntil(t, fake, 2*time.Second, "newHeads 0x8, 0x9 and 0xa", func() bool {
		for {
			select {
			case num := <-got:
				seen = append(seen, num)
				continue
			default:
			}
			return len(seen) >= 3
		}
	})
	if strings.Join(seen, ",") != "0x8,0x9,0xa" {
		t.Fatalf("newHeads sent %v, want 0x8, 0x9, 0xa", seen)
	}
}
