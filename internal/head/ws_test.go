package head

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/braidrpc/braid/internal/await"
	"github.com/braidrpc/braid/internal/block"
	"github.com/braidrpc/braid/internal/clock"
	"github.com/braidrpc/braid/internal/config"
	"github.com/braidrpc/braid/internal/upstream"
)

// wsNode is a WebSocket provider serving newHeads subscriptions.
type wsNode struct {
	t        *testing.T
	mu       sync.Mutex
	attempts int
	refuse   bool
	subs     chan *wsSub
}

// wsSub is one subscribed connection, driven by the test.
type wsSub struct {
	id    string
	send  chan string
	close chan struct{}
}

func (s *wsSub) notify(sub string, b block.Block) {
	s.send <- fmt.Sprintf(`{"jsonrpc":"2.0","method":"eth_subscription","params":{"subscription":%q,"result":%s}}`, sub, blockJSONText(b))
}

func (n *wsNode) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	n.mu.Lock()
	n.attempts++
	k, refuse := n.attempts, n.refuse
	n.mu.Unlock()
	if refuse {
		http.Error(w, "forbidden", http.StatusForbidden)
		return
	}
	c, err := websocket.Accept(w, r, nil)
	if err != nil {
		return
	}
	defer c.CloseNow()
	ctx := r.Context()
	_, data, err := c.Read(ctx)
	if err != nil {
		return
	}
	var req struct {
		ID     json.RawMessage `json:"id"`
		Method string          `json:"method"`
		Params []string        `json:"params"`
	}
	if err := json.Unmarshal(data, &req); err != nil || req.Method != "eth_subscribe" || len(req.Params) != 1 || req.Params[0] != "newHeads" {
		n.t.Errorf("subscription request %s", data)
		return
	}
	sub := &wsSub{id: fmt.Sprintf("0xsub%d", k), send: make(chan string, 8), close: make(chan struct{})}
	// Other chatter before the answer must be skipped.
	_ = c.Write(ctx, websocket.MessageText, []byte(`{"jsonrpc":"2.0","method":"eth_subscription","params":{"subscription":"0xstale","result":{}}}`))
	if err := c.Write(ctx, websocket.MessageText, []byte(fmt.Sprintf(`{"jsonrpc":"2.0","id":%s,"result":%q}`, req.ID, sub.id))); err != nil {
		return
	}
	ctx = c.CloseRead(ctx) // done when the client goes away
	n.subs <- sub
	for {
		select {
		case m := <-sub.send:
			if err := c.Write(ctx, websocket.MessageText, []byte(m)); err != nil {
				return
			}
		case <-sub.close:
			c.Close(websocket.StatusGoingAway, "bye")
			return
		case <-ctx.Done():
			return
		}
	}
}

func (n *wsNode) attemptCount() int {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.attempts
}

func (n *wsNode) nextSub(t *testing.T) *wsSub {
	t.Helper()
	select {
	case s := <-n.subs:
		return s
	case <-time.After(5 * time.Second):
		t.Fatal("no subscription")
		return nil
	}
}

func TestWebSocketFollower(t *testing.T) {
	node := &wsNode{t: t, subs: make(chan *wsSub, 4)}
	srv := httptest.NewServer(node)
	t.Cleanup(srv.Close)
	fake := clock.NewFake(time.Unix(1000, 0))
	var logs logBuffer
	// Unverified: the poller never polls it (and waits an hour between
	// looks), so the clock's waiters are the poller's and the follower's.
	u := upstream.New(config.Upstream{
		Name: "w0", Operator: "op", URL: "http://127.0.0.1:1",
		WSURL: "ws" + strings.TrimPrefix(srv.URL, "http") + "/ws?apikey=SECRETKEY",
	}, upstream.Options{Network: "test"})
	t.Cleanup(u.Close)
	tr := New("test", []*upstream.Upstream{u}, Options{Clock: fake, PollInterval: time.Hour, Logger: logs.logger()})
	t.Cleanup(tr.Close)
	tr.Start(context.Background())

	waitLatest := func(want block.Block) {
		t.Helper()
		await.Until(t, fmt.Sprintf("latest %d", want.Number), func() bool {
			h, _ := tr.Heads(u)
			return h.Latest == want
		})
	}

	sub := node.nextSub(t)
	tr.Observe(u, withTags(blk(100, 0), blk(90, 0), blk(80, 0)))
	sub.notify("0xother", blk(150, 0)) // another subscription: ignored
	sub.notify(sub.id, blk(101, 0))
	waitLatest(blk(101, 0))
	if h, _ := tr.Heads(u); h.Safe != blk(90, 0) || h.Finalized != blk(80, 0) {
		t.Fatalf("a header replaced safe/finalized: %+v", h)
	}

	// The server closes: reconnect after 500ms and subscribe again.
	close(sub.close)
	await.Until(t, "the reconnect backoff", func() bool { return fake.Waiters() == 2 })
	fake.Advance(499 * time.Millisecond)
	if n := node.attemptCount(); n != 1 {
		t.Fatalf("reconnected before the backoff: %d attempts", n)
	}
	fake.Advance(time.Millisecond)
	sub2 := node.nextSub(t)
	if sub2.id == sub.id {
		t.Fatal("same subscription id")
	}
	sub2.notify(sub.id, blk(150, 0)) // the old subscription: ignored
	sub2.notify(sub2.id, blk(102, 0))
	waitLatest(blk(102, 0))

	// Failing reconnects back off exponentially: 500ms, then 1s, 2s.
	node.mu.Lock()
	node.refuse = true
	node.mu.Unlock()
	close(sub2.close)
	for i, backoff := range []time.Duration{500 * time.Millisecond, 500 * time.Millisecond, time.Second, 2 * time.Second} {
		attempts := 2 + i
		await.Until(t, "a backoff wait", func() bool { return node.attemptCount() == attempts && fake.Waiters() == 2 })
		fake.Advance(backoff - time.Millisecond)
		if n := node.attemptCount(); n != attempts {
			t.Fatalf("attempt %d before its %v backoff", n, backoff)
		}
		if i == 3 {
			node.mu.Lock()
			node.refuse = false
			node.mu.Unlock()
		}
		fake.Advance(time.Millisecond)
	}
	sub3 := node.nextSub(t)
	sub3.notify(sub3.id, blk(103, 0))
	waitLatest(blk(103, 0))

	tr.Close()
	out := logs.String()
	if strings.Contains(out, "SECRETKEY") || strings.Contains(out, "apikey") {
		t.Errorf("logs show the WebSocket URL:\n%s", out)
	}
	if n := logs.count("level=WARN", "newHeads subscription failed", "upstream=w0", "operator=op"); n != 2 {
		t.Errorf("%d warnings, want 2 (one per lost subscription):\n%s", n, out)
	}
}
