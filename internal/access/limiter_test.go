package access

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/braidrpc/braid/internal/await"
	"github.com/braidrpc/braid/internal/clock"
	"github.com/braidrpc/braid/internal/redistest"
)

func rate(id string, rps float64, burst int, cost int64) bucket {
	return bucket{id: id, limit: LimitRPS, rate: rps, burst: burst, cost: cost}
}

func quota(id string, q, cost int64) bucket {
	return bucket{id: id, limit: LimitQuota, quota: q, cost: cost}
}

// limiterCases runs the same checks on a limiter counting in memory and
// on one counting in Redis.
func limiterCases(t *testing.T, newL func(c clock.Clock) *Limiter) {
	ctx := context.Background()
	t.Run("rate", func(t *testing.T) {
		fake := clock.NewFake(start)
		l := newL(fake)
		b := []bucket{rate("k:rate", 2, 3, 1)}
		for i := range 3 {
			if v := l.take(ctx, b); !v.ok {
				t.Fatalf("call %d of a burst of 3 refused: %+v", i+1, v)
			}
		}
		v := l.take(ctx, b)
		if v.ok || v.limit != LimitRPS || v.retry != 500*time.Millisecond || !v.reset.Equal(start.Add(500*time.Millisecond)) {
			t.Fatalf("4th call: %+v, want refused for 500ms", v)
		}
		fake.Advance(499 * time.Millisecond)
		if l.take(ctx, b).ok {
			t.Fatal("passed before its time")
		}
		fake.Advance(time.Millisecond)
		if !l.take(ctx, b).ok {
			t.Fatal("refused once a call's interval passed")
		}
		// A batch of 3 needs the whole burst back: 1.5s at 2 per second.
		fake.Advance(1500 * time.Millisecond)
		if v := l.take(ctx, []bucket{rate("k:rate", 2, 3, 3)}); !v.ok {
			t.Fatalf("a full burst after the bucket refilled: %+v", v)
		}
	})
	t.Run("quota", func(t *testing.T) {
		fake := clock.NewFake(start)
		l := newL(fake)
		for i := range 4 {
			if v := l.take(ctx, []bucket{quota("k:q", 100, 25)}); !v.ok {
				t.Fatalf("call %d within the quota refused: %+v", i+1, v)
			}
		}
		midnight := time.Date(2026, 3, 5, 0, 0, 0, 0, time.UTC)
		v := l.take(ctx, []bucket{quota("k:q", 100, 1)})
		if v.ok || v.limit != LimitQuota || !v.reset.Equal(midnight) || v.retry != 12*time.Hour {
			t.Fatalf("over the quota: %+v, want refused until midnight UTC", v)
		}
		if !l.take(ctx, []bucket{quota("k:q", 100, 0)}).ok {
			t.Fatal("a free call refused with the quota spent")
		}
		fake.Advance(12 * time.Hour)
		if v := l.take(ctx, []bucket{quota("k:q", 100, 100)}); !v.ok {
			t.Fatalf("a new day: %+v", v)
		}
	})
	t.Run("all or nothing", func(t *testing.T) {
		fake := clock.NewFake(start)
		l := newL(fake)
		both := []bucket{quota("k:a", 10, 6), {id: "c:x", limit: LimitClientQuota, quota: 10, cost: 6}}
		if !l.take(ctx, both).ok {
			t.Fatal("first take refused")
		}
		if v := l.take(ctx, []bucket{quota("k:b", 10, 6), {id: "c:x", limit: LimitClientQuota, quota: 10, cost: 6}}); v.ok || v.limit != LimitClientQuota {
			t.Fatalf("second take: %+v, want the client's quota to refuse", v)
		}
		// k:b took nothing from the refused take: its whole quota is left.
		if v := l.take(ctx, []bucket{quota("k:b", 10, 10)}); !v.ok {
			t.Fatalf("a refused take charged the buckets that had room: %+v", v)
		}
	})
}

func TestLimiterLocal(t *testing.T) {
	limiterCases(t, func(c clock.Clock) *Limiter { return newLimiter(nil, c, nil, nil) })
}

func TestLimiterRedis(t *testing.T) {
	srv := redistest.Start(t)
	link := newLink(t, srv.URL())
	var logs logBuf
	// The cases use buckets of their own, so they share the server.
	limiterCases(t, func(c clock.Clock) *Limiter { return newLimiter(link, c, logs.logger(), nil) })
	if !link.Up() || logs.count("WARN") > 0 {
		t.Fatalf("the cases did not all run in Redis:\n%s", logs.String())
	}
}

// TestLimiterShared: two replicas (two links) on one Redis enforce one
// limit between them.
func TestLimiterShared(t *testing.T) {
	srv := redistest.Start(t)
	fake := clock.NewFake(start)
	a := newLimiter(newLink(t, srv.URL()), fake, nil, nil)
	b := newLimiter(newLink(t, srv.URL()), fake, nil, nil)
	ctx := context.Background()
	passed := 0
	for i := range 20 {
		l := a
		if i%2 == 1 {
			l = b
		}
		if l.take(ctx, []bucket{rate("k:shared", 1, 5, 1), quota("k:shared", 1000, 10)}).ok {
			passed++
		}
	}
	if passed != 5 {
		t.Errorf("%d of 20 calls passed through two replicas, want the one burst of 5", passed)
	}
	// The quota is shared too: 5 × 10 credits spent, 950 left.
	if v := a.take(ctx, []bucket{quota("k:shared", 1000, 950)}); !v.ok {
		t.Fatalf("the rest of the quota: %+v", v)
	}
	if v := b.take(ctx, []bucket{quota("k:shared", 1000, 1)}); v.ok {
		t.Fatal("the other replica passed a call over the shared quota")
	}
}

// TestLimiterRedisLoss: with Redis gone, limits are counted locally (the
// whole limit on each replica) with one WARN however many calls come,
// and shared again with one INFO when Redis is back.
func TestLimiterRedisLoss(t *testing.T) {
	srv := redistest.Start(t)
	var logs logBuf
	fake := clock.NewFake(start)
	l := newLimiter(newLink(t, srv.URL()), fake, logs.logger(), newMetrics(nil))
	ctx := context.Background()
	b := []bucket{rate("k:loss", 1, 3, 1)}
	if !l.take(ctx, b).ok || !l.take(ctx, b).ok {
		t.Fatal("refused within the burst")
	}
	srv.Stop()
	passed := 0
	for range 10 {
		if l.take(ctx, b).ok {
			passed++
		}
	}
	if passed != 3 {
		t.Errorf("%d calls passed locally, want the full burst of 3 (local counting starts afresh)", passed)
	}
	if !l.Local() {
		t.Error("Local() = false with Redis down")
	}
	if n := logs.count("level=WARN msg=\"limits: redis unreachable"); n != 1 {
		t.Errorf("%d WARN lines for one outage, want 1:\n%s", n, logs.String())
	}
	srv.Restart()
	await.Until(t, "limits shared again after Redis came back", func() bool { l.take(ctx, b); return !l.Local() })
	if n := logs.count("level=INFO msg=\"limits: redis reachable again"); n != 1 {
		t.Errorf("%d INFO lines for the recovery, want 1:\n%s", n, logs.String())
	}
	if n := logs.count("level=WARN"); n != 1 {
		t.Errorf("%d WARN lines in all, want 1", n)
	}
}

// TestLocalBucketsBounded: a flood of client addresses does not grow
// memory without bound.
func TestLocalBucketsBounded(t *testing.T) {
	lb := newLocalBuckets()
	for i := range maxLocalBuckets + 1000 {
		lb.take([]bucket{quota("c:"+strconv.Itoa(i), 100, 1)}, start)
	}
	if n := lb.size(); n > maxLocalBuckets {
		t.Errorf("%d buckets held, bound %d", n, maxLocalBuckets)
	}
}
