package h1

import (
	"context"
	"sync"
	"sync/atomic"
	"time"
)

// watchAfter is how long a handler runs before its connection is watched
// for the client going away. A quicker call never starts the watching
// goroutine, which is most of what net/http's server spends per request
// beyond this one's.
const watchAfter = 5 * time.Millisecond

// watch ends a request's context when its client goes away while the
// handler still runs: once the handler has run for watchAfter and has
// read the whole body, a goroutine waits for the connection to be
// readable. EOF or an error there cancels the request (and the
// connection then closes); bytes there are the client's next request,
// left in the buffer for it.
type watch struct {
	c     *serverConn
	timer *time.Timer

	mu      sync.Mutex
	cancel  context.CancelFunc
	body    *reqBody
	active  bool // the handler runs
	running bool // the watching goroutine runs
	done    chan struct{}

	ending atomic.Bool // stop is ending the watching goroutine's read
	gone   atomic.Bool // the client went away
}

// start watches one request: cancel ends its context.
func (w *watch) start(cancel context.CancelFunc, body *reqBody) {
	w.mu.Lock()
	w.cancel, w.body, w.active, w.running = cancel, body, true, false
	w.mu.Unlock()
	w.gone.Store(false)
	w.ending.Store(false)
	if w.timer == nil {
		w.timer = time.AfterFunc(watchAfter, w.fire)
		return
	}
	w.timer.Reset(watchAfter)
}

// fire starts the watching goroutine, or looks again later while the
// body is still arriving (the handler reads the connection then).
func (w *watch) fire() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.active || w.running {
		return
	}
	if !w.body.done() {
		w.timer.Reset(watchAfter)
		return
	}
	// No deadline the head or the body was read under ends the watch:
	// set here, under mu, stop's deadline always comes after it. A
	// connection without deadlines could not be stopped: never watched.
	if err := w.c.nc.SetReadDeadline(time.Time{}); err != nil {
		return
	}
	w.running = true
	w.done = make(chan struct{})
	go w.run(w.done, w.cancel)
}

func (w *watch) run(done chan struct{}, cancel context.CancelFunc) {
	defer close(done)
	_, err := w.c.br.Peek(1)
	if err != nil && !w.ending.Load() {
		w.gone.Store(true)
		cancel()
	}
	if saw := w.c.s.watchSaw; saw != nil {
		saw(err)
	}
}

// stop ends the watch once the handler has returned, and reports whether
// the client went away.
func (w *watch) stop() bool {
	w.mu.Lock()
	w.active = false
	running, done := w.running, w.done
	w.mu.Unlock()
	w.timer.Stop()
	if running {
		w.ending.Store(true)
		_ = w.c.nc.SetReadDeadline(aLongTimeAgo)
		<-done
	}
	return w.gone.Load()
}

// release stops the timer for good.
func (w *watch) release() {
	if w.timer != nil {
		w.timer.Stop()
	}
}
