package upstream

import (
	"sync"
	"time"

	"github.com/braidrpc/braid/internal/clock"
	"github.com/braidrpc/braid/internal/config"
)

// BreakerState is a circuit breaker's position.
type BreakerState int

const (
	// BreakerClosed: requests flow.
	BreakerClosed BreakerState = iota
	// BreakerOpen: the upstream failed too often; no requests until the
	// open period passes.
	BreakerOpen
	// BreakerHalfOpen: one probe at a time may test whether it recovered.
	BreakerHalfOpen
)

func (s BreakerState) String() string {
	switch s {
	case BreakerOpen:
		return "open"
	case BreakerHalfOpen:
		return "half-open"
	}
	return "closed"
}

// BreakerConfig tunes a Breaker: Failures within Window open it, it
// stays open OpenFor before a probe, and Successes probe successes in
// half-open close it (a network's breaker section).
type BreakerConfig = config.Breaker

// Breaker is a per-upstream circuit breaker: it opens after Failures
// failures within Window, lets one probe through after OpenFor, and closes
// after Successes successful probes (a failed probe opens it again).
type Breaker struct {
	cfg   BreakerConfig
	clock clock.Clock

	mu        sync.Mutex
	state     BreakerState
	failures  []time.Time // within the window, oldest first (closed state)
	openedAt  time.Time
	probing   bool // a half-open probe is in flight
	successes int  // probe successes so far (half-open)
}

// NewBreaker returns a closed breaker. Zero config fields take defaults
// (5 failures in 30s, open 10s, 2 successes).
func NewBreaker(c clock.Clock, cfg BreakerConfig) *Breaker {
	if cfg.Failures <= 0 {
		cfg.Failures = 5
	}
	if cfg.Window <= 0 {
		cfg.Window = 30 * time.Second
	}
	if cfg.OpenFor <= 0 {
		cfg.OpenFor = 10 * time.Second
	}
	if cfg.Successes <= 0 {
		cfg.Successes = 2
	}
	return &Breaker{cfg: cfg, clock: c}
}

// State returns the breaker's state, moving open to half-open when the
// open period has passed.
func (b *Breaker) State() BreakerState {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.advance()
	return b.state
}

func (b *Breaker) advance() {
	if b.state == BreakerOpen && !b.clock.Now().Before(b.openedAt.Add(b.cfg.OpenFor)) {
		b.state, b.probing, b.successes = BreakerHalfOpen, false, 0
	}
}

// Allow reports whether a request may be sent now. In half-open it admits
// one probe at a time; the caller must report the probe's outcome (Success,
// Failure or Release) so the next can go.
func (b *Breaker) Allow() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.advance()
	switch b.state {
	case BreakerClosed:
		return true
	case BreakerHalfOpen:
		if b.probing {
			return false
		}
		b.probing = true
		return true
	}
	return false
}

// Release ends an admitted request that said nothing about the upstream
// (it was cancelled), freeing the half-open probe slot.
func (b *Breaker) Release() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.probing = false
}

// Success records an answered request.
func (b *Breaker) Success() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.advance()
	if b.state == BreakerHalfOpen {
		b.probing = false
		b.successes++
		if b.successes >= b.cfg.Successes {
			b.state, b.failures = BreakerClosed, b.failures[:0]
		}
	}
}

// Failure records a failed request; it may open the breaker.
func (b *Breaker) Failure() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.advance()
	now := b.clock.Now()
	switch b.state {
	case BreakerHalfOpen:
		b.open(now)
	case BreakerClosed:
		cutoff := now.Add(-b.cfg.Window)
		kept := b.failures[:0]
		for _, t := range b.failures {
			if t.After(cutoff) {
				kept = append(kept, t)
			}
		}
		b.failures = append(kept, now)
		if len(b.failures) >= b.cfg.Failures {
			b.open(now)
		}
	}
}

func (b *Breaker) open(now time.Time) {
	b.state, b.openedAt, b.probing, b.successes = BreakerOpen, now, false, 0
	b.failures = b.failures[:0]
}
