package access

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/braidrpc/braid/internal/await"
)

// waitersOf reports when who has n calls waiting.
func waitersOf(a *admission, who string, n int) func() bool {
	return func() bool {
		a.mu.Lock()
		defer a.mu.Unlock()
		c := a.callers[who]
		return c != nil && len(c.queue) == n
	}
}

// TestAdmissionFair: with every slot taken by a greedy caller that has
// many more calls queued, the next freed slot goes to the other caller's
// call, not to the greedy caller's next.
func TestAdmissionFair(t *testing.T) {
	a := newAdmission(2, 100, nil)
	ctx := context.Background()
	var releases []func()
	for range 2 {
		r, err := a.acquire(ctx, "greedy", 0)
		if err != nil {
			t.Fatal(err)
		}
		releases = append(releases, r)
	}
	var order []string
	var mu sync.Mutex
	var wg sync.WaitGroup
	got := func(who string) {
		defer wg.Done()
		r, err := a.acquire(ctx, who, 0)
		if err != nil {
			t.Error(err)
			return
		}
		mu.Lock()
		order = append(order, who)
		mu.Unlock()
		r()
	}
	for range 10 {
		wg.Add(1)
		go got("greedy")
	}
	await.Until(t, "the greedy calls queued", waitersOf(a, "greedy", 10))
	wg.Add(1)
	go got("steady")
	await.Until(t, "the steady call queued", waitersOf(a, "steady", 1))

	// Free one greedy slot: the steady caller has none running, so it
	// goes first although ten greedy calls waited longer.
	releases[0]()
	await.Until(t, "the freed slot taken", func() bool { mu.Lock(); defer mu.Unlock(); return len(order) >= 1 })
	mu.Lock()
	first := order[0]
	mu.Unlock()
	if first != "steady" {
		t.Fatalf("the freed slot went to %s, want steady", first)
	}
	releases[1]()
	wg.Wait()
	if running, waiting := a.load(); running != 0 || waiting != 0 || len(a.callers) != 0 {
		t.Errorf("after all: %d running, %d waiting, %d callers held", running, waiting, len(a.callers))
	}
}

// TestAdmissionCallerCap: a caller at its own cap waits even with slots
// free, and others still get them.
func TestAdmissionCallerCap(t *testing.T) {
	a := newAdmission(10, 100, nil)
	ctx := context.Background()
	r1, _ := a.acquire(ctx, "capped", 1)
	done := make(chan struct{})
	go func() {
		r, err := a.acquire(ctx, "capped", 1)
		if err == nil {
			r()
		}
		close(done)
	}()
	await.Until(t, "a second call under a cap of 1 waiting", waitersOf(a, "capped", 1))
	r2, err := a.acquire(ctx, "other", 0)
	if err != nil {
		t.Fatal("another caller waited for a capped one")
	}
	r2()
	r1()
	<-done
}

func TestAdmissionQueueAndCancel(t *testing.T) {
	a := newAdmission(1, 2, nil)
	hold, _ := a.acquire(context.Background(), "x", 0)
	ctx, cancel := context.WithCancel(context.Background())
	errs := make(chan error, 2)
	for range 2 {
		go func() {
			_, err := a.acquire(ctx, "x", 0)
			errs <- err
		}()
	}
	await.Until(t, "the calls queued", waitersOf(a, "x", 2))
	if _, err := a.acquire(context.Background(), "x", 0); !errors.Is(err, errQueueFull) {
		t.Fatalf("a third waiting call: %v, want errQueueFull", err)
	}
	cancel()
	for range 2 {
		if err := <-errs; !errors.Is(err, context.Canceled) {
			t.Errorf("cancelled waiter: %v", err)
		}
	}
	hold()
	if running, waiting := a.load(); running != 0 || waiting != 0 {
		t.Errorf("%d running, %d waiting after every call ended", running, waiting)
	}
}

// TestAdmissionConcurrent: under many callers at once no more than max
// run together, and every call gets through.
func TestAdmissionConcurrent(t *testing.T) {
	const max = 3
	a := newAdmission(max, 0, nil)
	var running, peak, done atomic.Int64
	var wg sync.WaitGroup
	for i := range 200 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r, err := a.acquire(context.Background(), []string{"a", "b", "c", "d"}[i%4], 0)
			if err != nil {
				t.Error(err)
				return
			}
			n := running.Add(1)
			for {
				p := peak.Load()
				if n <= p || peak.CompareAndSwap(p, n) {
					break
				}
			}
			running.Add(-1)
			done.Add(1)
			r()
		}()
	}
	wg.Wait()
	if peak.Load() > max || done.Load() != 200 {
		t.Errorf("peak %d running (max %d), %d of 200 done", peak.Load(), max, done.Load())
	}
}
