package route

import (
	"context"
	"time"

	"github.com/braidrpc/braid/internal/upstream"
)

// doing is one call in Do: its attempts so far.
type doing struct {
	r        *Router
	c        Call
	ctx      context.Context
	tried    upstreams // this round
	excluded upstreams // cannot serve this call
	attempts []Attempt
	launched int
	inflight int
	hedges   int
	round    int
	lastRPC  *outcome
	// concurrent: attempts run in their own goroutine and report on
	// results, since a hedge may race them. Otherwise each runs inline and
	// leaves its outcome in done.
	concurrent bool
	results    chan outcome
	done       outcome
	// buf backs tried and excluded for the usual few upstreams.
	buf [4]*upstream.Upstream
}

// upstreams is a small set of upstreams (a network has a handful: a
// slice search beats a map and allocates nothing for the usual few).
type upstreams []*upstream.Upstream

func (s upstreams) has(u *upstream.Upstream) bool {
	for _, v := range s {
		if v == u {
			return true
		}
	}
	return false
}

func (s *upstreams) add(u *upstream.Upstream) {
	if !s.has(u) {
		*s = append(*s, u)
	}
}

// launch starts an attempt on u (a hedge when another is in flight).
func (d *doing) launch(u *upstream.Upstream, hedge bool) {
	d.launched++
	d.inflight++
	d.tried.add(u)
	if d.launched > 1 {
		d.r.rmetrics.retry(d.r.network)
	}
	if !d.concurrent {
		d.done = d.r.attempt(d.ctx, u, d.c, d.launched-1, hedge)
		return
	}
	go func(n int) { d.results <- d.r.attempt(d.ctx, u, d.c, n, hedge) }(d.launched - 1)
}

// next launches the best untried candidate; it reports whether one went,
// and otherwise how long until a rate budget allows one.
func (d *doing) next(hedge bool) (bool, time.Duration) {
	u, wait := d.r.pick(d.c, d.tried, d.excluded)
	if u == nil {
		return false, wait
	}
	d.launch(u, hedge)
	return true, 0
}

// launchOrWait, with nothing in flight, launches the next attempt, or
// waits for a rate budget or before another round over upstreams that all
// failed transiently; done when the call ends here.
func (d *doing) launchOrWait() (done bool, res *Result, err error) {
	r := d.r
	if d.launched >= r.maxAttempts {
		res, err = r.finish(d.c, d.lastRPC, d.attempts, d.launched)
		return true, res, err
	}
	ok, wait := d.next(false)
	if ok {
		return false, nil, nil
	}
	switch {
	case wait > 0:
		// Every remaining candidate is out of rate budget: wait for a
		// token rather than fail.
	case d.launched > 0 && d.round < r.maxAttempts && r.anyLeft(d.c, d.excluded):
		// Every candidate failed transiently this round: pause, then go
		// round again.
		d.round++
		d.tried = d.tried[:0]
		wait = min(retryCap, retryBase<<(d.round-1))
	default:
		res, err = r.finish(d.c, d.lastRPC, d.attempts, d.launched)
		return true, res, err
	}
	select {
	case <-d.ctx.Done():
		return true, nil, r.deadline(d.ctx, d.attempts)
	case <-r.clock.After(wait):
	}
	return false, nil, nil
}

// hedgeTimer fires when the one attempt in flight has had the hedge delay
// (nil when no hedge may go).
func (d *doing) hedgeTimer() <-chan time.Time {
	r := d.r
	if d.concurrent && d.hedges < r.hedge.MaxExtra && d.inflight == 1 && d.launched < r.maxAttempts {
		return r.clock.After(r.hedgeDelay(d.c.Class))
	}
	return nil
}

// failed records an attempt that did not end the call.
func (d *doing) failed(o outcome) {
	d.attempts = append(d.attempts, o.attempt())
	if o.err == nil {
		d.lastRPC = &o
	}
	if o.verdict == unsupported {
		d.excluded.add(o.u)
	}
}
