package ledger

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/braidrpc/braid/internal/await"
	"github.com/braidrpc/braid/internal/peers"
)

// give makes p's balance credit (a new delivery of 8+ copies: ×1).
func (e *env) give(p peer.ID, credit int) {
	n := uint64(testHead - 3)
	e.l.Rank(key(peers.Receipts, n), e.age(n), ids10())
	e.l.Delivered(e.delivered(p, n, credit))
}

// take makes p's balance −debt (new content served, unknown copies: ×2).
func (e *env) take(p peer.ID, debt int) { e.l.Served(e.served(p, testHead-1, debt/2)) }

func inbound(p peer.ID) peers.Inbound { return peers.Inbound{Peer: p} }

// request asks for a slot and fails the test on a refusal.
func request(t *testing.T, l *Ledger, p peer.ID) *Ticket {
	t.Helper()
	tk, err := l.Request(inbound(p))
	if err != nil {
		t.Fatalf("request of %s refused: %v", p, err)
	}
	return tk
}

func isAdmitted(tk *Ticket) bool {
	select {
	case <-tk.Ready():
		return tk.Err() == nil
	default:
		return false
	}
}

// TestOrderByBalance: with capacity short, freed slots go to the waiting
// requests by balance — the peer that gave most first, a free rider
// behind every contributor, equals in arrival order — whatever the order
// they arrived in.
func TestOrderByBalance(t *testing.T) {
	e := newEnv(t, Config{Capacity: 1, NewcomerEvery: -1, ForgiveRate: 1e-9})
	l := e.l
	rider, small, big, twin := id(1), id(2), id(3), id(4)
	e.take(rider, 1000)
	e.give(small, 10)
	e.give(big, 5000)
	e.give(twin, 10)
	hold := request(t, l, id(9))
	if !isAdmitted(hold) {
		t.Fatal("an idle ledger did not serve at once")
	}
	var tickets []*Ticket
	for _, p := range []peer.ID{rider, small, big, twin} {
		tk := request(t, l, p)
		if isAdmitted(tk) {
			t.Fatalf("%s served past capacity", p)
		}
		tickets = append(tickets, tk)
	}
	if s, w := l.Queue(); s != 1 || w != 4 {
		t.Fatalf("queue %d serving, %d waiting", s, w)
	}
	hold.Done()
	hold.Done()                           // twice is harmless
	for _, i := range []int{2, 1, 3, 0} { // big, small, twin (later), rider
		tk := tickets[i]
		if !isAdmitted(tk) {
			t.Fatalf("ticket %d not admitted next", i)
		}
		for _, other := range tickets {
			if other != tk && isAdmitted(other) && other.Admitted() {
				t.Fatalf("two admitted at once with capacity 1")
			}
		}
		tk.Done()
	}
	if s, w := l.Queue(); s != 0 || w != 0 {
		t.Fatalf("queue %d serving, %d waiting", s, w)
	}
}

// TestNewcomerSlot: every NewcomerEvery-th slot goes to the
// longest-waiting newcomer even with contributors waiting (optimistic
// unchoking); a peer that has taken its newcomer credit is no newcomer.
func TestNewcomerSlot(t *testing.T) {
	e := newEnv(t, Config{Capacity: 1, NewcomerEvery: 2, NewcomerCredit: 100, ForgiveRate: 1e-9})
	l := e.l
	c1, c2, c3, fresh, spent := id(1), id(2), id(3), id(4), id(5)
	for _, c := range []peer.ID{c1, c2, c3} {
		e.give(c, 1000)
	}
	e.take(spent, 200) // took more than its newcomer credit
	hold := request(t, l, id(9))
	ts := map[peer.ID]*Ticket{}
	for _, p := range []peer.ID{spent, fresh, c1, c2, c3} {
		ts[p] = request(t, l, p)
	}
	order := []peer.ID{}
	hold.Done()
	for range 5 {
		for p, tk := range ts {
			if isAdmitted(tk) {
				order = append(order, p)
				delete(ts, p)
				tk.Done()
				break
			}
		}
	}
	// Slots 1..5: 1 best (c1), 2 newcomer (fresh), 3 best (c2), 4
	// newcomer: none left but spent, which is not one: best (c3), 5 spent.
	want := []peer.ID{c1, fresh, c2, c3, spent}
	if len(order) != 5 {
		t.Fatalf("order %v", order)
	}
	for i := range want {
		if order[i] != want[i] {
			t.Fatalf("order %v, want %v", order, want)
		}
	}
}

// TestDebtorServedFromSpareCapacity: a peer past the debt limit is served
// while nobody waits, and refused at once with CodeLowStanding — with its
// balance, the limit and how to recover — when others do; forgiveness
// brings it back.
func TestDebtorServedFromSpareCapacity(t *testing.T) {
	e := newEnv(t, Config{Capacity: 1, DebtLimit: 1000, ForgiveRate: 10})
	l := e.l
	debtor, other := id(1), id(2)
	e.take(debtor, 3000)
	tk := request(t, l, debtor)
	if !isAdmitted(tk) {
		t.Fatal("a debtor was not served from spare capacity")
	}
	waiter := request(t, l, other) // waits behind the debtor's serve
	_, err := l.Request(inbound(debtor))
	var r *peers.Refusal
	if !errors.As(err, &r) || r.Code != peers.CodeLowStanding {
		t.Fatalf("debtor with others waiting: %v", err)
	}
	for _, want := range []string{"-3000", "-1000", "spare capacity", "Serve this peer content", "3m20s", "forgiveness"} {
		if !strings.Contains(r.Reason, want) {
			t.Errorf("reason %q does not say %q", r.Reason, want)
		}
	}
	if len(r.Reason) > peers.MaxReason {
		t.Errorf("reason of %d bytes", len(r.Reason))
	}
	tk.Done()
	if !isAdmitted(waiter) {
		t.Fatal("the waiting peer was not served next")
	}
	waiter.Done()
	e.clk.Advance(200 * time.Second) // debt 3000 → 1000: no longer past the limit
	request(t, l, other)
	if tk := request(t, l, debtor); isAdmitted(tk) {
		t.Fatal("served past capacity")
	}
}

// TestQueueBounded: with MaxWaiting requests waiting, a better-standing
// request pushes the worst out (told busy) and a worse one is refused busy.
func TestQueueBounded(t *testing.T) {
	e := newEnv(t, Config{Capacity: 1, MaxWaiting: 2, NewcomerEvery: -1, ForgiveRate: 1e-9})
	l := e.l
	e.give(id(2), 100)
	e.give(id(3), 200)
	e.give(id(4), 300)
	e.take(id(5), 100)
	request(t, l, id(9))
	low := request(t, l, id(2))
	request(t, l, id(3))
	request(t, l, id(4)) // pushes id(2) out
	select {
	case <-low.Ready():
	default:
		t.Fatal("the worst waiter was not pushed out")
	}
	var r *peers.Refusal
	if err := low.Err(); !errors.As(err, &r) || r.Code != peers.CodeBusy {
		t.Fatalf("pushed out: %v", err)
	}
	if _, err := l.Request(inbound(id(5))); !errors.As(err, &r) || r.Code != peers.CodeBusy {
		t.Fatalf("worse than every waiter: %v", err)
	}
	if _, w := l.Queue(); w != 2 {
		t.Fatalf("%d waiting", w)
	}
}

// TestAdmitWaitsAndTimesOut: Admit serves at once when idle, blocks while
// capacity is short and returns when a slot frees, and gives up at its
// context's deadline with CodeBusy, leaving the queue.
func TestAdmitWaitsAndTimesOut(t *testing.T) {
	e := newEnv(t, Config{Capacity: 1})
	l := e.l
	done, err := l.Admit(context.Background(), inbound(id(1)))
	if err != nil || done == nil {
		t.Fatalf("idle admit: %v", err)
	}
	got := make(chan error, 1)
	go func() {
		d, err := l.Admit(context.Background(), inbound(id(2)))
		if d != nil {
			d()
		}
		got <- err
	}()
	await.Until(t, "a waiter", func() bool { _, w := l.Queue(); return w == 1 })
	done()
	if err := <-got; err != nil {
		t.Fatalf("queued admit: %v", err)
	}
	done, _ = l.Admit(context.Background(), inbound(id(1)))
	defer done()
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		_, err := l.Admit(ctx, inbound(id(3)))
		got <- err
	}()
	await.Until(t, "a waiter", func() bool { _, w := l.Queue(); return w == 1 })
	cancel()
	var r *peers.Refusal
	if err := <-got; !errors.As(err, &r) || r.Code != peers.CodeBusy || !strings.Contains(r.Reason, "better standing") {
		t.Fatalf("timed out: %v", err)
	}
	if _, w := l.Queue(); w != 0 {
		t.Fatalf("%d still waiting", w)
	}
}

// TestCloseRefusesWaiters: Close wakes the waiting requests with an
// error and refuses new ones.
func TestCloseRefusesWaiters(t *testing.T) {
	e := newEnv(t, Config{Capacity: 1})
	request(t, e.l, id(1))
	tk := request(t, e.l, id(2))
	if err := e.l.Close(); err != nil {
		t.Fatal(err)
	}
	<-tk.Ready()
	if tk.Err() == nil {
		t.Fatal("a waiter was admitted by Close")
	}
	if _, err := e.l.Request(inbound(id(3))); err == nil {
		t.Fatal("a closed ledger admitted a request")
	}
}
