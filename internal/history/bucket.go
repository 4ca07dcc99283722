package history

import (
	"context"
	"sync"
	"time"

	"github.com/braidrpc/braid/internal/clock"
)

// bucket is a token bucket of bytes on an injected clock. take may drive
// it into debt (a fetch's size is known only after it arrived); wait
// blocks until the debt is paid back. Over any span of time T the bytes
// taken are at most burst + rate×T plus the last fetch.
type bucket struct {
	clock clock.Clock
	rate  float64 // bytes per second
	burst float64

	mu     sync.Mutex
	tokens float64
	last   time.Time
}

func newBucket(c clock.Clock, rate, burst int64) *bucket {
	return &bucket{clock: c, rate: float64(rate), burst: float64(burst), tokens: float64(burst), last: c.Now()}
}

// refill adds the tokens earned since the last refill. b.mu must be held.
func (b *bucket) refill() {
	now := b.clock.Now()
	if elapsed := now.Sub(b.last); elapsed > 0 {
		b.tokens = min(b.burst, b.tokens+elapsed.Seconds()*b.rate)
	}
	b.last = now
}

func (b *bucket) take(n int64) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.refill()
	b.tokens -= float64(n)
}

// wait returns once the bucket holds a token.
func (b *bucket) wait(ctx context.Context) error {
	for {
		b.mu.Lock()
		b.refill()
		debt := 1 - b.tokens
		b.mu.Unlock()
		if debt <= 0 {
			return nil
		}
		d := time.Duration(debt / b.rate * float64(time.Second))
		if d < time.Millisecond {
			d = time.Millisecond
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-b.clock.After(d):
		}
	}
}
