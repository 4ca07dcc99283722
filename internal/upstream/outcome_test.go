package upstream

import (
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/braidrpc/braid/internal/clock"
	"github.com/braidrpc/braid/internal/config"
)

func recordingUpstream(t *testing.T) (*Upstream, *prometheus.Registry) {
	t.Helper()
	reg := prometheus.NewRegistry()
	u := New(config.Upstream{Name: "u1", Operator: "op", URL: "http://127.0.0.1:1"}, Options{
		Network: "net", Clock: clock.NewFake(time.Unix(1000, 0)), Metrics: NewMetrics(reg),
		Breaker: BreakerConfig{Failures: 2, Window: time.Minute, OpenFor: time.Minute, Successes: 1},
	})
	return u, reg
}

func requests(t *testing.T, reg *prometheus.Registry, outcome string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	total := 0.0
	for _, mf := range mfs {
		if mf.GetName() != "braid_upstream_requests_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "outcome" && l.GetValue() == outcome {
					total += m.GetCounter().GetValue()
				}
			}
		}
	}
	return total
}

func TestRecordCancelledIsALatencyLowerBound(t *testing.T) {
	u, reg := recordingUpstream(t)
	u.Record(Outcome{Kind: Success, Class: "state", Latency: 2 * time.Millisecond})
	u.Record(Outcome{Kind: Cancelled, Class: "state", Latency: time.Millisecond})
	if s := u.Health().Snapshot("state"); s.Latency != 2*time.Millisecond {
		t.Fatalf("a cancel shorter than the estimate moved it: %v", s.Latency)
	}
	u.Record(Outcome{Kind: Cancelled, Class: "state", Latency: 102 * time.Millisecond})
	s := u.Health().Snapshot("state")
	if s.Latency <= 2*time.Millisecond || s.Successes != 1 || s.Failures != 0 {
		t.Fatalf("after a 102ms cancel: %+v; want a higher latency, one success and no failure", s)
	}
	// An upstream never measured is measured by its cancelled attempts.
	v, _ := recordingUpstream(t)
	v.Record(Outcome{Kind: Cancelled, Class: "state", Latency: 100 * time.Millisecond})
	if s := v.Health().Snapshot("state"); !s.Measured || s.Latency != 100*time.Millisecond {
		t.Fatalf("unmeasured then cancelled after 100ms: %+v", s)
	}
	if got := requests(t, reg, "cancelled"); got != 2 {
		t.Fatalf("cancelled attempts counted %v, want 2", got)
	}
}

func TestRecordKinds(t *testing.T) {
	u, reg := recordingUpstream(t)
	u.Record(Outcome{Kind: Deferred})
	u.Record(Outcome{Kind: Rejected})
	u.Record(Outcome{Kind: Lie})
	s := u.Health().Snapshot("")
	if s.Failures != 1 || u.Breaker().State() != BreakerClosed {
		t.Fatalf("a lie: failures %d, breaker %v; want 1 failure and the breaker untouched", s.Failures, u.Breaker().State())
	}
	if requests(t, reg, "deferred") != 0 || requests(t, reg, "rejected") != 1 {
		t.Fatal("a deferred answer is counted only when its doubt ends; a rejected one once")
	}
	u.Record(Outcome{Kind: Failure, Label: "timeout"})
	u.Record(Outcome{Kind: Failure})
	if u.Breaker().State() != BreakerOpen || requests(t, reg, "timeout") != 1 || requests(t, reg, "failed") != 1 {
		t.Fatalf("two failures: breaker %v", u.Breaker().State())
	}
	u.Record(Outcome{Kind: Success, Label: "rpc_error"})
	if requests(t, reg, "ok") != 0 || requests(t, reg, "rpc_error") != 1 {
		t.Fatal("an error answer that is the request's own is one rpc_error attempt, not also an ok one")
	}
	u.Record(Outcome{Kind: RateLimited, RetryAfter: time.Hour})
	if !u.Health().Throttled() {
		t.Fatal("not throttled after a rate limit")
	}
	if _, until, ok := u.Budget().Lowered(); !ok || until.Sub(time.Unix(1000, 0)) > 2*time.Minute+time.Second {
		t.Fatalf("rate limit lowered the budget until %v (the wait is capped at a minute)", until)
	}
	// A poll is no request: no breaker, no request metrics.
	before := requests(t, reg, "failed")
	u.Record(Outcome{Kind: Failure, Poll: true})
	if requests(t, reg, "failed") != before {
		t.Fatal("a failed poll counted as a request")
	}
}
