package replica

import (
	"context"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
)

// Members counts the live replicas. Each replica heartbeats into one sorted
// set scored by the time of its last round; members silent for three periods
// are dropped.
type Members struct {
	l     *Link
	every time.Duration
	key   string
	count atomic.Int64

	mu       sync.Mutex
	onChange []func(n int)
}

// NewMembers returns the membership of l's replica, heartbeating every
// period (e.g. one second) once Run is called.
func NewMembers(l *Link, every time.Duration) *Members {
	if every <= 0 {
		every = time.Second
	}
	m := &Members{l: l, every: every, key: l.Key("members")}
	m.count.Store(1)
	return m
}

// Run heartbeats every period until ctx ends, then removes this replica
// from the set (best effort).
func (m *Members) Run(ctx context.Context) {
	defer m.leave()
	for {
		m.round(ctx)
		select {
		case <-ctx.Done():
			return
		case <-m.l.clock.After(m.every):
		}
	}
}

// Count is the number of live replicas, this one included: 1 before the
// first successful round, and the last known value while Redis is down.
func (m *Members) Count() int { return int(m.count.Load()) }

// OnChange registers fn to run, on Run's goroutine, whenever Count changes.
func (m *Members) OnChange(fn func(n int)) {
	m.mu.Lock()
	m.onChange = append(m.onChange, fn)
	m.mu.Unlock()
}

// round refreshes this replica's heartbeat, drops the silent ones and
// counts the rest.
func (m *Members) round(ctx context.Context) {
	now := m.l.clock.Now()
	stale := now.Add(-3 * m.every).UnixMilli()
	var card *redis.IntCmd
	err := m.l.Do(ctx, func(ctx context.Context, c *redis.Client) error {
		_, err := c.TxPipelined(ctx, func(p redis.Pipeliner) error {
			p.ZAdd(ctx, m.key, redis.Z{Score: float64(now.UnixMilli()), Member: m.l.ID()})
			p.ZRemRangeByScore(ctx, m.key, "-inf", "("+strconv.FormatInt(stale, 10))
			card = p.ZCard(ctx, m.key)
			// The set outlives its last member by a little, then goes.
			p.PExpire(ctx, m.key, 10*m.every)
			return nil
		})
		return err
	})
	if err != nil {
		return
	}
	n := card.Val()
	if n < 1 {
		n = 1
	}
	if old := m.count.Swap(n); old != n {
		m.mu.Lock()
		fns := append([]func(int){}, m.onChange...)
		m.mu.Unlock()
		for _, fn := range fns {
			fn(int(n))
		}
	}
}

// leave removes this replica from the set.
func (m *Members) leave() {
	_ = m.l.Do(context.Background(), func(ctx context.Context, c *redis.Client) error {
		return c.ZRem(ctx, m.key, m.l.ID()).Err()
	})
}
