package upstream

import (
	"math"
	"sync"
	"time"

	"github.com/braidrpc/braid/internal/clock"
)

const (
	// rateWindow is the time constant of the observed request rate.
	rateWindow = 10 * time.Second
	// throttleHold is how long a provider's rate limit lowers braid's own
	// budget for it, after its Retry-After.
	throttleHold = time.Minute
	// throttleShare is the share of the recent rate braid keeps sending to
	// a provider that rate-limited it.
	throttleShare = 0.5
)

// Budget caps the request rate sent to an upstream: a token bucket at the
// configured rps (none: unlimited), lowered for a while when the provider
// rate-limits braid.
type Budget struct {
	clock clock.Clock

	mu         sync.Mutex
	rate       float64 // configured tokens per second; 0: unlimited
	burst      float64
	tokens     float64
	last       time.Time
	lowered    float64 // temporary rate while now < loweredTil
	loweredTil time.Time
	observed   float64 // exponentially weighted requests per second
	observedAt time.Time
}

// NewBudget returns a bucket refilling at rps up to burst, starting full.
// rps <= 0 means no configured limit.
func NewBudget(c clock.Clock, rps float64, burst int) *Budget {
	b := &Budget{clock: c, last: c.Now(), observedAt: c.Now()}
	if rps > 0 {
		b.rate = rps
		b.burst = float64(burst)
		if b.burst < 1 {
			b.burst = math.Max(1, math.Ceil(rps))
		}
		b.tokens = b.burst
	}
	return b
}

// effective returns the rate in force now and its bucket size; 0 means
// unlimited.
func (b *Budget) effective(now time.Time) (rate, burst float64) {
	rate, burst = b.rate, b.burst
	if now.Before(b.loweredTil) && (rate == 0 || b.lowered < rate) {
		rate = b.lowered
		burst = math.Max(1, math.Ceil(rate))
	}
	return rate, burst
}

// Take consumes one token if one is available. Otherwise it returns false
// and how long until one will be.
func (b *Budget) Take() (bool, time.Duration) {
	b.mu.Lock()
	defer b.mu.Unlock()
	now := b.clock.Now()
	rate, burst := b.effective(now)
	b.refill(now, rate, burst)
	if rate == 0 {
		b.count(now)
		return true, 0
	}
	if b.tokens >= 1 {
		b.tokens--
		b.count(now)
		return true, 0
	}
	need := (1 - b.tokens) / rate
	return false, time.Duration(need * float64(time.Second))
}

// Available reports whether a token is available without taking it.
func (b *Budget) Available() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	now := b.clock.Now()
	rate, burst := b.effective(now)
	b.refill(now, rate, burst)
	return rate == 0 || b.tokens >= 1
}

// Lower reacts to the provider rate-limiting braid: until the provider's
// Retry-After and a minute beyond it, braid sends at most half the rate it
// was sending (and never more than the configured budget).
func (b *Budget) Lower(retryAfter time.Duration) {
	b.mu.Lock()
	defer b.mu.Unlock()
	now := b.clock.Now()
	obs := b.observedRate(now)
	target := math.Max(1, obs*throttleShare)
	if now.Before(b.loweredTil) {
		target = math.Max(1, math.Min(target, b.lowered*throttleShare))
	}
	b.lowered = target
	b.loweredTil = now.Add(retryAfter + throttleHold)
	if b.tokens > 1 {
		b.tokens = 1
	}
}

// Rate reports the configured rate, the rate in force now, and the
// observed request rate (all per second; 0 for "unlimited").
func (b *Budget) Rate() (configured, effective, observed float64) {
	b.mu.Lock()
	defer b.mu.Unlock()
	now := b.clock.Now()
	eff, _ := b.effective(now)
	return b.rate, eff, b.observedRate(now)
}

func (b *Budget) refill(now time.Time, rate, burst float64) {
	if dt := now.Sub(b.last).Seconds(); dt > 0 && rate > 0 {
		b.tokens = math.Min(burst, b.tokens+dt*rate)
	}
	if b.tokens > burst && rate > 0 {
		b.tokens = burst
	}
	b.last = now
}

func (b *Budget) count(now time.Time) {
	b.observed = b.observedRate(now) + 1/rateWindow.Seconds()
	b.observedAt = now
}

func (b *Budget) observedRate(now time.Time) float64 {
	dt := now.Sub(b.observedAt).Seconds()
	if dt <= 0 {
		return b.observed
	}
	return b.observed * math.Exp(-dt/rateWindow.Seconds())
}
