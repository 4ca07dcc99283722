package access

import (
	"context"
	"errors"
	"sync"
)

// errQueueFull: the caller already has max_queue calls waiting.
var errQueueFull = errors.New("too many calls waiting")

// admission runs at most max calls of one network at once. Beyond that
// calls wait, each caller in its own queue, and a freed slot goes to the
// waiting caller with the fewest calls running (the one waiting longest
// among equals). So a caller that floods braid waits behind its own
// calls: another caller's next call gets the next free slot, however
// many the flood has queued. It is work-conserving: one caller alone may
// use every slot.
type admission struct {
	max      int
	maxQueue int
	onWait   func(delta float64) // the waiting gauge

	mu      sync.Mutex
	running int
	seq     uint64
	callers map[string]*caller
	queued  map[*caller]struct{} // callers with waiters
}

// caller is one key's (or client address's) calls on a network.
type caller struct {
	name    string
	running int
	limit   int // the caller's own cap on running calls (0: none)
	queue   []*waiter
}

type waiter struct {
	ch      chan struct{}
	seq     uint64
	granted bool
}

func newAdmission(max, maxQueue int, onWait func(float64)) *admission {
	if onWait == nil {
		onWait = func(float64) {}
	}
	return &admission{max: max, maxQueue: maxQueue, onWait: onWait,
		callers: make(map[string]*caller), queued: make(map[*caller]struct{})}
}

// acquire waits for a slot for who (whose own cap is limit, 0: none) and
// returns the function that gives it back. It fails when ctx ends first or
// who has maxQueue calls waiting already.
func (a *admission) acquire(ctx context.Context, who string, limit int) (func(), error) {
	a.mu.Lock()
	c := a.callers[who]
	if c == nil {
		c = &caller{name: who}
		a.callers[who] = c
	}
	c.limit = limit
	if a.running < a.max && (limit <= 0 || c.running < limit) && len(c.queue) == 0 {
		a.running++
		c.running++
		a.mu.Unlock()
		return a.releaser(c), nil
	}
	if a.maxQueue > 0 && len(c.queue) >= a.maxQueue {
		a.forget(c)
		a.mu.Unlock()
		return nil, errQueueFull
	}
	a.seq++
	w := &waiter{ch: make(chan struct{}), seq: a.seq}
	c.queue = append(c.queue, w)
	a.queued[c] = struct{}{}
	a.mu.Unlock()
	a.onWait(1)
	defer a.onWait(-1)

	select {
	case <-w.ch:
		return a.releaser(c), nil
	case <-ctx.Done():
	}
	a.mu.Lock()
	if w.granted { // granted as ctx ended: pass the slot on
		a.mu.Unlock()
		a.release(c)
		return nil, ctx.Err()
	}
	for i, q := range c.queue {
		if q == w {
			c.queue = append(c.queue[:i], c.queue[i+1:]...)
			break
		}
	}
	if len(c.queue) == 0 {
		delete(a.queued, c)
	}
	a.forget(c)
	a.mu.Unlock()
	return nil, ctx.Err()
}

func (a *admission) releaser(c *caller) func() {
	var once sync.Once
	return func() { once.Do(func() { a.release(c) }) }
}

// release gives back c's slot and hands free slots to waiters.
func (a *admission) release(c *caller) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.running--
	c.running--
	a.grantLocked()
	a.forget(c)
}

// grantLocked gives free slots to the waiting callers with the fewest
// calls running, oldest waiter first among equals.
func (a *admission) grantLocked() {
	for a.running < a.max {
		var best *caller
		for c := range a.queued {
			if c.limit > 0 && c.running >= c.limit {
				continue
			}
			if best == nil || c.running < best.running ||
				(c.running == best.running && c.queue[0].seq < best.queue[0].seq) {
				best = c
			}
		}
		if best == nil {
			return
		}
		w := best.queue[0]
		best.queue = best.queue[1:]
		if len(best.queue) == 0 {
			delete(a.queued, best)
		}
		a.running++
		best.running++
		w.granted = true
		close(w.ch)
	}
}

// forget drops c's entry once it holds and awaits nothing; a.mu is held.
func (a *admission) forget(c *caller) {
	if c.running <= 0 && len(c.queue) == 0 {
		delete(a.callers, c.name)
	}
}

// load reports the calls running and waiting (for tests).
func (a *admission) load() (running, waiting int) {
	a.mu.Lock()
	defer a.mu.Unlock()
	for c := range a.queued {
		waiting += len(c.queue)
	}
	return a.running, waiting
}
