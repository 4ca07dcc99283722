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

func TestUnconfiguredBudgetIsUnlimited(t *testing.T) {
	b := NewBudget(clock.NewFake(time.Unix(0, 0)), 0, 0)
	for i := 0; i < 1000; i++ {
		if ok, _ := b.Take(); !ok {
			t.Fatal("a budget with no rps refused")
		}
	}
}

func TestLowerHalvesTheObservedRateForAWhile(t *testing.T) {
	c := clock.NewFake(time.Unix(0, 0))
	b := NewBudget(c, 0, 0)
	// Send steadily at 20/s for 30s so the observed rate settles.
	for i := 0; i < 600; i++ {
		b.Take()
		c.Advance(50 * time.Millisecond)
	}
	_, _, obs := b.Rate()
	if obs < 18 || obs > 22 {
		t.Fatalf("observed %.1f/s, want about 20", obs)
	}
	b.Lower(2 * time.Second)
	_, eff, _ := b.Rate()
	if eff < 9 || eff > 11 {
		t.Fatalf("lowered rate %.1f/s, want about half of 20", eff)
	}
	taken := 0
	for i := 0; i < 1000; i++ { // 10s at 1ms steps
		if ok, _ := b.Take(); ok {
			taken++
		}
		c.Advance(10 * time.Millisecond)
	}
	if taken > 115 {
		t.Fatalf("took %d in 10s under a lowered budget of ~10/s", taken)
	}
	c.Advance(2*time.Second + throttleHold)
	if _, eff, _ := b.Rate(); eff != 0 {
		t.Fatalf("after the hold the budget should be unlimited again, got %.1f/s", eff)
	}
}

func TestLowerNeverRaisesAConfiguredBudget(t *testing.T) {
	c := clock.NewFake(time.Unix(0, 0))
	b := NewBudget(c, 2, 2)
	for i := 0; i < 100; i++ {
		b.Take()
		c.Advance(100 * time.Millisecond)
	}
	b.Lower(0)
	if _, eff, _ := b.Rate(); eff > 2 {
		t.Fatalf("effective %.1f/s exceeds the configured 2/s", eff)
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
