package merge

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/braidrpc/braid/internal/await"
)

// Identical calls at the same time share one fetch; a caller that leaves
// stops waiting at once and the others still get the answer.
func TestOneFetchForIdenticalCalls(t *testing.T) {
	var g Group[string]
	var fetches atomic.Int32
	release := make(chan struct{})
	fetch := func(ctx context.Context) (string, error) {
		fetches.Add(1)
		select {
		case <-release:
			return "answer", nil
		case <-ctx.Done():
			return "", ctx.Err()
		}
	}
	leaving, leave := context.WithCancel(context.Background())
	left := make(chan error, 1)
	go func() {
		_, err := g.Do(leaving, "k", time.Minute, fetch)
		left <- err
	}()
	await.Until(t, "the first caller's flight", func() bool { return g.Waiting() == 1 })
	var wg sync.WaitGroup
	got := make(chan string, 2)
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			v, err := g.Do(context.Background(), "k", time.Minute, fetch)
			if err != nil {
				t.Error(err)
			}
			got <- v
		}()
	}
	await.Until(t, "three callers on one flight", func() bool { return g.Waiting() == 3 })
	leave()
	if err := <-left; !errors.Is(err, context.Canceled) {
		t.Fatalf("the caller that left got %v", err)
	}
	close(release)
	wg.Wait()
	close(got)
	for v := range got {
		if v != "answer" {
			t.Fatalf("a caller that stayed got %q", v)
		}
	}
	if n := fetches.Load(); n != 1 {
		t.Fatalf("%d fetches for identical calls", n)
	}
	await.Until(t, "the flight landed", func() bool { return g.Waiting() == 0 })
	if v, err := g.Do(context.Background(), "k", time.Minute, func(context.Context) (string, error) { return "again", nil }); v != "again" || err != nil {
		t.Fatalf("a later call got %q, %v: it should start its own flight", v, err)
	}
}

// The fetch's deadline is its own, not the first caller's.
func TestFetchHasItsOwnDeadline(t *testing.T) {
	var g Group[int]
	_, err := g.Do(context.Background(), "k", time.Nanosecond, func(ctx context.Context) (int, error) {
		<-ctx.Done()
		return 0, ctx.Err()
	})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("got %v, want the fetch's own deadline", err)
	}
}
