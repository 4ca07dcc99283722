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
	share      float64 // of the configured rate this replica may use (replicas share a provider's budget)
}

// NewBudget returns a bucket refilling at rps up to burst, starting full.
// rps <= 0 means no configured limit.
func NewBudget(c clock.Clock, rps float64, burst int) *Budget {
	b := &Budget{clock: c, last: c.Now(), observedAt: c.Now(), share: 1}
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
	rate, burst = b.rate*b.share, math.Max(1, math.Floor(b.burst*b.share))
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

// SetShare sets the share (0 < s <= 1) of the configured rate and burst
// this process may use: with N replicas sending to the same provider, each
// takes 1/N, so together they stay within the provider's budget.
func (b *Budget) SetShare(s float64) {
	if !(s > 0) || s > 1 {
		s = 1
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.share = s
	_, burst := b.effective(b.clock.Now())
	b.tokens = math.Min(b.tokens, burst)
}

// Lowered returns the lowered rate in force after the provider rate-limited
// braid, and until when; ok is false when none is.
func (b *Budget) Lowered() (rate float64, until time.Time, ok bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if !b.clock.Now().Before(b.loweredTil) {
		return 0, time.Time{}, false
	}
	return b.lowered, b.loweredTil, true
}

// Adopt applies a lowered rate learned elsewhere (another replica was
// rate-limited by the same provider): the lower of the two rates, until
// the later of the two ends.
func (b *Budget) Adopt(rate float64, until time.Time) {
	b.mu.Lock()
	defer b.mu.Unlock()
	now := b.clock.Now()
	if !until.After(now) || !(rate > 0) {
		return
	}
	if now.Before(b.loweredTil) {
		rate = math.Min(rate, b.lowered)
		until = maxTime(until, b.loweredTil)
	}
	b.lowered, b.loweredTil = math.Max(rate, 0.1), until
	if b.tokens > 1 {
		b.tokens = 1
	}
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
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
