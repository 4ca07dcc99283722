package stream

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"

	"github.com/braidrpc/braid/internal/jsonrpc"
)

func TestSubscribeRefusesWhatItCannotServe(t *testing.T) {
	h := newHarness(t)
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
		_, err := h.Subscribe(json.RawMessage(tc.params), func(json.RawMessage) {})
		je, ok := err.(*jsonrpc.Error)
		if !ok || je.Code != jsonrpc.CodeInvalidParams || !strings.Contains(je.Message, tc.want) {
			t.Errorf("%s: %v, want -32602 mentioning %q", tc.params, err, tc.want)
		}
	}
	for _, ok := range []string{`["newHeads"]`, `["newHeads",null]`, `["logs"]`, `["logs",{}]`,
		`["logs",{"address":["0x0000000000000000000000000000000000000001"],"topics":[null,["0x` + strings.Repeat("11", 32) + `"]]}]`,
		`["newPendingTransactions"]`, `["newPendingTransactions",false]`} {
		cancel, err := h.Subscribe(json.RawMessage(ok), func(json.RawMessage) {})
		if err != nil {
			t.Errorf("%s: %v", ok, err)
			continue
		}
		cancel()
	}
	if got := h.follower.Subscribers(); got != 0 {
		t.Errorf("%d stream consumers left after unsubscribing", got)
	}
	if got := h.pending.listeners(); got != 0 {
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
		f, err := parseLogFilter(json.RawMessage(tc.filter))
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
	mk := func(n uint64, addr byte) Log {
		l := &types.Log{Address: common.Address{addr}, BlockNumber: n, Topics: []common.Hash{}}
		b, _ := json.Marshal(l)
		c := *l
		c.Removed = true
		rb, _ := json.Marshal(&c)
		return Log{Log: l, JSON: b, RemovedJSON: rb}
	}
	ev := Event{
		Removed: []*Block{{Logs: []Log{mk(4, 1), mk(4, 2)}}, {Logs: []Log{mk(5, 1)}}},
		Added:   []*Block{{Logs: []Log{mk(4, 1)}}, {Logs: []Log{mk(5, 2), mk(5, 1)}}},
	}
	f, err := parseLogFilter(json.RawMessage(`{"address":"0x0100000000000000000000000000000000000000"}`))
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

// TestSubscribeSendsHeadsAndLogs: newHeads subscribers get each new
// block's header object (the block without its body members), logs
// subscribers the logs their filter selects; both stop at unsubscribe.
func TestSubscribeSendsHeadsAndLogs(t *testing.T) {
	h := newHarness(t)
	a2 := h.chain.extend("a", 1, 2, common.Hash{})
	h.advance(t, a2)
	var heads, logs []string
	stopHeads, err := h.Subscribe(json.RawMessage(`["newHeads"]`), func(r json.RawMessage) { heads = append(heads, string(r)) })
	if err != nil {
		t.Fatal(err)
	}
	stopLogs, err := h.Subscribe(json.RawMessage(`["logs",{"address":"0x0100000000000000000000000000000000000000"}]`),
		func(r json.RawMessage) { logs = append(logs, string(r)) })
	if err != nil {
		t.Fatal(err)
	}
	h.advance(t, h.chain.extend("a", 3, 4, a2.Hash))
	if len(heads) != 2 || !strings.Contains(heads[0], `"name":"a3"`) || !strings.Contains(heads[1], `"name":"a4"`) {
		t.Fatalf("newHeads sent %v, want a3 and a4", heads)
	}
	for _, body := range []string{"transactions", "uncles", "size"} {
		if strings.Contains(heads[0], body) {
			t.Errorf("newHeads header carries %q: %s", body, heads[0])
		}
	}
	if len(logs) != 2 || !strings.Contains(logs[0], `"removed":false`) {
		t.Fatalf("logs sent %v, want the two blocks' logs", logs)
	}
	stopHeads()
	stopLogs()
	h.advance(t, h.chain.extend("a", 5, 5, hashOf("a4")))
	if len(heads) != 2 || len(logs) != 2 {
		t.Fatalf("sent after unsubscribing: %d heads, %d logs", len(heads), len(logs))
	}
}
