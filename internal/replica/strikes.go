package replica

import (
	"context"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
)

// Strikes count the wrong answers each operator gave, across replicas, and
// share the quarantines they led to.
type Strikes struct {
	l       *Link
	network string
	qkey    string
	seq     atomic.Uint64
}

// NewStrikes returns the shared strikes and quarantines of network.
func NewStrikes(l *Link, network string) *Strikes {
	return &Strikes{l: l, network: network, qkey: l.Key("quarantine", network)}
}

func (s *Strikes) key(operator string) string { return s.l.Key("strikes", s.network, operator) }

// Add records one strike against operator now, drops its strikes older than
// window and returns how many remain, this one included.
func (s *Strikes) Add(ctx context.Context, operator string, window time.Duration) (int, error) {
	now := s.l.clock.Now()
	key := s.key(operator)
	member := s.l.ID() + ":" + strconv.FormatInt(now.UnixNano(), 10) + ":" + strconv.FormatUint(s.seq.Add(1), 10)
	oldest := now.Add(-window).UnixMilli()
	var card *redis.IntCmd
	err := s.l.Do(ctx, func(ctx context.Context, c *redis.Client) error {
		_, err := c.TxPipelined(ctx, func(p redis.Pipeliner) error {
			p.ZAdd(ctx, key, redis.Z{Score: float64(now.UnixMilli()), Member: member})
			p.ZRemRangeByScore(ctx, key, "-inf", "("+strconv.FormatInt(oldest, 10))
			card = p.ZCard(ctx, key)
			p.PExpire(ctx, key, window+expirySlack)
			return nil
		})
		return err
	})
	if err != nil {
		return 0, err
	}
	return int(card.Val()), nil
}

// keepLater stores ARGV[1]'s end ARGV[2] (ms) unless a later one is stored,
// and keeps the hash until a little after the latest end.
//
// KEYS[1] hash; ARGV field, until ms, now ms, slack ms.
var keepLater = redis.NewScript(`
local untilms = ARGV[2]
local cur = redis.call('HGET', KEYS[1], ARGV[1])
if cur and tonumber(cur) and tonumber(cur) > tonumber(untilms) then
  untilms = cur
end
redis.call('HSET', KEYS[1], ARGV[1], untilms)
local want = tonumber(untilms) - tonumber(ARGV[3]) + tonumber(ARGV[4])
if want > 0 and redis.call('PTTL', KEYS[1]) < want then
  redis.call('PEXPIRE', KEYS[1], want)
end
return 1
`)

// Quarantine records operator as quarantined until until; an existing
// later end is kept. An end already past is not recorded.
func (s *Strikes) Quarantine(ctx context.Context, operator string, until time.Time) error {
	now := s.l.clock.Now()
	if !until.After(now) {
		return nil
	}
	return s.l.Do(ctx, func(ctx context.Context, c *redis.Client) error {
		return keepLater.Run(ctx, c, []string{s.qkey},
			operator,
			strconv.FormatInt(until.UnixMilli(), 10),
			strconv.FormatInt(now.UnixMilli(), 10),
			strconv.FormatInt(expirySlack.Milliseconds(), 10),
		).Err()
	})
}

// Quarantines returns the operators quarantined now, with the end of each
// quarantine.
func (s *Strikes) Quarantines(ctx context.Context) (map[string]time.Time, error) {
	var all map[string]string
	err := s.l.Do(ctx, func(ctx context.Context, c *redis.Client) error {
		var err error
		all, err = c.HGetAll(ctx, s.qkey).Result()
		return err
	})
	if err != nil {
		return nil, err
	}
	now := s.l.clock.Now()
	out := make(map[string]time.Time, len(all))
	for op, v := range all {
		ms, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			continue
		}
		if until := time.UnixMilli(ms); until.After(now) {
			out[op] = until
		}
	}
	return out, nil
}

// Reset clears operator's strikes, typically once it has been quarantined.
func (s *Strikes) Reset(ctx context.Context, operator string) error {
	return s.l.Do(ctx, func(ctx context.Context, c *redis.Client) error {
		return c.Del(ctx, s.key(operator)).Err()
	})
}
