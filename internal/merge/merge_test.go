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

// Identical calls at the same time share one fetch, run by the first
// caller; when that caller leaves, it stops waiting and the others still
// get the answer, from the fetch started again for them.
func TestOneFetchForIdenticalCalls(t *testing.T) {
	var g Group[string]
	var fetches, cancelled atomic.Int32
	release := make(chan struct{})
	fetch := func(ctx context.Context) (string, error) {
		fetches.Add(1)
		select {
		case <-release:
			return "answer", nil
		case <-ctx.Done():
			cancelled.Add(1)
			return "", ctx.Err()
		}
	}
	leaving, leave := context.WithCancel(context.Background())
	left := make(chan error, 1)
	go func() {
		_, err := g.Do(leaving, "k", time.Minute, fetch)
		left <- err
	}()
	await.Until(t, "the first caller's flight", func() bool { return g.Waiting() == 1 && fetches.Load() == 1 })
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
	if n := fetches.Load(); n != 1 {
		t.Fatalf("%d fetches for identical calls", n)
	}
	leave()
	if err := <-left; !errors.Is(err, context.Canceled) {
		t.Fatalf("the caller that left got %v", err)
	}
	await.Until(t, "the fetch started again for the others", func() bool { return fetches.Load() == 2 })
	if n := cancelled.Load(); n != 1 {
		t.Fatalf("%d fetches cancelled, want the leaving caller's", n)
	}
	close(release)
	wg.Wait()
	close(got)
	for v := range got {
		if v != "answer" {
			t.Fatalf("a caller that stayed got %q", v)
		}
	}
	await.Until(t, "the flight landed", func() bool { return g.Waiting() == 0 })
	if v, err := g.Do(context.Background(), "k", time.Minute, func(context.Context) (string, error) { return "again", nil }); v != "again" || err != nil {
		t.Fatalf("a later call got %q, %v: it should start its own flight", v, err)
	}
}

// A caller that leaves while it runs the fetch for itself alone cancels
// it; an identical call after that starts its own fetch instead of
// sharing the cancelled one's answer.
func TestALoneCallerLeavingCancelsItsFetch(t *testing.T) {
	var g Group[string]
	started := make(chan struct{})
	leaving, leave := context.WithCancel(context.Background())
	left := make(chan error, 1)
	go func() {
		_, err := g.Do(leaving, "k", time.Minute, func(ctx context.Context) (string, error) {
			close(started)
			<-ctx.Done()
			return "", ctx.Err()
		})
		left <- err
	}()
	<-started
	leave()
	if err := <-left; !errors.Is(err, context.Canceled) {
		t.Fatalf("the caller that left got %v", err)
	}
	v, err := g.Do(context.Background(), "k", time.Minute, func(context.Context) (string, error) { return "fresh", nil })
	if v != "fresh" || err != nil {
		t.Fatalf("a later call got %q, %v", v, err)
	}
}

// A caller that joined a flight and leaves stops waiting; the fetch goes
// on, once, for the caller running it.
func TestAJoinedCallerLeaving(t *testing.T) {
	var g Group[string]
	var fetches atomic.Int32
	release := make(chan struct{})
	fetch := func(ctx context.Context) (string, error) {
		fetches.Add(1)
		<-release
		return "answer", nil
	}
	first := make(chan string, 1)
	go func() {
		v, _ := g.Do(context.Background(), "k", time.Minute, fetch)
		first <- v
	}()
	await.Until(t, "the first caller's flight", func() bool { return g.Waiting() == 1 })
	leaving, leave := context.WithCancel(context.Background())
	left := make(chan error, 1)
	go func() {
		_, err := g.Do(leaving, "k", time.Minute, fetch)
		left <- err
	}()
	await.Until(t, "two callers on it", func() bool { return g.Waiting() == 2 })
	leave()
	if err := <-left; !errors.Is(err, context.Canceled) {
		t.Fatalf("the caller that left got %v", err)
	}
	close(release)
	if v := <-first; v != "answer" || fetches.Load() != 1 {
		t.Fatalf("the first caller got %q after %d fetches", v, fetches.Load())
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
