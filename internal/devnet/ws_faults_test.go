package devnet

import (
	"bytes"
	"context"
	"encoding/json"
	"runtime"
	"strconv"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/rpc"

	"github.com/braidrpc/braid/internal/await"
)

func TestWSLagNewHeads(t *testing.T) {
	d := newTestDevnet(t, 0)
	p := d.Providers()[0]
	const lag = 4
	start := headNumber(t, d)
	if start >= lag {
		t.Fatalf("the test needs a head below %d, got %d", lag, start)
	}
	p.SetFaults(Faults{LagBlocks: lag})
	c := dialWS(t, p)
	heads := make(chan head)
	sub, err := c.EthSubscribe(t.Context(), heads, "newHeads")
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Unsubscribe()

	// Heads below the lag are skipped; from then on block h is announced
	// as block h−lag, so the first notification is the genesis block.
	want := uint64(0)
	for n := start + 1; n <= lag+3; n++ {
		if _, err := d.Step(t.Context()); err != nil {
			t.Fatal(err)
		}
		if n < lag {
			continue
		}
		got := next(t, heads, sub.Err())
		wantHash, _ := blockAt(t, d, want)
		if uint64(got.Number) != want || got.Hash != wantHash {
			t.Fatalf("at head %d newHeads gave block %d %s, want %d %s", n, got.Number, got.Hash, want, wantHash)
		}
		// The pushed head agrees with the polled one.
		var polled hexutil.Uint64
		if err := c.CallContext(t.Context(), &polled, "eth_blockNumber"); err != nil || uint64(polled) != want {
			t.Errorf("eth_blockNumber over ws = %d (%v), want %d", polled, err, want)
		}
		want++
	}
}

func TestWSLatencyKeepsOrder(t *testing.T) {
	d := newTestDevnet(t, 0)
	p := d.Providers()[0]
	p.SetFaults(Faults{LatencyMS: 20})
	r := dialRaw(t, p)
	for i := range 5 {
		r.write(`{"jsonrpc":"2.0","id":` + strconv.Itoa(i) + `,"method":"eth_blockNumber"}`)
	}
	for i := range 5 {
		if m := r.readMessage(); string(m.ID) != strconv.Itoa(i) || m.Error != nil {
			t.Fatalf("answer %d: %+v", i, m)
		}
	}
	sub := r.answer(`{"jsonrpc":"2.0","id":9,"method":"eth_subscribe","params":["newHeads"]}`)
	var blocks []string
	for range 3 {
		h, err := d.Step(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		blocks = append(blocks, h.Hex())
	}
	for _, want := range blocks {
		m := r.readMessage()
		var h head
		if err := json.Unmarshal(m.Params.Result, &h); err != nil || `"`+m.Params.Subscription+`"` != string(sub.Result) || h.Hash.Hex() != want {
			t.Fatalf("got %+v, want block %s", m, want)
		}
	}
}

func TestWSLieAndErrorRate(t *testing.T) {
	d := newTestDevnet(t, 1)
	p := d.Providers()[0]
	user := d.UserAccount().Address
	c := dialWS(t, p)

	p.SetFaults(Faults{Lie: true})
	var got json.RawMessage
	if err := c.CallContext(t.Context(), &got, "eth_getBalance", user, "latest"); err != nil {
		t.Fatal(err)
	}
	if want := mustHonest(t, d, "eth_getBalance", user, "latest"); string(got) == string(want) {
		t.Errorf("a lying provider told the truth over ws: %s", got)
	}
	heads := make(chan head)
	sub, err := c.EthSubscribe(t.Context(), heads, "newHeads")
	if err != nil {
		t.Fatal(err)
	}
	block, err := d.Step(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if h := next(t, heads, sub.Err()); h.Hash != block {
		t.Errorf("a lying provider's notification gave %s, want the honest %s", h.Hash, block)
	}
	sub.Unsubscribe()

	p.SetFaults(Faults{ErrorRate: 1})
	for _, method := range []string{"eth_blockNumber", "eth_subscribe"} {
		var res json.RawMessage
		err := c.CallContext(t.Context(), &res, method, "newHeads")
		if e := toRPCError(err); err == nil || e.Code != errInjected.Code {
			t.Errorf("%s with error_rate 1 = %s, %v; want code %d", method, res, err, errInjected.Code)
		}
	}
}

func TestCloseWithOpenWebSockets(t *testing.T) {
	d, err := New(t.Context(), Options{Providers: 2})
	if err != nil {
		t.Fatal(err)
	}
	var subs []*rpc.ClientSubscription
	for _, p := range d.Providers() {
		c := dialWS(t, p)
		for _, kind := range []string{"newHeads", "logs", "newPendingTransactions"} {
			sub, err := c.EthSubscribe(t.Context(), make(chan json.RawMessage), kind)
			if err != nil {
				t.Fatal(err)
			}
			subs = append(subs, sub)
		}
	}
	// An answer held back by latency must not hold Close up.
	p := d.Providers()[0]
	p.SetFaults(Faults{LatencyMS: 60_000})
	r := dialRaw(t, p)
	r.write(`{"jsonrpc":"2.0","id":1,"method":"eth_blockNumber"}`)
	if _, err := d.Step(t.Context()); err != nil { // notifications in flight
		t.Fatal(err)
	}

	closed := make(chan error, 1)
	go func() { closed <- d.Close() }()
	select {
	case err := <-closed:
		if err != nil {
			t.Errorf("Close: %v", err)
		}
	case <-time.After(2 * shutdownGrace):
		t.Fatal("Close did not return")
	}
	for _, sub := range subs {
		select {
		case <-sub.Err():
		case <-time.After(waitFor):
			t.Fatal("a client subscription outlived Close")
		}
	}
	ctx, cancel := context.WithTimeout(t.Context(), waitFor)
	defer cancel()
	if _, _, err := r.conn.Read(ctx); err == nil {
		t.Error("a raw connection still answers after Close")
	}
	waitNoDevnetGoroutines(t)
}

func TestProviderInfoAndUpstreamsWebSocket(t *testing.T) {
	d := newTestDevnet(t, 0)
	for i, u := range d.Upstreams() {
		if u.WSURL != "" {
			t.Errorf("upstream %d has ws_url %q without Options.WebSocket", i, u.WSURL)
		}
	}
	for _, info := range d.Info().Providers {
		p := d.Provider(info.Name)
		if info.WSURL != p.WSURL || p.WSURL != "ws://"+p.URL[len("http://"):] {
			t.Errorf("%s: info ws_url %q, WSURL %q, URL %q", p.Name, info.WSURL, p.WSURL, p.URL)
		}
	}

	d2, err := New(t.Context(), Options{Providers: 2, WebSocket: true})
	if err != nil {
		t.Fatal(err)
	}
	defer d2.Close()
	for i, u := range d2.Upstreams() {
		if p := d2.Providers()[i]; u.WSURL != p.WSURL || u.URL != p.URL {
			t.Errorf("upstream %d = %+v, want ws_url %s", i, u, p.WSURL)
		}
	}
}

// chainSubscriptions counts the chain's subscription goroutines (geth's
// filter API runs one per subscription).
func chainSubscriptions() int {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			buf = buf[:n]
			break
		}
		buf = make([]byte, 2*len(buf))
	}
	count := 0
	for _, g := range bytes.Split(buf, []byte("\n\n")) {
		if bytes.Contains(g, []byte("filters.(*FilterAPI)")) {
			count++
		}
	}
	return count
}

// waitChainSubscriptions waits (bounded) until the chain runs want
// subscriptions.
func waitChainSubscriptions(t *testing.T, want int) {
	t.Helper()
	if !await.Poll(waitFor, func() bool { return chainSubscriptions() == want }) {
		t.Fatalf("the chain runs %d subscriptions, want %d", chainSubscriptions(), want)
	}
}

func TestWSReleasesChainSubscriptions(t *testing.T) {
	d := newTestDevnet(t, 0)
	p := d.Providers()[0]
	base := chainSubscriptions()

	r := dialRaw(t, p)
	var ids []string
	for i, kind := range []string{`"newHeads"`, `"logs"`, `"logs",{"address":"` + d.Token().Hex() + `"}`, `"newPendingTransactions"`} {
		a := r.answer(`{"jsonrpc":"2.0","id":` + strconv.Itoa(i) + `,"method":"eth_subscribe","params":[` + kind + `]}`)
		if a.Error != nil {
			t.Fatalf("eth_subscribe %s: %v", kind, a.Error)
		}
		ids = append(ids, string(a.Result))
	}
	waitChainSubscriptions(t, base+len(ids))
	if a := r.answer(`{"jsonrpc":"2.0","id":9,"method":"eth_unsubscribe","params":[` + ids[0] + `]}`); string(a.Result) != "true" {
		t.Fatalf("eth_unsubscribe = %+v", a)
	}
	waitChainSubscriptions(t, base+len(ids)-1)
	r.conn.Close(websocket.StatusNormalClosure, "")
	waitChainSubscriptions(t, base)
}
