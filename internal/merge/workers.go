package merge

import (
	"sync"
	"sync/atomic"
	"time"
)

// workers run the shared fetches of merged calls (Group.Do). A fetch
// goes deep into net/http: a goroutine started for each would grow its
// stack from the minimum on every call, a few per cent of the hot path's
// CPU. A worker that finished a fetch waits a while for the next one and
// keeps its grown stack. The zero value is ready to use.
type workers struct {
	init sync.Once
	work chan func()
	quit chan struct{}
	stop sync.Once
	// idleFor is how long a worker waits for another fetch before it
	// ends (0: workerIdle). It bounds how long an idle goroutine lingers,
	// never an answer.
	idleFor time.Duration
	// started, live and idle count the workers started, those not ended,
	// and those waiting for work.
	started    atomic.Int64
	live, idle atomic.Int32
}

const workerIdle = 2 * time.Second

func (w *workers) ready() {
	w.init.Do(func() {
		w.work, w.quit = make(chan func()), make(chan struct{})
		if w.idleFor <= 0 {
			w.idleFor = workerIdle
		}
	})
}

// run runs f on an idle worker, or on a new one if none is idle.
func (w *workers) run(f func()) {
	w.ready()
	select {
	case w.work <- f:
	default:
		w.started.Add(1)
		w.live.Add(1)
		go w.loop(f)
	}
}

func (w *workers) loop(f func()) {
	defer w.live.Add(-1)
	t := time.NewTimer(w.idleFor)
	defer t.Stop()
	for {
		f()
		t.Reset(w.idleFor)
		w.idle.Add(1)
		select {
		case f = <-w.work:
			w.idle.Add(-1)
		case <-t.C:
			w.idle.Add(-1)
			return
		case <-w.quit:
			w.idle.Add(-1)
			return
		}
	}
}

// close ends the workers as they become idle (a fetch running ends
// first); run still works after it, on a worker that ends when done.
func (w *workers) close() {
	w.ready()
	w.stop.Do(func() { close(w.quit) })
}
