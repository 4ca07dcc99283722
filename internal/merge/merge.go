// Package merge lets identical calls in flight share one fetch: the
// executor's merge step (package gateway), with or without the cache.
// The fetch runs on its own deadline, detached from whichever caller
// started it, so one caller leaving does not fail the others; each caller
// still stops waiting when its own context ends. Fetches run on workers
// kept between fetches (workers.go), not a goroutine started per call.
package merge

import (
	"context"
	"sync"
	"time"
)

// Group is the fetches in flight, by key. The zero Group is ready.
type Group[T any] struct {
	mu      sync.Mutex
	m       map[string]*flight[T]
	workers workers // run the fetches
}

// flight is one fetch that every identical call waiting on it shares.
type flight[T any] struct {
	done    chan struct{} // closed when v and err are set
	v       T
	err     error
	callers int
}

// Do runs fn once for every caller asking for key at the same time, on a
// context detached from ctx with timeout as its deadline, and returns its
// answer to each; a caller whose ctx ends gets ctx.Err() at once.
func (g *Group[T]) Do(ctx context.Context, key string, timeout time.Duration, fn func(context.Context) (T, error)) (T, error) {
	f, first := g.join(key)
	if first {
		g.workers.run(func() {
			fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), timeout)
			defer cancel()
			f.v, f.err = fn(fctx)
			g.land(key, f)
		})
	}
	select {
	case <-ctx.Done():
		var zero T
		return zero, ctx.Err()
	case <-f.done:
		return f.v, f.err
	}
}

// join returns the flight for key, first when the caller must start it.
func (g *Group[T]) join(key string) (f *flight[T], first bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if f := g.m[key]; f != nil {
		f.callers++
		return f, false
	}
	if g.m == nil {
		g.m = make(map[string]*flight[T])
	}
	f = &flight[T]{done: make(chan struct{}), callers: 1}
	g.m[key] = f
	return f, true
}

// land ends f: later calls start a flight of their own.
func (g *Group[T]) land(key string, f *flight[T]) {
	g.mu.Lock()
	delete(g.m, key)
	g.mu.Unlock()
	close(f.done)
}

// Close ends the idle workers that ran fetches (a fetch running ends
// first); Do still works after it.
func (g *Group[T]) Close() { g.workers.close() }

// Waiting counts the callers of every flight in the air (callers that
// left still count until their flight lands).
func (g *Group[T]) Waiting() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	c := 0
	for _, f := range g.m {
		c += f.callers
	}
	return c
}
