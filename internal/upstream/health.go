package upstream

import (
	"math"
	"sync"
	"time"

	"github.com/braidrpc/braid/internal/clock"
)

// Health tuning. Error rate decays with time so that an upstream which
// failed and was then avoided drifts back into use instead of being ignored
// forever.
const (
	latencyAlpha   = 0.2              // weight of a new latency sample
	errorAlpha     = 0.2              // weight of a new success/failure sample
	errorHalfLife  = 30 * time.Second // idle decay of the error rate
	errorPenalty   = 20.0             // score multiplier per unit of error rate
	unknownLatency = 0.0              // an unmeasured upstream is tried early
)

// Health is an upstream's recent record. Only attempts that finished count:
// a hedged or cancelled attempt is neither a success nor a failure.
type Health struct {
	clock clock.Clock

	mu             sync.Mutex
	latency        float64 // EWMA seconds
	measured       bool
	errRate        float64
	errAt          time.Time
	throttledUntil time.Time
	successes      uint64
	failures       uint64
}

func newHealth(c clock.Clock) *Health {
	return &Health{clock: c, errAt: c.Now()}
}

// Success records an answered attempt and its latency.
func (h *Health) Success(latency time.Duration) {
	h.mu.Lock()
	defer h.mu.Unlock()
	s := latency.Seconds()
	if !h.measured {
		h.latency, h.measured = s, true
	} else {
		h.latency += latencyAlpha * (s - h.latency)
	}
	h.observe(0)
	h.successes++
}

// Failure records a failed attempt (transport, timeout, HTTP error, or an
// error answer that means "this node cannot serve").
func (h *Health) Failure() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.observe(1)
	h.failures++
}

// Throttle keeps the upstream out of use until t (a provider's Retry-After).
func (h *Health) Throttle(until time.Time) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if until.After(h.throttledUntil) {
		h.throttledUntil = until
	}
}

// Throttled reports whether the provider asked braid to back off.
func (h *Health) Throttled() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.clock.Now().Before(h.throttledUntil)
}

func (h *Health) observe(v float64) {
	now := h.clock.Now()
	h.errRate = decay(h.errRate, now.Sub(h.errAt))
	h.errAt = now
	h.errRate += errorAlpha * (v - h.errRate)
}

func decay(rate float64, idle time.Duration) float64 {
	if idle <= 0 {
		return rate
	}
	return rate * math.Exp2(-idle.Seconds()/errorHalfLife.Seconds())
}

// Snapshot is a point-in-time copy of an upstream's health.
type Snapshot struct {
	Latency   time.Duration
	Measured  bool
	ErrorRate float64
	Throttled bool
	Successes uint64
	Failures  uint64
	// Score orders upstreams: lower is better.
	Score float64
}

// Snapshot returns the current health, with the error rate decayed to now.
func (h *Health) Snapshot() Snapshot {
	h.mu.Lock()
	defer h.mu.Unlock()
	now := h.clock.Now()
	er := decay(h.errRate, now.Sub(h.errAt))
	lat := unknownLatency
	if h.measured {
		lat = h.latency
	}
	return Snapshot{
		Latency:   time.Duration(h.latency * float64(time.Second)),
		Measured:  h.measured,
		ErrorRate: er,
		Throttled: now.Before(h.throttledUntil),
		Successes: h.successes,
		Failures:  h.failures,
		// A floor of 1ms keeps the error penalty meaningful for very fast
		// upstreams: 50% errors at 0.1ms must not beat 0% at 2ms.
		Score: math.Max(lat, 0.001) * (1 + errorPenalty*er),
	}
}
