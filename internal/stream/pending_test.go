package stream

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"

	"github.com/braidrpc/braid/internal/await"
)

// fakePool is an upstream's pool: polled through a pending-transaction
// filter, or (ws) followed through a subscription.
type fakePool struct {
	name string
	ws   bool

	mu         sync.Mutex
	usable     bool
	hashes     []common.Hash // handed out at the next poll or to the subscription
	calls      []string
	subscribed int  // subscriptions running
	everUsed   bool // any call or subscription

	wake chan struct{} // poked when hashes arrive
}

func newFakePool(name string, ws bool) *fakePool {
	return &fakePool{name: name, ws: ws, usable: true, wake: make(chan struct{}, 1)}
}

func (p *fakePool) Name() string       { return p.name }
func (p *fakePool) Operator() string   { return "op-" + p.name }
func (p *fakePool) CanSubscribe() bool { return p.ws }

func (p *fakePool) Usable() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.usable
}

func (p *fakePool) setUsable(u bool) {
	p.mu.Lock()
	p.usable = u
	p.mu.Unlock()
}

func (p *fakePool) add(hs ...common.Hash) {
	p.mu.Lock()
	p.hashes = append(p.hashes, hs...)
	p.mu.Unlock()
	select {
	case p.wake <- struct{}{}:
	default:
	}
}

func (p *fakePool) take() []common.Hash {
	p.mu.Lock()
	defer p.mu.Unlock()
	hs := p.hashes
	p.hashes = nil
	return hs
}

func (p *fakePool) state() (calls []string, subscribed int, used bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.calls), p.subscribed, p.everUsed
}

func (p *fakePool) SubscribePending(ctx context.Context, fn func(json.RawMessage) error) (bool, error) {
	p.mu.Lock()
	p.subscribed++
	p.everUsed = true
	p.mu.Unlock()
	defer func() {
		p.mu.Lock()
		p.subscribed--
		p.mu.Unlock()
	}()
	for ctx.Err() == nil {
		for _, h := range p.take() {
			b, _ := json.Marshal(h)
			if err := fn(b); err != nil {
				return true, err
			}
		}
		select {
		case <-ctx.Done():
		case <-p.wake:
		}
	}
	return true, nil
}

func (p *fakePool) Call(ctx context.Context, method string, params json.RawMessage) (json.RawMessage, error) {
	p.mu.Lock()
	p.calls = append(p.calls, method)
	p.everUsed = true
	p.mu.Unlock()
	switch method {
	case "eth_newPendingTransactionFilter":
		return json.RawMessage(`"0x1"`), nil
	case "eth_getFilterChanges":
		b, _ := json.Marshal(p.take())
		if string(b) == "null" {
			b = []byte("[]")
		}
		return b, nil
	case "eth_uninstallFilter":
		return json.RawMessage("true"), nil
	}
	return nil, errors.New("unexpected " + method)
}

// listener collects what a pending subscription is sent.
type listener struct {
	mu   sync.Mutex
	seen []string
}

func (l *listener) deliver(r json.RawMessage) {
	l.mu.Lock()
	l.seen = append(l.seen, string(r))
	l.mu.Unlock()
}

func (l *listener) got() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.seen)
}

// TestPendingFeedSendsEachHashOnce: hashes from a polled pool and a
// subscribed one reach every listener, each hash once however many pools
// report it.
func TestPendingFeedSendsEachHashOnce(t *testing.T) {
	polled, subscribed := newFakePool("polled", false), newFakePool("ws", true)
	h := newHarness(t, polled, subscribed)
	var a, b listener
	stopA, err := h.Subscribe(json.RawMessage(`["newPendingTransactions"]`), a.deliver)
	if err != nil {
		t.Fatal(err)
	}
	defer stopA()
	stopB, err := h.Subscribe(json.RawMessage(`["newPendingTransactions",false]`), b.deliver)
	if err != nil {
		t.Fatal(err)
	}
	defer stopB()
	x, y := hashOf("x"), hashOf("y")
	polled.add(x, y)
	subscribed.add(x)
	want := []string{`"` + x.Hex() + `"`, `"` + y.Hex() + `"`}
	await.Advancing(t, h.clock, time.Second, "both hashes at both listeners, and the ws pool's x", func() bool {
		_, subs, _ := subscribed.state()
		return len(a.got()) >= 2 && len(b.got()) >= 2 && subs == 1 && len(subscribed.held()) == 0
	})
	for _, l := range []*listener{&a, &b} {
		got := l.got()
		slices.Sort(got)
		if strings.Join(got, ",") != strings.Join(want, ",") {
			t.Errorf("a listener got %v, want x and y once each", got)
		}
	}
}

// held is what the pool still holds.
func (p *fakePool) held() []common.Hash {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.hashes)
}

// TestPendingFeedRunsOnlyWhileListened: no pool is asked before the first
// listener; with the last one gone the sources stop, a polled pool's
// filter uninstalled; an unusable pool is not asked.
func TestPendingFeedRunsOnlyWhileListened(t *testing.T) {
	polled, subscribed, down := newFakePool("polled", false), newFakePool("ws", true), newFakePool("down", false)
	down.setUsable(false)
	h := newHarness(t, polled, subscribed, down)
	if _, _, used := polled.state(); used {
		t.Fatal("a pool was asked before anyone listened")
	}
	var l listener
	stop, err := h.Subscribe(json.RawMessage(`["newPendingTransactions"]`), l.deliver)
	if err != nil {
		t.Fatal(err)
	}
	polled.add(hashOf("x"))
	await.Advancing(t, h.clock, time.Second, "the polled hash", func() bool { return len(l.got()) == 1 })
	await.Until(t, "the ws subscription", func() bool { _, subs, _ := subscribed.state(); return subs == 1 })
	stop()
	await.Advancing(t, h.clock, time.Second, "the sources to stop", func() bool {
		calls, subs, _ := polled.state()
		return subs == 0 && len(calls) > 0 && calls[len(calls)-1] == "eth_uninstallFilter" && func() bool {
			_, s, _ := subscribed.state()
			return s == 0
		}()
	})
	if got := h.Counts().PendingListeners; got != 0 {
		t.Fatalf("%d listeners after unsubscribing", got)
	}
	if _, _, used := down.state(); used {
		t.Fatal("an unusable pool was asked")
	}
	polled.add(hashOf("late"))
	h.clock.Advance(10 * time.Second)
	if got := l.got(); len(got) != 1 {
		t.Fatalf("sent after unsubscribing: %v", got)
	}
}
