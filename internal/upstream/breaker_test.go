package upstream

import (
	"testing"
	"time"

	"github.com/braidrpc/braid/internal/clock"
)

func TestBreakerTransitions(t *testing.T) {
	c := clock.NewFake(time.Unix(0, 0))
	b := NewBreaker(c, BreakerConfig{Failures: 3, Window: 10 * time.Second, OpenFor: 5 * time.Second, Successes: 2})
	step := func(what string, want BreakerState) {
		t.Helper()
		if got := b.State(); got != want {
			t.Fatalf("%s: state %v, want %v", what, got, want)
		}
	}
	step("new", BreakerClosed)
	b.Failure()
	b.Failure()
	step("two failures", BreakerClosed)
	c.Advance(11 * time.Second) // both fall out of the window
	b.Failure()
	step("old failures expired", BreakerClosed)
	b.Failure()
	b.Failure()
	step("three within the window", BreakerOpen)
	if b.Allow() {
		t.Fatal("open breaker admitted a request")
	}
	c.Advance(5 * time.Second)
	step("after open_for", BreakerHalfOpen)
	if !b.Allow() {
		t.Fatal("half-open refused the first probe")
	}
	if b.Allow() {
		t.Fatal("half-open admitted a second concurrent probe")
	}
	b.Failure()
	step("failed probe", BreakerOpen)
	c.Advance(5 * time.Second)
	if !b.Allow() {
		t.Fatal("no probe after the second open period")
	}
	b.Success()
	step("one good probe of two", BreakerHalfOpen)
	if !b.Allow() {
		t.Fatal("no second probe after a success")
	}
	b.Success()
	step("two good probes", BreakerClosed)
	b.Failure()
	b.Failure()
	step("fresh window after closing", BreakerClosed)
}

func TestBreakerReleaseFreesTheProbe(t *testing.T) {
	c := clock.NewFake(time.Unix(0, 0))
	b := NewBreaker(c, BreakerConfig{Failures: 1, OpenFor: time.Second})
	b.Failure()
	c.Advance(time.Second)
	if !b.Allow() {
		t.Fatal("no probe")
	}
	b.Release() // the probe was cancelled: it says nothing
	if b.State() != BreakerHalfOpen || !b.Allow() {
		t.Fatal("a cancelled probe kept the slot")
	}
}
