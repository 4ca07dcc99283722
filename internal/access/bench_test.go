package access

import (
	"context"
	"strconv"
	"sync/atomic"
	"testing"

	"github.com/braidrpc/braid/internal/clock"
	"github.com/braidrpc/braid/internal/config"
	"github.com/braidrpc/braid/internal/redistest"
)

// benchBuckets is what one keyed request with per-address limits is
// counted against: the key's rate and quota and the address's.
func benchBuckets(i int) []bucket {
	key, addr := "k:bench"+strconv.Itoa(i%16), "c:10.0.0."+strconv.Itoa(i%250)
	return []bucket{
		{id: key, limit: LimitRPS, rate: 1e9, burst: 1e9, cost: 1},
		{id: key, limit: LimitQuota, quota: 1 << 60, cost: 20},
		{id: addr, limit: LimitClientRPS, rate: 1e9, burst: 1e9, cost: 1},
		{id: addr, limit: LimitClientQuota, quota: 1 << 60, cost: 20},
	}
}

// BenchmarkLimiterLocal: one request's four buckets counted in memory,
// from every CPU at once.
func BenchmarkLimiterLocal(b *testing.B) {
	l := newLimiter(nil, clock.Real{}, nil, nil)
	benchLimiter(b, l)
}

// BenchmarkLimiterRedis: the same through one script call to a local
// redis-server (loopback), from every CPU at once with 16 goroutines per
// CPU, as concurrent requests would.
func BenchmarkLimiterRedis(b *testing.B) {
	srv := redistest.Start(b)
	link := newLinkB(b, srv.URL())
	l := newLimiter(link, clock.Real{}, nil, nil)
	b.SetParallelism(16)
	benchLimiter(b, l)
	if l.Local() {
		b.Fatal("the limiter fell back to memory")
	}
}

func benchLimiter(b *testing.B, l *Limiter) {
	var n atomic.Int64
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if v := l.take(ctx, benchBuckets(int(n.Add(1)))); !v.ok {
				b.Errorf("refused: %+v", v)
				return
			}
		}
	})
}

// BenchmarkIdentify: finding a request's key (hash and lookup) among
// 1000.
func BenchmarkIdentify(b *testing.B) {
	keys := make([]config.APIKey, 1000)
	for i := range keys {
		keys[i] = config.APIKey{Name: "k" + strconv.Itoa(i), Key: NewKey()}
	}
	cfg := config.Default()
	cfg.Keys = keys
	cfg.Networks = []config.Network{{Name: "mainnet"}}
	cfg.ApplyDefaults()
	c, err := New(cfg, Options{})
	if err != nil {
		b.Fatal(err)
	}
	key := keys[500].Key
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if _, ref := c.Identify("mainnet", key, "10.0.0.1"); ref != nil {
			b.Fatal(ref.Err)
		}
	}
}
