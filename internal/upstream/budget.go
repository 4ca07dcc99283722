package upstream

import (
	"math"
	"sync"
	"time"

	"github.com/braidrpc/braid/internal/clock"
)

// Budget is a token bucket that caps the request rate sent to an upstream.
// A nil *Budget is unlimited.
type Budget struct {
	clock clock.Clock

	mu     sync.Mutex
	rate   float64 // tokens per second
	burst  float64
	tokens float64
	last   time.Time
}

// NewBudget returns a bucket refilling at rps up to burst, starting full.
// rps <= 0 returns nil (unlimited).
func NewBudget(c clock.Clock, rps float64, burst int) *Budget {
	if rps <= 0 {
		return nil
	}
	b := float64(burst)
	if b < 1 {
		b = math.Max(1, math.Ceil(rps))
	}
	return &Budget{clock: c, rate: rps, burst: b, tokens: b, last: c.Now()}
}

// Take consumes one token if one is available. Otherwise it returns false
// and how long until one will be.
func (b *Budget) Take() (bool, time.Duration) {
	if b == nil {
		return true, 0
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.refill()
	if b.tokens >= 1 {
		b.tokens--
		return true, 0
	}
	need := (1 - b.tokens) / b.rate
	return false, time.Duration(need * float64(time.Second))
}

// Available reports whether a token is available without taking it.
func (b *Budget) Available() bool {
	if b == nil {
		return true
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.refill()
	return b.tokens >= 1
}

func (b *Budget) refill() {
	now := b.clock.Now()
	if dt := now.Sub(b.last).Seconds(); dt > 0 {
		b.tokens = math.Min(b.burst, b.tokens+dt*b.rate)
	}
	b.last = now
}
