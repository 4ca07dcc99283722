package replica

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/braidrpc/braid/internal/await"
	"github.com/braidrpc/braid/internal/redistest"
)

const beat = 100 * time.Millisecond

func runMembers(t *testing.T, m *Members) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { m.Run(ctx); close(done) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			select {
			case <-done:
			case <-time.After(10 * time.Second):
				t.Error("Members.Run did not stop")
			}
		})
	}
	t.Cleanup(stop)
	return stop
}

func TestMembers(t *testing.T) {
	srv := redistest.Start(t)
	la := newLink(t, srv.URL(), nil, nil)
	lb := newLink(t, srv.URL(), nil, nil)
	lc := newLink(t, srv.URL(), nil, nil)
	a, b, c := NewMembers(la, beat), NewMembers(lb, beat), NewMembers(lc, beat)
	if a.Count() != 1 {
		t.Fatalf("Count before the first round = %d, want 1", a.Count())
	}
	var mu sync.Mutex
	var seen []int
	a.OnChange(func(n int) { mu.Lock(); seen = append(seen, n); mu.Unlock() })

	runMembers(t, a)
	stopB := runMembers(t, b)
	stopC := runMembers(t, c)
	for _, m := range []*Members{a, b, c} {
		await.Within(t, 10*time.Second, "Count 3", func() bool { return m.Count() == 3 })
	}

	// c crashes: its link dies first, so it cannot say goodbye, and the
	// others drop it once it has been silent for three periods.
	lc.Close()
	stopC()
	await.Within(t, 10*time.Second, "both counts 2 after a crash", func() bool { return a.Count() == 2 && b.Count() == 2 })

	// b leaves cleanly.
	stopB()
	await.Within(t, 10*time.Second, "Count 1 after b left", func() bool { return a.Count() == 1 })

	mu.Lock()
	defer mu.Unlock()
	if len(seen) == 0 || seen[len(seen)-1] != 1 {
		t.Fatalf("OnChange saw %v, want it to end at 1", seen)
	}
	for _, n := range seen {
		if n < 1 || n > 3 {
			t.Fatalf("OnChange saw %v", seen)
		}
	}
}

func TestMembersKeepCountWhileDown(t *testing.T) {
	srv := redistest.Start(t)
	la := newLink(t, srv.URL(), nil, nil)
	lb := newLink(t, srv.URL(), nil, nil)
	a, b := NewMembers(la, beat), NewMembers(lb, beat)
	runMembers(t, a)
	runMembers(t, b)
	await.Within(t, 10*time.Second, "Count 2", func() bool { return a.Count() == 2 })

	srv.Stop()
	await.Within(t, 10*time.Second, "link a down", func() bool { return !la.Up() })
	time.Sleep(5 * beat) // rounds fail meanwhile
	if a.Count() != 2 {
		t.Fatalf("Count = %d while Redis is down, want the last known 2", a.Count())
	}

	// Redis comes back empty; the heartbeats fill it again.
	srv.Restart()
	await.Within(t, 10*time.Second, "the membership rebuilt after restart", func() bool {
		return la.c.ZCard(context.Background(), "braid:members").Val() == 2 && a.Count() == 2
	})
}
