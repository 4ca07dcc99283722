package route

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/braidrpc/braid/internal/config"
	"github.com/braidrpc/braid/internal/upstream"
)

// nonceMax is go-ethereum's answer to an eth_simulateV1 call from an
// account whose nonce is at its maximum: -32603, as if the node failed,
// though every node gives it.
var nonceMax = rpcErr(-32603, "nonce has max value: address 0x52908400098527886E0F7030069857D2E4169EE7, nonce: 18446744073709551615")

// standing is what a request may not change about an upstream.
type standing struct {
	failures  uint64
	errorRate float64
	score     float64
	breaker   upstream.BreakerState
	condition upstream.Condition
}

func standingOf(u *upstream.Upstream) standing {
	snap := u.Health().Snapshot("call")
	return standing{snap.Failures, snap.ErrorRate, snap.Score, u.Breaker().State(), u.Assess(0, true, 5)}
}

func simulate(i int) Call {
	p, _ := json.Marshal([]any{map[string]any{"calls": []any{map[string]any{"nonce": fmt.Sprintf("0x%x", i)}}}, "latest"})
	return Call{Method: "eth_simulateV1", Params: p, Class: "call"}
}

// TestClientFaultCountsAgainstNobody: an error every operator gives to a
// request is the request's: passed on unchanged after a second operator
// confirms it, never retried further, and 1,000 of them leave every
// upstream's breaker, health and score as they were.
func TestClientFaultCountsAgainstNobody(t *testing.T) {
	h := newHarness(t, 3, nil)
	for _, f := range h.fakes {
		f.set(nonceMax)
	}
	before := make([]standing, len(h.ups))
	for i, u := range h.ups {
		before[i] = standingOf(u)
	}
	for i := range 1000 {
		res, err := h.router.Do(context.Background(), simulate(i%100))
		if err != nil {
			t.Fatal(err)
		}
		e := res.Response.Error
		if e == nil || e.Code != -32603 || e.Message[:21] != "nonce has max value: " || string(e.Data) != `"0x01"` {
			t.Fatalf("request %d: answer %+v", i, e)
		}
		if !res.Rejected || !res.Unserved {
			t.Fatalf("request %d: rejected %v unserved %v", i, res.Rejected, res.Unserved)
		}
		// Two operators the first time a request is seen; once they have
		// agreed, one is enough.
		if want := 2; i >= 100 {
			want = 1
			if res.Attempts != want {
				t.Fatalf("request %d (seen before): %d attempts, want %d", i, res.Attempts, want)
			}
		} else if res.Attempts != want {
			t.Fatalf("request %d: %d attempts, want %d", i, res.Attempts, want)
		}
	}
	if n := h.fakes[2].calls.Load(); n != 0 {
		t.Fatalf("a third operator was asked %d times", n)
	}
	// Their doubts run out: still nothing is counted.
	h.clock.Advance(doubtWindow + time.Second)
	h.router.count(h.router.doubts.expired())
	for i, u := range h.ups {
		if got := standingOf(u); got != before[i] {
			t.Errorf("%s: %+v after 1,000 client faults, was %+v", u.Name, got, before[i])
		}
	}
}

// TestNodeFailureStillCounts: the same error answer is the node's fault
// when another upstream answers the request: it counts then.
func TestNodeFailureStillCounts(t *testing.T) {
	h := newHarness(t, 2, nil)
	h.autoAdvance(t) // rounds over upstreams that all failed pause on the clock
	h.fakes[0].set(nonceMax)
	h.fakes[1].set(ok(`[]`))
	res, err := h.router.Do(context.Background(), simulate(1))
	if err != nil || res.Upstream != h.ups[1] || res.Rejected {
		t.Fatalf("%v %+v", err, res)
	}
	if f := h.ups[0].Health().Snapshot("").Failures; f != 1 {
		t.Fatalf("u1 has %d failures, want 1", f)
	}
	// Different error answers from two operators are both failures.
	h.fakes[0].set(rpcErr(-32603, "internal error: backend a"))
	h.fakes[1].set(rpcErr(-32603, "internal error: backend b"))
	res, err = h.router.Do(context.Background(), simulate(2))
	if err != nil || res.Rejected || !res.Unserved {
		t.Fatalf("%v %+v", err, res)
	}
	h.clock.Advance(doubtWindow)
	h.router.count(h.router.doubts.expired())
	// Every failed attempt counts once its doubt is over (u2's one answer
	// to the first request was a success).
	f0, f1 := h.ups[0].Health().Snapshot("").Failures, h.ups[1].Health().Snapshot("").Failures
	if c0, c1 := uint64(h.fakes[0].calls.Load()), uint64(h.fakes[1].calls.Load()); f0 != c0 || f1 != c1-1 || f1 == 0 {
		t.Fatalf("failures %d, %d after %d, %d calls", f0, f1, c0, c1)
	}
}

// TestSameOperatorDoesNotConfirm: two upstreams of one operator may share
// a broken backend; their agreement proves nothing.
func TestSameOperatorDoesNotConfirm(t *testing.T) {
	h := operatorHarness(t) // u1, u3: operator a; u2: b; u4: c
	h.autoAdvance(t)
	for _, f := range h.fakes {
		f.set(ok(`[]`))
	}
	h.fakes[0].set(nonceMax)
	h.fakes[2].set(nonceMax)
	res, err := h.router.Do(context.Background(), Call{Method: "eth_simulateV1", Operator: "a"})
	if err != nil || res.Rejected || !res.Unserved {
		t.Fatalf("%v %+v", err, res)
	}
	// Operator b answers the same request: a's two failures were real.
	res, err = h.router.Do(context.Background(), Call{Method: "eth_simulateV1", Operator: "b"})
	if err != nil || res.Response.Error != nil {
		t.Fatalf("%v %+v", err, res)
	}
	for _, i := range []int{0, 2} {
		if f := h.ups[i].Health().Snapshot("").Failures; f == 0 {
			t.Errorf("%s: failure not counted", h.ups[i].Name)
		}
	}
}

// TestOperatorsAskedApartConfirm: quorum reads and broadcasts ask each
// operator in its own call; the second operator's identical answer still
// clears the first.
func TestOperatorsAskedApartConfirm(t *testing.T) {
	h := operatorHarness(t)
	h.autoAdvance(t)
	for _, f := range h.fakes {
		f.set(nonceMax)
	}
	call := simulate(7)
	call.Operator = "a"
	res, err := h.router.Do(context.Background(), call)
	if err != nil || res.Rejected || !res.Unserved {
		t.Fatalf("operator a: %v %+v", err, res)
	}
	call.Operator = "b"
	res, err = h.router.Do(context.Background(), call)
	if err != nil || !res.Rejected || res.Attempts != 1 {
		t.Fatalf("operator b: %v %+v", err, res)
	}
	h.clock.Advance(doubtWindow + time.Second)
	if _, err := h.router.Do(context.Background(), simulate(8)); err != nil {
		t.Fatal(err)
	}
	for _, i := range []int{0, 1, 2} {
		if f := h.ups[i].Health().Snapshot("").Failures; f != 0 {
			t.Errorf("%s: %d failures counted for the request's fault", h.ups[i].Name, f)
		}
	}
}

// TestSingleOperatorCountsAtOnce: with nobody to compare with, an error
// answer that says the node failed counts as before.
func TestSingleOperatorCountsAtOnce(t *testing.T) {
	h := newHarness(t, 2, func(i int, c *config.Upstream) { c.Operator = "solo" })
	h.autoAdvance(t)
	for _, f := range h.fakes {
		f.set(nonceMax)
	}
	if _, err := h.router.Do(context.Background(), simulate(1)); err != nil {
		t.Fatal(err)
	}
	for _, u := range h.ups {
		if f := u.Health().Snapshot("").Failures; f == 0 {
			t.Errorf("%s: no failure counted", u.Name)
		}
	}
}

// TestDoubtTableIsBounded: a flood of distinct failing requests cannot
// grow the table past its bound; the oldest doubts are counted.
func TestDoubtTableIsBounded(t *testing.T) {
	h := newHarness(t, 2, nil)
	d := h.router.doubts
	var counted int
	for i := range maxDoubts + 10 {
		c := simulate(i)
		_, _, due := d.add(keyOf(c), suspect{u: h.ups[0], code: -32603, msg: "x"})
		counted += len(due)
	}
	if d.n.Load() != maxDoubts || len(d.order) != maxDoubts || counted != 10 {
		t.Fatalf("%d doubts, %d in order, %d counted", d.n.Load(), len(d.order), counted)
	}
}
