package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/ethereum/go-ethereum/rpc"

	"github.com/braidrpc/braid/internal/config"
	"github.com/braidrpc/braid/internal/gateway"
	"github.com/braidrpc/braid/internal/jsonrpc"
)

// fakeFeed stands in for Network.Subscribe: tests deliver notifications
// through the subscriptions it hands out.
type fakeFeed struct {
	started chan *feedSub

	mu      sync.Mutex
	err     error            // when set, subscribe fails with it
	onStart func(s *feedSub) // runs inside subscribe, before it returns
}

// feedSub is one subscription of the fake feed. Like the real feed, it
// never calls deliver once stop has returned.
type feedSub struct {
	params  string
	stopped chan struct{}

	mu        sync.Mutex
	deliver   func(json.RawMessage)
	isStopped bool
	sent      int
}

func newFakeFeed() *fakeFeed { return &fakeFeed{started: make(chan *feedSub, 64)} }

func (f *fakeFeed) setError(err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.err = err
}

func (f *fakeFeed) setOnStart(fn func(*feedSub)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.onStart = fn
}

func (f *fakeFeed) subscribe(_ *gateway.Network, params json.RawMessage, deliver func(json.RawMessage)) (func(), error) {
	f.mu.Lock()
	err, onStart := f.err, f.onStart
	f.mu.Unlock()
	if err != nil {
		return nil, err
	}
	s := &feedSub{params: string(params), deliver: deliver, stopped: make(chan struct{})}
	if onStart != nil {
		onStart(s)
	}
	f.started <- s
	return s.stop, nil
}

// next returns the next subscription made.
func (f *fakeFeed) next(t testing.TB) *feedSub {
	t.Helper()
	select {
	case s := <-f.started:
		return s
	case <-time.After(wsWait):
		t.Fatal("no subscription reached the feed")
		return nil
	}
}

// send delivers result; false once the subscription is stopped.
func (s *feedSub) send(result string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.isStopped {
		return false
	}
	s.deliver(json.RawMessage(result))
	s.sent++
	return true
}

func (s *feedSub) stop() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.isStopped {
		s.isStopped = true
		close(s.stopped)
	}
}

func (s *feedSub) waitStopped(t testing.TB) {
	t.Helper()
	select {
	case <-s.stopped:
	case <-time.After(wsWait):
		t.Fatal("the subscription was never stopped")
	}
}

func (s *feedSub) isStoppedNow() bool {
	select {
	case <-s.stopped:
		return true
	default:
		return false
	}
}

var subscriptionID = regexp.MustCompile(`^"0x[0-9a-f]{32}"$`)

// subscribeRaw subscribes over c and returns the id (quoted) and the feed's
// subscription.
func subscribeRaw(t *testing.T, b *wsBraid, c *wsClient, id int) (string, *feedSub) {
	t.Helper()
	got := decodeAnswer(t, c.call(fmt.Sprintf(`{"jsonrpc":"2.0","id":%d,"method":"eth_subscribe","params":["newHeads"]}`, id)))
	if got.Error != nil || !subscriptionID.Match(got.Result) || string(got.ID) != fmt.Sprint(id) {
		t.Fatalf("eth_subscribe: id %s result %s error %+v", got.ID, got.Result, got.Error)
	}
	return string(got.Result), b.feed.next(t)
}

func notification(sub, result string) string {
	return `{"jsonrpc":"2.0","method":"eth_subscription","params":{"subscription":` + sub + `,"result":` + result + `}}`
}

// TestWebSocketSubscribe: notifications arrive in order with the
// subscription id; eth_unsubscribe stops them; unknown ids get geth's
// error.
func TestWebSocketSubscribe(t *testing.T) {
	b := startWS(t)
	c := dialWS(t, b.WS, nil)
	id, fs := subscribeRaw(t, b, c, 1)
	if fs.params != `["newHeads"]` {
		t.Errorf("the feed got params %s", fs.params)
	}
	if got := b.metric(t, "braid_ws_subscriptions"); got != "braid_ws_subscriptions 1" {
		t.Errorf("metric: %q", got)
	}
	for i := range 5 {
		fs.send(fmt.Sprintf(`{"number":"0x%x"}`, i))
	}
	for i := range 5 {
		if got, want := c.read(), notification(id, fmt.Sprintf(`{"number":"0x%x"}`, i)); got != want {
			t.Errorf("notification %d: %s, want %s", i, got, want)
		}
	}

	notFound := `{"code":-32000,"message":"subscription not found"}`
	for _, tc := range []struct{ msg, want string }{
		{`{"jsonrpc":"2.0","id":2,"method":"eth_unsubscribe","params":["0x00000000000000000000000000000000"]}`,
			`{"jsonrpc":"2.0","id":2,"error":` + notFound + `}`},
		{`{"jsonrpc":"2.0","id":3,"method":"eth_unsubscribe","params":[]}`,
			`{"jsonrpc":"2.0","id":3,"error":{"code":-32602,"message":"invalid params: eth_unsubscribe needs at least 1 params, got 0"}}`},
		{`{"jsonrpc":"2.0","id":4,"method":"eth_unsubscribe","params":[` + id + `]}`,
			`{"jsonrpc":"2.0","id":4,"result":true}`},
		{`{"jsonrpc":"2.0","id":5,"method":"eth_unsubscribe","params":[` + id + `]}`,
			`{"jsonrpc":"2.0","id":5,"error":` + notFound + `}`},
	} {
		if got := c.call(tc.msg); got != tc.want {
			t.Errorf("%s:\n  got  %s\n  want %s", tc.msg, got, tc.want)
		}
	}
	if !fs.isStoppedNow() {
		t.Error("eth_unsubscribe answered true but the feed was not stopped")
	}
	if fs.send(`{"number":"0x5"}`) {
		t.Error("the feed still delivers after eth_unsubscribe")
	}
	if got := b.metric(t, "braid_ws_subscriptions"); got != "braid_ws_subscriptions 0" {
		t.Errorf("metric: %q", got)
	}

	// Another connection cannot end this connection's subscriptions.
	id2, fs2 := subscribeRaw(t, b, c, 6)
	other := dialWS(t, b.WS, nil)
	if got := other.call(`{"jsonrpc":"2.0","id":7,"method":"eth_unsubscribe","params":[` + id2 + `]}`); got != `{"jsonrpc":"2.0","id":7,"error":`+notFound+`}` {
		t.Errorf("unsubscribe from another connection: %s", got)
	}
	if fs2.isStoppedNow() {
		t.Error("another connection stopped the subscription")
	}

	// Over HTTP the methods are still refused.
	status, body := doRequest(t, http.MethodPost, b.URL, `{"jsonrpc":"2.0","id":1,"method":"eth_subscribe","params":["newHeads"]}`)
	if a := decodeAnswer(t, body); status != http.StatusOK || a.Error == nil || a.Error.Code != jsonrpc.CodeMethodNotFound {
		t.Errorf("eth_subscribe over HTTP: %d %s", status, body)
	}
}

// TestWebSocketSubscribeGethClient: go-ethereum's client subscribes,
// receives and unsubscribes.
func TestWebSocketSubscribeGethClient(t *testing.T) {
	b := startWS(t)
	ctx, cancel := context.WithTimeout(context.Background(), wsWait)
	defer cancel()
	wc, err := rpc.DialContext(ctx, b.WS+"/goerli")
	if err != nil {
		t.Fatal(err)
	}
	defer wc.Close()
	ch := make(chan json.RawMessage, 16)
	sub, err := wc.EthSubscribe(ctx, ch, "logs", map[string]any{"address": testAddr})
	if err != nil {
		t.Fatal(err)
	}
	fs := b.feed.next(t)
	if want := `["logs",{"address":"` + testAddr + `"}]`; fs.params != want {
		t.Errorf("params %s, want %s", fs.params, want)
	}
	for i := range 10 {
		fs.send(fmt.Sprintf(`{"logIndex":"0x%x"}`, i))
	}
	for i := range 10 {
		select {
		case got := <-ch:
			if want := fmt.Sprintf(`{"logIndex":"0x%x"}`, i); string(got) != want {
				t.Errorf("notification %d: %s, want %s", i, got, want)
			}
		case err := <-sub.Err():
			t.Fatalf("subscription failed: %v", err)
		case <-time.After(wsWait):
			t.Fatalf("notification %d never arrived", i)
		}
	}
	sub.Unsubscribe()
	fs.waitStopped(t)
}

// TestWebSocketSubscribeInBatch: eth_subscribe works inside a batch, and
// notifications the feed delivers before eth_subscribe has even returned
// still follow the answer that names their id.
func TestWebSocketSubscribeInBatch(t *testing.T) {
	b := startWS(t)
	b.feed.setOnStart(func(s *feedSub) {
		s.send(`"early-1"`)
		s.send(`"early-2"`)
	})
	c := dialWS(t, b.WS, nil)
	var answers []rpcAnswer
	out := c.call(`[{"jsonrpc":"2.0","id":1,"method":"eth_subscribe","params":["newPendingTransactions"]},{"jsonrpc":"2.0","id":2,"method":"eth_chainId"}]`)
	if err := json.Unmarshal([]byte(out), &answers); err != nil || len(answers) != 2 {
		t.Fatalf("batch answer %s: %v", out, err)
	}
	if !subscriptionID.Match(answers[0].Result) || string(answers[1].Result) != `"0x1"` {
		t.Fatalf("batch answer %s", out)
	}
	id := string(answers[0].Result)
	fs := b.feed.next(t)
	fs.send(`"late"`)
	for _, r := range []string{`"early-1"`, `"early-2"`, `"late"`} {
		if got, want := c.read(), notification(id, r); got != want {
			t.Errorf("got %s, want %s", got, want)
		}
	}
}

// TestWebSocketSubscriptionLimits: the per-connection cap, and a feed's
// refusal passed on as a JSON-RPC error.
func TestWebSocketSubscriptionLimits(t *testing.T) {
	b := startWS(t, func(w *config.WebSocket) { w.MaxSubscriptions = 2 })
	c := dialWS(t, b.WS, nil)
	id1, fs1 := subscribeRaw(t, b, c, 1)
	subscribeRaw(t, b, c, 2)
	const third = `{"jsonrpc":"2.0","id":3,"method":"eth_subscribe","params":["newHeads"]}`
	if got, want := c.call(third), `{"jsonrpc":"2.0","id":3,"error":{"code":-32005,"message":"too many subscriptions on this connection (websocket.max_subscriptions 2); unsubscribe unused ones"}}`; got != want {
		t.Errorf("third subscription:\n  got  %s\n  want %s", got, want)
	}
	// Other connections have their own allowance.
	subscribeRaw(t, b, dialWS(t, b.WS, nil), 1)
	// Ending one makes room.
	if got := c.call(`{"jsonrpc":"2.0","id":4,"method":"eth_unsubscribe","params":[` + id1 + `]}`); got != `{"jsonrpc":"2.0","id":4,"result":true}` {
		t.Fatalf("unsubscribe: %s", got)
	}
	fs1.waitStopped(t)
	subscribeRaw(t, b, c, 5)

	// A refused subscription is passed on and takes no place.
	c2 := dialWS(t, b.WS, nil)
	b.feed.setError(jsonrpc.Errorf(jsonrpc.CodeInvalidParams, "unsupported subscription type %q", "bogus"))
	for id := range 3 {
		msg := fmt.Sprintf(`{"jsonrpc":"2.0","id":%d,"method":"eth_subscribe","params":["bogus"]}`, id)
		want := fmt.Sprintf(`{"jsonrpc":"2.0","id":%d,"error":{"code":-32602,"message":"unsupported subscription type \"bogus\""}}`, id)
		if got := c2.call(msg); got != want {
			t.Errorf("refused subscription:\n  got  %s\n  want %s", got, want)
		}
	}
	b.feed.setError(nil)
	subscribeRaw(t, b, c2, 3)
	subscribeRaw(t, b, c2, 4)
}

// TestWebSocketSlowConsumer: a client that does not read while its feed
// delivers is disconnected with 1008 and the reason; the feed is stopped,
// so the server holds no more than the send queue for it.
func TestWebSocketSlowConsumer(t *testing.T) {
	const sendBuffer = 8
	b := startWS(t, func(w *config.WebSocket) { w.SendBuffer = sendBuffer; w.WriteTimeout = wsWait })
	c := dialWS(t, b.WS, nil)
	id, fs := subscribeRaw(t, b, c, 1)

	// A client that keeps up gets many more notifications than the queue
	// holds.
	for i := range 10 * sendBuffer {
		r := fmt.Sprintf(`"0x%x"`, i)
		fs.send(r)
		if got, want := c.read(), notification(id, r); got != want {
			t.Fatalf("got %s, want %s", got, want)
		}
	}

	// Now the feed keeps delivering until it is stopped, and the client
	// reads nothing. Large results fill the socket buffers, then the
	// queue. (The pause between deliveries only shapes the load, so that
	// the writer fills the sockets first; the outcome does not depend on
	// it.)
	result := `"` + strings.Repeat("ab", 16<<10) + `"`
	pumped := make(chan int, 1)
	go func() {
		n := 0
		for fs.send(result) {
			n++
			time.Sleep(50 * time.Microsecond)
		}
		pumped <- n
	}()
	fs.waitStopped(t)
	delivered := <-pumped

	read, err := c.readUntilClosed()
	wantClose(t, err, websocket.StatusPolicyViolation, fmt.Sprintf("slow consumer: %d messages unread", sendBuffer))
	if read >= delivered {
		t.Errorf("the client read %d of %d notifications: it was never slow", read, delivered)
	}
	t.Logf("delivered %d notifications of %d bytes, the client read %d before the close", delivered, len(result), read)
	if r := b.waitClose(t); r != "slow_consumer" {
		t.Errorf("reason %q", r)
	}
	if got := b.metric(t, `braid_ws_disconnects_total{reason="slow_consumer"}`); !strings.HasSuffix(got, " 1") {
		t.Errorf("metric: %q", got)
	}
	wantNoWSGoroutines(t)
}
