package replica

import (
	"context"
	"errors"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// expirySlack is how long a shared signal's hash outlives the latest Until
// written into it.
const expirySlack = 5 * time.Second

// Throttle is a rate limit one replica met at an upstream: every replica
// keeps that upstream to Rate requests per second until Until.
type Throttle struct {
	Rate  float64
	Until time.Time
}

// Throttles share the rate limits met on one network's upstreams: one
// replica throttled means all of them lower their budget.
type Throttles struct {
	l   *Link
	key string
}

// NewThrottles returns the shared throttles of network.
func NewThrottles(l *Link, network string) *Throttles {
	return &Throttles{l: l, key: l.Key("throttle", network)}
}

// mergeThrottle stores "rate untilms" under field ARGV[1]; while the stored
// throttle is still in force the lower rate and the later end win. The hash
// lives until a little after the latest end.
//
// KEYS[1] hash; ARGV rate, until ms, now ms, slack ms after ARGV[1] field.
var mergeThrottle = redis.NewScript(`
local rate, untilms = ARGV[2], ARGV[3]
local now = tonumber(ARGV[4])
local cur = redis.call('HGET', KEYS[1], ARGV[1])
if cur then
  local sp = string.find(cur, ' ', 1, true)
  if sp then
    local crate, cuntil = string.sub(cur, 1, sp - 1), string.sub(cur, sp + 1)
    local cr, cu = tonumber(crate), tonumber(cuntil)
    if cr and cu and cu > now then
      if cr < tonumber(rate) then rate = crate end
      if cu > tonumber(untilms) then untilms = cuntil end
    end
  end
end
redis.call('HSET', KEYS[1], ARGV[1], rate .. ' ' .. untilms)
local want = tonumber(untilms) - now + tonumber(ARGV[5])
if want > 0 and redis.call('PTTL', KEYS[1]) < want then
  redis.call('PEXPIRE', KEYS[1], want)
end
return 1
`)

// Publish shares that upstream is throttled. When a throttle for it is
// already in force, the lower of the two rates and the later of the two
// ends are kept, so that a replica never raises another's limit. A throttle
// already over is not published.
func (t *Throttles) Publish(ctx context.Context, upstream string, th Throttle) error {
	if math.IsNaN(th.Rate) || math.IsInf(th.Rate, 0) || th.Rate < 0 {
		return errors.New("replica: throttle rate must be a finite number ≥ 0")
	}
	now := t.l.clock.Now()
	if !th.Until.After(now) {
		return nil
	}
	return t.l.Do(ctx, func(ctx context.Context, c *redis.Client) error {
		return mergeThrottle.Run(ctx, c, []string{t.key},
			upstream,
			strconv.FormatFloat(th.Rate, 'g', -1, 64),
			strconv.FormatInt(th.Until.UnixMilli(), 10),
			strconv.FormatInt(now.UnixMilli(), 10),
			strconv.FormatInt(expirySlack.Milliseconds(), 10),
		).Err()
	})
}

// Read returns the throttles still in force, by upstream.
func (t *Throttles) Read(ctx context.Context) (map[string]Throttle, error) {
	var all map[string]string
	err := t.l.Do(ctx, func(ctx context.Context, c *redis.Client) error {
		var err error
		all, err = c.HGetAll(ctx, t.key).Result()
		return err
	})
	if err != nil {
		return nil, err
	}
	now := t.l.clock.Now()
	out := make(map[string]Throttle, len(all))
	for up, v := range all {
		rs, us, ok := strings.Cut(v, " ")
		if !ok {
			continue
		}
		rate, err1 := strconv.ParseFloat(rs, 64)
		ms, err2 := strconv.ParseInt(us, 10, 64)
		if err1 != nil || err2 != nil {
			continue
		}
		until := time.UnixMilli(ms)
		if until.After(now) {
			out[up] = Throttle{Rate: rate, Until: until}
		}
	}
	return out, nil
}
