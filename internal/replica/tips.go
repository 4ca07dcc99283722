package replica

import (
	"context"
	"encoding/json"
	"sort"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/braidrpc/braid/internal/block"
)

const (
	// tipFresh is how recent a published tip must be to be read.
	tipFresh = 10 * time.Second
	// tipKeep is how long a tip stays in Redis without a new publish.
	tipKeep = 30 * time.Second
)

// Tip is the tip one replica serves on a network, as it published it at
// At: the network's own served tip (its members in JSON as /status shows
// the network's tip), named by the replica.
type Tip struct {
	Replica string `json:"replica"`
	block.Tip
	At time.Time `json:"at"`
}

// Tips share the tip each replica serves on one network.
type Tips struct {
	l   *Link
	key string
}

// NewTips returns the shared tips of network. They are kept under
// "served" since tips took block.Tip's shape: a replica of an earlier
// version, which reads "tips" and removes what it cannot decode, never
// meets them.
func NewTips(l *Link, network string) *Tips {
	return &Tips{l: l, key: l.Key("served", network)}
}

// Publish shares this replica's tip. Replica is always this Link's ID; a
// zero At means now. The tips vanish after 30 seconds without a publish.
func (t *Tips) Publish(ctx context.Context, tip Tip) error {
	tip.Replica = t.l.ID()
	if tip.At.IsZero() {
		tip.At = t.l.clock.Now()
	}
	b, err := json.Marshal(tip)
	if err != nil {
		return err
	}
	return t.l.Do(ctx, func(ctx context.Context, c *redis.Client) error {
		_, err := c.TxPipelined(ctx, func(p redis.Pipeliner) error {
			p.HSet(ctx, t.key, tip.Replica, b)
			p.PExpire(ctx, t.key, tipKeep)
			return nil
		})
		return err
	})
}

// Read returns every replica's tip published within the last 10 seconds,
// sorted by Replica. Tips gone quiet for longer than 30 seconds are removed.
func (t *Tips) Read(ctx context.Context) ([]Tip, error) {
	now := t.l.clock.Now()
	var out []Tip
	err := t.l.Do(ctx, func(ctx context.Context, c *redis.Client) error {
		all, err := c.HGetAll(ctx, t.key).Result()
		if err != nil {
			return err
		}
		var gone []string
		for field, v := range all {
			var tip Tip
			if json.Unmarshal([]byte(v), &tip) != nil {
				gone = append(gone, field)
				continue
			}
			age := now.Sub(tip.At)
			switch {
			case age > tipKeep:
				gone = append(gone, field)
			case age <= tipFresh:
				out = append(out, tip)
			}
		}
		if len(gone) > 0 {
			// Best effort: a failed clean-up is retried by the next Read.
			_ = c.HDel(ctx, t.key, gone...).Err()
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Replica < out[j].Replica })
	return out, nil
}
