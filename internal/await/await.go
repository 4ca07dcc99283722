// Package await is how braid's tests wait for something to happen: they
// poll a condition with a bounded deadline instead of sleeping for a
// time. A wait only lets goroutines get somewhere; it never decides an
// outcome, so its deadline is generous (the test machine is shared and
// slow) and a passing test returns as soon as the condition holds.
package await

import (
	"testing"
	"time"

	"github.com/braidrpc/braid/internal/clock"
)

// Timeout is how long Until waits before it fails the test.
const Timeout = 30 * time.Second

// Polling intervals: the first polls come quickly, later ones back off so
// a long wait does not spin.
const (
	firstPoll = time.Millisecond
	maxPoll   = 20 * time.Millisecond
)

// Until polls cond until it holds, failing t (naming what did not happen)
// after Timeout.
func Until(t testing.TB, what string, cond func() bool) {
	t.Helper()
	Within(t, Timeout, what, cond)
}

// Within is Until with its own deadline d.
func Within(t testing.TB, d time.Duration, what string, cond func() bool) {
	t.Helper()
	if !Poll(d, cond) {
		t.Fatalf("timed out after %s waiting for %s", d, what)
	}
}

// Poll polls cond until it holds or d has passed, and reports whether it
// held. For tests that go on (or say more) when it does not.
func Poll(d time.Duration, cond func() bool) bool {
	return poll(d, cond, nil)
}

// Advancer is a clock tests move by hand (clock.Fake).
type Advancer interface{ Advance(d time.Duration) }

var _ Advancer = (*clock.Fake)(nil)

// Advancing is Until for goroutines that wait on a fake clock: after each
// poll that finds cond false it moves clk on by step (a goroutine may not
// wait on the clock yet when it first moves, so it keeps moving), for up
// to Timeout of real time.
func Advancing(t testing.TB, clk Advancer, step time.Duration, what string, cond func() bool) {
	t.Helper()
	if !poll(Timeout, cond, func() { clk.Advance(step) }) {
		t.Fatalf("timed out after %s (fake clock moving by %s) waiting for %s", Timeout, step, what)
	}
}

// poll checks cond, calling between (if set) after each false check.
func poll(d time.Duration, cond func() bool, between func()) bool {
	deadline := time.Now().Add(d)
	wait := firstPoll
	for !cond() {
		if time.Now().After(deadline) {
			return cond()
		}
		if between != nil {
			between()
		}
		time.Sleep(wait)
		wait = min(2*wait, maxPoll)
	}
	return true
}
