package replica

import (
	"context"
	"testing"
	"time"

	"github.com/braidrpc/braid/internal/await"
	"github.com/braidrpc/braid/internal/redistest"
)

// The shared cache is what the gateway's answer cache plugs into.
var _ interface {
	Get(ctx context.Context, key string) ([]byte, bool)
	Set(ctx context.Context, key string, val []byte, ttl time.Duration)
} = (*Cache)(nil)

func TestCacheAcrossReplicas(t *testing.T) {
	srv := redistest.Start(t)
	a := NewCache(newLink(t, srv.URL(), nil, nil), "eth")
	b := NewCache(newLink(t, srv.URL(), nil, nil), "eth")
	other := NewCache(newLink(t, srv.URL(), nil, nil), "base")
	ctx := context.Background()

	if _, ok := b.Get(ctx, "k"); ok {
		t.Fatal("hit on an empty cache")
	}
	a.Set(ctx, "k", []byte("answer"), 0)
	if v, ok := b.Get(ctx, "k"); !ok || string(v) != "answer" {
		t.Fatalf("Get = %q, %v; want the other replica's answer", v, ok)
	}
	if _, ok := other.Get(ctx, "k"); ok {
		t.Fatal("namespaces share keys")
	}
	if got := a.l.c.Exists(ctx, "braid:cache:eth:k").Val(); got != 1 {
		t.Fatalf("key braid:cache:eth:k not stored (EXISTS = %d)", got)
	}
	if ttl := a.l.c.PTTL(ctx, "braid:cache:eth:k").Val(); ttl != -1 {
		t.Fatalf("ttl 0 stored with PTTL %v, want none", ttl)
	}

	// A caller that has already gone still gets its answer stored.
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	a.Set(cctx, "late", []byte("x"), time.Minute)
	if _, ok := b.Get(ctx, "late"); !ok {
		t.Fatal("Set with a cancelled context stored nothing")
	}

	a.Set(ctx, "gone", []byte("x"), -time.Second)
	if _, ok := b.Get(ctx, "gone"); ok {
		t.Fatal("negative ttl stored a value")
	}
}

func TestCacheTTL(t *testing.T) {
	srv := redistest.Start(t)
	c := NewCache(newLink(t, srv.URL(), nil, nil), "eth")
	ctx := context.Background()
	c.Set(ctx, "k", []byte("v"), 1500*time.Millisecond)
	ttl := c.l.c.PTTL(ctx, "braid:cache:eth:k").Val()
	if ttl <= 0 || ttl > 1500*time.Millisecond {
		t.Fatalf("PTTL = %v, want in (0, 1.5s]", ttl)
	}
	if _, ok := c.Get(ctx, "k"); !ok {
		t.Fatal("miss right after Set")
	}
	await.Within(t, 10*time.Second, "the value to expire", func() bool { _, ok := c.Get(ctx, "k"); return !ok })
}

func TestCacheMissWhenDown(t *testing.T) {
	srv := redistest.Start(t)
	c := NewCache(newLink(t, srv.URL(), nil, nil), "eth")
	ctx := context.Background()
	c.Set(ctx, "k", []byte("v"), 0)
	srv.Stop()
	for range 3 {
		if _, ok := c.Get(ctx, "k"); ok {
			t.Fatal("hit while Redis is down")
		}
		c.Set(ctx, "k2", []byte("v"), 0) // dropped, never blocks for long
	}
	if c.l.Up() {
		t.Fatal("link up while Redis is down")
	}
}
