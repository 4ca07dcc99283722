package replica

import (
	"context"
	"time"

	"github.com/braidrpc/braid/internal/cache"
	"github.com/redis/go-redis/v9"
)

// Cache is the answer store the replicas share. It never fails: an error or
// an unreachable Redis is a miss on Get and a dropped write on Set, and the
// caller falls back to its own memory.
type Cache struct {
	l  *Link
	ns string
}

// NewCache returns the shared cache for namespace; its keys are
// l.Key("cache", namespace, key).
func NewCache(l *Link, namespace string) *Cache { return &Cache{l: l, ns: namespace} }

// Get returns the value stored under key, or false when there is none or
// Redis cannot tell.
func (c *Cache) Get(ctx context.Context, key string) ([]byte, bool) {
	var val []byte
	err := c.l.Do(ctx, func(ctx context.Context, rc *redis.Client) error {
		b, err := rc.Get(ctx, c.key(key)).Bytes()
		val = b
		return err
	})
	if err != nil {
		return nil, false
	}
	return val, true
}

// Set stores val under key for ttl; a zero ttl keeps it until evicted and a
// negative one stores nothing. Errors are dropped. The write outlives the
// caller's cancellation but never blocks it longer than the link's Timeout.
func (c *Cache) Set(ctx context.Context, key string, val []byte, ttl time.Duration) {
	if ttl < 0 {
		return
	}
	_ = c.l.Do(context.WithoutCancel(ctx), func(ctx context.Context, rc *redis.Client) error {
		return rc.Set(ctx, c.key(key), val, ttl).Err()
	})
}

func (c *Cache) key(key string) string { return c.l.Key("cache", c.ns, key) }

var _ cache.Store = (*Cache)(nil)
