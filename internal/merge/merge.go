// Package merge lets identical calls in flight share one fetch: the
// executor's merge step (package gateway), with or without the cache.
//
// The first caller runs the fetch itself, in its own goroutine, on a
// deadline of the fetch's own and detached from the caller's
// cancellation: a fetch handed to another goroutine costs two goroutine
// hand-offs a call (a wake-up each when the machine is idle), which at one
// connection was most of the merge step's cost. A caller that leaves does
// not fail the others: when the caller running the fetch leaves while
// others wait on it, the fetch starts again on a goroutine of its own for
// them and the leaving caller's run is cancelled; when nobody else waits,
// the fetch is cancelled and the next identical call starts its own. Every
// caller stops waiting when its own context ends (the one running the
// fetch once the fetch has seen its cancellation).
package merge

import (
	"context"
	"sync"
	"time"
)

// Group is the fetches in flight, by key. The zero Group is ready.
type Group[T any] struct {
	mu sync.Mutex
	m  map[string]*flight[T]
}

// flight is one fetch that every identical call waiting on it shares.
type flight[T any] struct {
	done    chan struct{} // closed when v and err are set
	v       T
	err     error
	callers int
	// landed: done is closed. handedOff: the caller that started the
	// fetch left and another goroutine runs it for the others.
	landed, handedOff bool
}

// Do runs fn once for every caller asking for key at the same time, on a
// context detached from ctx with timeout as its deadline, and returns its
// answer to each; a caller whose ctx ends gets ctx.Err().
func (g *Group[T]) Do(ctx context.Context, key string, timeout time.Duration, fn func(context.Context) (T, error)) (T, error) {
	f, first := g.join(key)
	if first {
		return g.run(ctx, key, f, timeout, fn)
	}
	select {
	case <-ctx.Done():
		var zero T
		return zero, ctx.Err()
	case <-f.done:
		return f.v, f.err
	}
}

// run is the first caller's part: it fetches for everyone on f.
func (g *Group[T]) run(ctx context.Context, key string, f *flight[T], timeout time.Duration, fn func(context.Context) (T, error)) (T, error) {
	fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), timeout)
	defer cancel()
	stop := context.AfterFunc(ctx, func() {
		g.leave(ctx, key, f, timeout, fn)
		cancel()
	})
	v, err := fn(fctx)
	stop()
	g.mu.Lock()
	mine := !f.handedOff
	if mine {
		f.v, f.err = v, err
		g.landLocked(key, f)
	}
	g.mu.Unlock()
	if mine {
		close(f.done)
	}
	if ctx.Err() != nil {
		var zero T
		return zero, ctx.Err()
	}
	return v, err
}

// leave is the first caller's context ending while it fetches: when
// others wait on f, the fetch starts again for them on a goroutine of its
// own; when none does, f leaves the table so that the next identical call
// starts afresh (the cancelled fetch's answer reaches nobody).
func (g *Group[T]) leave(ctx context.Context, key string, f *flight[T], timeout time.Duration, fn func(context.Context) (T, error)) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if f.landed || f.handedOff {
		return
	}
	if f.callers == 1 {
		if g.m[key] == f {
			delete(g.m, key)
		}
		return
	}
	f.handedOff = true
	go func() {
		fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), timeout)
		defer cancel()
		v, err := fn(fctx)
		g.mu.Lock()
		f.v, f.err = v, err
		g.landLocked(key, f)
		g.mu.Unlock()
		close(f.done)
	}()
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

// landLocked ends f (g.mu held; the caller closes f.done after
// unlocking): later calls start a flight of their own.
func (g *Group[T]) landLocked(key string, f *flight[T]) {
	f.landed = true
	if g.m[key] == f {
		delete(g.m, key)
	}
}

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
