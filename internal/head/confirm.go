package head

import (
	"context"
	"sync"
	"time"

	"github.com/braidrpc/braid/internal/upstream"
)

// assessInterval is how often upstream conditions are re-derived
// (Options.Assess).
const assessInterval = time.Second

// verifyRetry is how often an upstream whose chain id could not be read
// is asked again (Options.ChainID).
const verifyRetry = 5 * time.Second

// verifyTimeout bounds one chain id check.
const verifyTimeout = 10 * time.Second

// Confirmed is closed once every upstream's chain id was asked once
// (confirmed or not) after Start; at Start without Options.ChainID.
func (t *Tracker) Confirmed() <-chan struct{} { return t.confirmed }

// startConfirming launches, under t.life, a chain id check per upstream
// (Options.ChainID) and the condition assessment (Options.Assess).
func (t *Tracker) startConfirming(ctx context.Context) {
	if t.assess {
		t.wg.Add(1)
		go t.assessLoop(ctx)
	}
	if t.chainID == 0 {
		close(t.confirmed)
		return
	}
	var round sync.WaitGroup
	for _, u := range t.ups {
		round.Add(1)
		t.wg.Add(1)
		go t.verifyLoop(ctx, u, round.Done)
	}
	go func() {
		round.Wait()
		close(t.confirmed)
	}()
}

// verifyLoop checks u's chain id until it is confirmed (or ctx ends),
// then polls u at once: until the served tip is known, braid is not
// ready. firstDone is called after the first check.
func (t *Tracker) verifyLoop(ctx context.Context, u *upstream.Upstream, firstDone func()) {
	defer t.wg.Done()
	done := sync.OnceFunc(firstDone)
	defer done()
	for {
		vctx, cancel := context.WithTimeout(ctx, verifyTimeout)
		err := u.Verify(vctx, t.chainID)
		cancel()
		if err == nil {
			t.PollNow(u)
		}
		done()
		if err == nil {
			return
		}
		t.log.Warn("cannot confirm upstream chain id; will retry", "upstream", u.Name,
			"operator", u.Operator, "url", u.RedactedURL(), "err", err, "retry_in", verifyRetry.String())
		select {
		case <-ctx.Done():
			return
		case <-t.clock.After(verifyRetry):
		}
	}
}

// assessLoop re-derives each upstream's condition (healthy, degraded,
// lagging, broken, throttled, quarantined) every assessInterval; every
// change is one log line.
func (t *Tracker) assessLoop(ctx context.Context) {
	defer t.wg.Done()
	for {
		for _, u := range t.ups {
			lag, known := t.Lag(u)
			c := u.Assess(lag, known, t.maxLag)
			if known {
				u.SetCondition(c, "lag_blocks", lag)
			} else {
				u.SetCondition(c)
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.clock.After(assessInterval):
		}
	}
}
