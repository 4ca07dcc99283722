package cache

import (
	"context"
	"time"
)

// Tiered puts a local store in front of a shared one (memory in front of
// the Redis the replicas share): reads try the local store first and fill
// it from the shared one; writes go to both. When the shared store is
// unreachable it reports misses and drops writes, so each replica carries
// on with its local store alone.
type Tiered struct {
	local, shared Store
	fill          time.Duration
}

var _ Store = (*Tiered)(nil)

// NewTiered returns local in front of shared. An answer found only in
// shared is kept locally for at most fill, so that the local copy never
// outlives the shared one by much.
func NewTiered(local, shared Store, fill time.Duration) *Tiered {
	return &Tiered{local: local, shared: shared, fill: fill}
}

// Stats returns the local store's counters (zero unless it is a
// *Memory): what this process holds.
func (t *Tiered) Stats() MemoryStats {
	if m, ok := t.local.(*Memory); ok {
		return m.Stats()
	}
	return MemoryStats{}
}

// Get returns the local value, else the shared one.
func (t *Tiered) Get(ctx context.Context, key string) ([]byte, bool) {
	if v, ok := t.local.Get(ctx, key); ok {
		return v, true
	}
	v, ok := t.shared.Get(ctx, key)
	if ok {
		t.local.Set(ctx, key, v, t.fill)
	}
	return v, ok
}

// Set stores val in both stores for ttl.
func (t *Tiered) Set(ctx context.Context, key string, val []byte, ttl time.Duration) {
	t.local.Set(ctx, key, val, ttl)
	t.shared.Set(ctx, key, val, ttl)
}
