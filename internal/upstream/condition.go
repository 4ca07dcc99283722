package upstream

import (
	"context"
	"log/slog"
)

// Condition is an upstream's overall state as operators see it in logs,
// metrics and /status.
type Condition string

const (
	Healthy   Condition = "healthy"
	Degraded  Condition = "degraded"    // answering, but with a high error rate
	Lagging   Condition = "lagging"     // more than max_lag_blocks behind the served tip
	Broken    Condition = "broken"      // circuit breaker open or probing
	Throttled Condition = "throttled"   // the provider asked braid to back off
	Excluded  Condition = "quarantined" // serves another chain; never used
	Pending   Condition = "unverified"  // chain id not confirmed yet
)

// degradedErrorRate is the error rate above which an upstream that still
// answers counts as degraded.
const degradedErrorRate = 0.25

// Conditions lists every condition, for metrics.
var Conditions = []Condition{Healthy, Degraded, Lagging, Broken, Throttled, Excluded, Pending}

// Assess derives the upstream's condition. lag is how far it is behind the
// served tip (lagKnown false when either head is unknown).
func (u *Upstream) Assess(lag uint64, lagKnown bool, maxLag uint64) Condition {
	switch s, _ := u.State(); s {
	case Quarantined:
		return Excluded
	case Unverified:
		return Pending
	}
	if u.suspended() {
		return Excluded
	}
	if u.breaker.State() != BreakerClosed {
		return Broken
	}
	snap := u.health.Snapshot("")
	switch {
	case snap.Throttled:
		return Throttled
	case lagKnown && lag > maxLag:
		return Lagging
	case snap.ErrorRate > degradedErrorRate:
		return Degraded
	}
	return Healthy
}

// SetCondition records c; a change is one structured log line and a
// metric update.
func (u *Upstream) SetCondition(c Condition, detail ...any) {
	u.mu.Lock()
	old := u.condition
	u.condition = c
	u.mu.Unlock()
	if old == c {
		return
	}
	u.metrics.setCondition(u, c)
	level := slog.LevelInfo
	switch c {
	case Healthy:
	case Excluded, Broken:
		level = slog.LevelError
	default:
		level = slog.LevelWarn
	}
	snap := u.health.Snapshot("")
	args := append([]any{"from", string(old), "to", string(c),
		"error_rate", round2(snap.ErrorRate), "latency_ms", snap.Latency.Milliseconds(),
		"breaker", u.breaker.State().String()}, detail...)
	u.log.Log(context.Background(), level, "upstream condition changed", args...)
}

// CurrentCondition returns the last recorded condition.
func (u *Upstream) CurrentCondition() Condition {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.condition
}

func round2(f float64) float64 { return float64(int(f*100+0.5)) / 100 }
