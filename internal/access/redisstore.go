package access

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/braidrpc/braid/internal/replica"
)

// RedisStore keeps keys in the Redis the replicas share: a hash
// {prefix}:keys from key hash to record (JSON), and a counter
// {prefix}:keys:version that every change increments, which replicas poll.
// Neither expires.
type RedisStore struct {
	l       *replica.Link
	hash    string
	version string
}

var _ Store = (*RedisStore)(nil)

// NewRedisStore returns the store on l.
func NewRedisStore(l *replica.Link) *RedisStore {
	return &RedisStore{l: l, hash: l.Key("keys"), version: l.Key("keys", "version")}
}

// Kind is "redis".
func (s *RedisStore) Kind() string { return "redis" }

// Version reads the change counter ("0" before the first key).
func (s *RedisStore) Version(ctx context.Context) (string, error) {
	var v string
	err := s.l.Do(ctx, func(ctx context.Context, c *redis.Client) error {
		var err error
		v, err = c.Get(ctx, s.version).Result()
		return err
	})
	if errors.Is(err, redis.Nil) {
		return "0", nil
	}
	return v, err
}

// List reads every record; one that is not JSON is skipped (the Keyring
// checks the rest).
func (s *RedisStore) List(ctx context.Context) ([]Record, error) {
	var all map[string]string
	err := s.l.Do(ctx, func(ctx context.Context, c *redis.Client) error {
		var err error
		all, err = c.HGetAll(ctx, s.hash).Result()
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("keys in redis: %w", err)
	}
	out := make([]Record, 0, len(all))
	for _, v := range all {
		var r Record
		if json.Unmarshal([]byte(v), &r) == nil {
			out = append(out, r)
		}
	}
	return out, nil
}

// Add stores r, unless an active key has its name (checked and written in
// one transaction: two concurrent adds of one name cannot both succeed).
func (s *RedisStore) Add(ctx context.Context, r Record) error {
	b, err := json.Marshal(r)
	if err != nil {
		return err
	}
	return s.update(ctx, func(records []Record, p redis.Pipeliner) error {
		if nameTaken(records, r.Name) {
			return fmt.Errorf("%q: %w", r.Name, ErrNameTaken)
		}
		p.HSet(ctx, s.hash, r.Hash, b)
		return nil
	})
}

// Revoke marks the key which names as revoked.
func (s *RedisStore) Revoke(ctx context.Context, which string, at time.Time) (Record, error) {
	var out Record
	err := s.update(ctx, func(records []Record, p redis.Pipeliner) error {
		i, err := findActive(records, which)
		if err != nil {
			return err
		}
		at := at.UTC()
		out = records[i]
		out.Revoked = &at
		b, err := json.Marshal(out)
		if err != nil {
			return err
		}
		p.HSet(ctx, s.hash, out.Hash, b)
		return nil
	})
	return out, err
}

// maxUpdateTries bounds how often update tries again after a concurrent
// change: each round has a winner, so this many `braid keys` commands
// may run at once.
const maxUpdateTries = 100

// update reads the records under WATCH, lets change queue its writes, and
// commits them with a version increment; a concurrent change makes it try
// again.
func (s *RedisStore) update(ctx context.Context, change func([]Record, redis.Pipeliner) error) error {
	var lastErr error
	for range maxUpdateTries {
		lastErr = s.l.Do(ctx, func(ctx context.Context, c *redis.Client) error {
			return c.Watch(ctx, func(tx *redis.Tx) error {
				all, err := tx.HGetAll(ctx, s.hash).Result()
				if err != nil {
					return err
				}
				records := make([]Record, 0, len(all))
				for _, v := range all {
					var r Record
					if json.Unmarshal([]byte(v), &r) == nil {
						records = append(records, r)
					}
				}
				_, err = tx.TxPipelined(ctx, func(p redis.Pipeliner) error {
					if err := change(records, p); err != nil {
						return err
					}
					p.Incr(ctx, s.version)
					return nil
				})
				return err
			}, s.hash)
		})
		if !errors.Is(lastErr, redis.TxFailedErr) {
			return lastErr
		}
	}
	return lastErr
}
