package upstream

import (
	"testing"
	"time"

	"github.com/braidrpc/braid/internal/clock"
)

func TestHealthScoreOrdersByLatencyAndErrors(t *testing.T) {
	c := clock.NewFake(time.Unix(0, 0))
	fast, slow, flaky := newHealth(c), newHealth(c), newHealth(c)
	for i := 0; i < 20; i++ {
		fast.Success("", 2*time.Millisecond)
		slow.Success("", 40*time.Millisecond)
		flaky.Success("", 2*time.Millisecond)
		flaky.Failure()
	}
	f, s, fl := fast.Snapshot(""), slow.Snapshot(""), flaky.Snapshot("")
	if !(f.Score < s.Score) {
		t.Fatalf("fast %.4f should beat slow %.4f", f.Score, s.Score)
	}
	if !(f.Score < fl.Score) {
		t.Fatalf("fast %.4f should beat flaky %.4f", f.Score, fl.Score)
	}
	if fl.ErrorRate < 0.3 {
		t.Fatalf("flaky error rate %.2f, want ≥ 0.3 after alternating failures", fl.ErrorRate)
	}
	if f.Successes != 20 || fl.Failures != 20 {
		t.Fatalf("counts: fast ok %d, flaky failures %d", f.Successes, fl.Failures)
	}
}

func TestHealthErrorRateDecaysWhileIdle(t *testing.T) {
	c := clock.NewFake(time.Unix(0, 0))
	h := newHealth(c)
	for i := 0; i < 30; i++ {
		h.Failure()
	}
	before := h.Snapshot("").ErrorRate
	c.Advance(errorHalfLife)
	after := h.Snapshot("").ErrorRate
	if after > before/2+1e-9 || after < before/2-1e-9 {
		t.Fatalf("after one half-life: %.4f, want half of %.4f", after, before)
	}
	c.Advance(10 * errorHalfLife)
	if r := h.Snapshot("").ErrorRate; r > 0.001 {
		t.Fatalf("after 11 half-lives error rate still %.4f", r)
	}
}

func TestHealthThrottleExpires(t *testing.T) {
	c := clock.NewFake(time.Unix(0, 0))
	h := newHealth(c)
	h.Throttle(c.Now().Add(2 * time.Second))
	h.Throttle(c.Now().Add(time.Second)) // an earlier deadline does not shorten it
	if !h.Throttled() {
		t.Fatal("not throttled")
	}
	c.Advance(1500 * time.Millisecond)
	if !h.Throttled() {
		t.Fatal("throttle shortened by a later, earlier deadline")
	}
	c.Advance(time.Second)
	if h.Throttled() || h.Snapshot("").Throttled {
		t.Fatal("still throttled after Retry-After passed")
	}
}

func TestUnmeasuredUpstreamIsTriedEarly(t *testing.T) {
	c := clock.NewFake(time.Unix(0, 0))
	fresh, known := newHealth(c), newHealth(c)
	known.Success("", 20*time.Millisecond)
	if !(fresh.Snapshot("").Score < known.Snapshot("").Score) {
		t.Fatal("an unmeasured upstream should be tried before a measured slower one")
	}
}
