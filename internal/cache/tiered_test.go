package cache

import (
	"context"
	"testing"
	"time"
)

// fakeShared is a shared store that can be switched off, as a Redis that
// went away reports misses and drops writes.
type fakeShared struct {
	m    map[string][]byte
	down bool
	gets int
}

func (f *fakeShared) Get(_ context.Context, key string) ([]byte, bool) {
	f.gets++
	if f.down {
		return nil, false
	}
	v, ok := f.m[key]
	return v, ok
}

func (f *fakeShared) Set(_ context.Context, key string, val []byte, _ time.Duration) {
	if !f.down {
		f.m[key] = val
	}
}

func TestTiered(t *testing.T) {
	ctx := context.Background()
	shared := &fakeShared{m: map[string][]byte{}}
	a := NewTiered(NewMemory(MemoryOptions{MaxBytes: 1 << 20}), shared, time.Minute)
	b := NewTiered(NewMemory(MemoryOptions{MaxBytes: 1 << 20}), shared, time.Minute)

	a.Set(ctx, "k", []byte("v"), 0)
	if v, ok := b.Get(ctx, "k"); !ok || string(v) != "v" {
		t.Fatalf("replica b did not see a's answer: %q %v", v, ok)
	}
	gets := shared.gets
	if _, ok := b.Get(ctx, "k"); !ok || shared.gets != gets {
		t.Fatal("the second read did not come from b's local copy")
	}

	shared.down = true
	b.Set(ctx, "k2", []byte("v2"), 0)
	if v, ok := b.Get(ctx, "k2"); !ok || string(v) != "v2" {
		t.Fatal("with the shared store down, b lost its own answer")
	}
	if _, ok := a.Get(ctx, "k2"); ok {
		t.Fatal("a saw an answer written while the shared store was down")
	}
	shared.down = false
	a.Set(ctx, "k3", []byte("v3"), 0)
	if _, ok := b.Get(ctx, "k3"); !ok {
		t.Fatal("sharing did not resume")
	}
}

// TestTieredStats: a tiered store counts what this process holds, its
// memory tier.
func TestTieredStats(t *testing.T) {
	mem := NewMemory(MemoryOptions{MaxBytes: 1 << 20})
	tiered := NewTiered(mem, NewMemory(MemoryOptions{MaxBytes: 1 << 20}), time.Minute)
	tiered.Set(context.Background(), "k", []byte("answer"), 0)
	if got, want := tiered.Stats(), mem.Stats(); got.Entries != 1 || got != want {
		t.Fatalf("tiered stats %+v, memory tier's %+v", got, want)
	}
}
