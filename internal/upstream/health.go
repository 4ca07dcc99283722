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
	latencyAlpha    = 0.2              // weight of a new latency sample
	errorAlpha      = 0.2              // weight of a new success/failure sample
	errorHalfLife   = 30 * time.Second // idle decay of the error rate
	errorPenalty    = 20.0             // score multiplier per unit of error rate
	throttleAlpha   = 0.2              // weight of a new throttled/not-throttled sample
	throttlePenalty = 10.0             // score multiplier per unit of throttle rate
	unknownLatency  = 0.0              // an unmeasured upstream is tried early
	ringSize        = 64               // latency samples kept per method class
)

// Health is an upstream's recent record. Only attempts that finished count:
// a hedged or cancelled attempt is neither a success nor a failure.
type Health struct {
	clock clock.Clock

	mu             sync.Mutex
	latency        float64 // EWMA seconds, all classes
	measured       bool
	classes        map[string]*classLatency
	errRate        float64
	errAt          time.Time
	throttleRate   float64 // decays with time, like errRate
	throttleAt     time.Time
	throttledUntil time.Time
	successes      uint64
	failures       uint64
	throttles      uint64
}

// PollClass is the class of background head polls.
const PollClass = "head"

// classLatency is one method class's recent latency: an EWMA for scoring
// and a ring of samples for percentiles (the hedge delay).
type classLatency struct {
	ewma float64
	ring [ringSize]time.Duration
	n    int // samples written (ring holds min(n, ringSize))
}

func newHealth(c clock.Clock) *Health {
	return &Health{clock: c, errAt: c.Now(), throttleAt: c.Now(), classes: make(map[string]*classLatency)}
}

// Success records an answered attempt of a method class and its latency.
func (h *Health) Success(class string, latency time.Duration) {
	h.mu.Lock()
	defer h.mu.Unlock()
	s := latency.Seconds()
	// Head polls are cheap calls on their own schedule: they tell whether
	// the upstream answers, not how fast it serves requests.
	if class != PollClass {
		if !h.measured {
			h.latency, h.measured = s, true
		} else {
			h.latency += latencyAlpha * (s - h.latency)
		}
	}
	cl := h.classes[class]
	if cl == nil {
		cl = &classLatency{ewma: s}
		h.classes[class] = cl
	} else {
		cl.ewma += latencyAlpha * (s - cl.ewma)
	}
	h.observe(0)
	h.successes++
}

// AtLeast records that an attempt of a method class took at least
// latency without finishing (it was cancelled): the estimate rises toward
// it when below, and an unmeasured upstream is measured by it. Neither a
// success nor a failure is counted.
func (h *Health) AtLeast(class string, latency time.Duration) {
	h.mu.Lock()
	defer h.mu.Unlock()
	s := latency.Seconds()
	if !h.measured {
		h.latency, h.measured = s, true
	} else if s > h.latency {
		h.latency += latencyAlpha * (s - h.latency)
	}
	cl := h.classes[class]
	switch {
	case cl == nil:
		h.classes[class] = &classLatency{ewma: s}
	case s > cl.ewma:
		cl.ewma += latencyAlpha * (s - cl.ewma)
	}
}

// Failure records a failed attempt (transport, timeout, HTTP error, or an
// error answer that means "this node cannot serve").
func (h *Health) Failure() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.observe(1)
	h.failures++
}

// Throttle records that the provider rate-limited braid and keeps the
// upstream out of use until t (its Retry-After).
func (h *Health) Throttle(until time.Time) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if until.After(h.throttledUntil) {
		h.throttledUntil = until
	}
	now := h.clock.Now()
	h.throttleRate = decay(h.throttleRate, now.Sub(h.throttleAt))
	h.throttleAt = now
	h.throttleRate += throttleAlpha * (1 - h.throttleRate)
	h.throttles++
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
	Latency      time.Duration
	Measured     bool
	ErrorRate    float64
	ThrottleRate float64
	Throttled    bool
	Successes    uint64
	Failures     uint64
	Throttles    uint64
	// Score orders upstreams for the class asked: lower is better.
	Score float64
}

// Snapshot returns the current health for a method class ("" for all),
// with the error rate decayed to now.
func (h *Health) Snapshot(class string) Snapshot {
	h.mu.Lock()
	defer h.mu.Unlock()
	now := h.clock.Now()
	er := decay(h.errRate, now.Sub(h.errAt))
	tr := decay(h.throttleRate, now.Sub(h.throttleAt))
	lat := unknownLatency
	if cl := h.classes[class]; cl != nil {
		lat = cl.ewma
	} else if h.measured {
		lat = h.latency
	}
	return Snapshot{
		Latency:      time.Duration(h.latency * float64(time.Second)),
		Measured:     h.measured,
		ErrorRate:    er,
		ThrottleRate: tr,
		Throttled:    now.Before(h.throttledUntil),
		Successes:    h.successes,
		Failures:     h.failures,
		Throttles:    h.throttles,
		// A floor of 1ms keeps the error penalty meaningful for very fast
		// upstreams: 50% errors at 0.1ms must not beat 0% at 2ms.
		Score: math.Max(lat, 0.001) * (1 + errorPenalty*er) * (1 + throttlePenalty*tr),
	}
}
