package upstream

import (
	"testing"
	"time"

	"github.com/braidrpc/braid/internal/clock"
)

func TestBudgetNeverExceedsRate(t *testing.T) {
	c := clock.NewFake(time.Unix(0, 0))
	b := NewBudget(c, 10, 5) // 10/s, burst 5
	taken := 0
	// Over 2 simulated seconds, in 1ms steps, take whenever allowed.
	for i := 0; i < 2000; i++ {
		if ok, _ := b.Take(); ok {
			taken++
		}
		c.Advance(time.Millisecond)
	}
	// burst (5) + 2s × 10/s = 25 at most.
	if taken > 25 || taken < 24 {
		t.Fatalf("took %d tokens in 2s at 10/s burst 5, want 24..25", taken)
	}
}

func TestBudgetWaitTellsWhenNextToken(t *testing.T) {
	c := clock.NewFake(time.Unix(0, 0))
	b := NewBudget(c, 4, 1)
	if ok, _ := b.Take(); !ok {
		t.Fatal("first token refused")
	}
	ok, wait := b.Take()
	if ok {
		t.Fatal("second token granted with burst 1")
	}
	if wait != 250*time.Millisecond {
		t.Fatalf("wait = %v, want 250ms", wait)
	}
	if b.Available() {
		t.Fatal("Available before the wait")
	}
	c.Advance(wait)
	if !b.Available() {
		t.Fatal("not Available after the wait")
	}
}

func TestNilBudgetIsUnlimited(t *testing.T) {
	b := NewBudget(clock.NewFake(time.Unix(0, 0)), 0, 0)
	if b != nil {
		t.Fatal("rps 0 should give a nil (unlimited) budget")
	}
	for i := 0; i < 1000; i++ {
		if ok, _ := b.Take(); !ok {
			t.Fatal("nil budget refused")
		}
	}
}

func TestBudgetDefaultBurst(t *testing.T) {
	c := clock.NewFake(time.Unix(0, 0))
	b := NewBudget(c, 2.5, 0)
	n := 0
	for {
		if ok, _ := b.Take(); !ok {
			break
		}
		n++
	}
	if n != 3 {
		t.Fatalf("burst for 2.5 rps = %d, want 3 (rps rounded up)", n)
	}
}
