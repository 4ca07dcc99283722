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

// TestBudgetShare: three replicas each take a third of a provider's
// budget, so together they stay within it.
func TestBudgetShare(t *testing.T) {
	c := clock.NewFake(time.Unix(0, 0))
	b := NewBudget(c, 30, 30)
	b.SetShare(1.0 / 3)
	taken := 0
	for i := 0; i < 2000; i++ {
		if ok, _ := b.Take(); ok {
			taken++
		}
		c.Advance(time.Millisecond)
	}
	// burst 10 + 2s × 10/s = 30 at most.
	if taken > 30 || taken < 29 {
		t.Fatalf("took %d tokens in 2s with a third of 30/s burst 30, want 29..30", taken)
	}
	b.SetShare(0) // nonsense is the whole budget, never none
	if _, eff, _ := b.Rate(); eff != 30 {
		t.Fatalf("effective rate %v after SetShare(0), want 30", eff)
	}
}

func TestBudgetAdoptKeepsTheLowerRateAndLaterEnd(t *testing.T) {
	c := clock.NewFake(time.Unix(0, 0))
	b := NewBudget(c, 100, 100)
	if _, _, ok := b.Lowered(); ok {
		t.Fatal("lowered before any rate limit")
	}
	b.Adopt(20, c.Now().Add(time.Minute))
	b.Adopt(50, c.Now().Add(2*time.Minute)) // higher rate, later end
	rate, until, ok := b.Lowered()
	if !ok || rate != 20 || !until.Equal(c.Now().Add(2*time.Minute)) {
		t.Fatalf("lowered = %v until %v (%v), want 20 until +2m", rate, until, ok)
	}
	if _, eff, _ := b.Rate(); eff != 20 {
		t.Fatalf("effective %v, want 20", eff)
	}
	b.Adopt(5, c.Now().Add(-time.Second)) // already over: ignored
	c.Advance(3 * time.Minute)
	if _, eff, _ := b.Rate(); eff != 100 {
		t.Fatalf("effective %v after the throttle ended, want 100", eff)
	}
}
