package access

import (
	"context"
	"fmt"
	"log/slog"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/braidrpc/braid/internal/clock"
	"github.com/braidrpc/braid/internal/replica"
)

// Limit names, as the -32005 data and braid_limit_rejections_total's limit
// label show them.
const (
	LimitRPS         = "rps"          // the key's calls per second
	LimitQuota       = "quota"        // the key's credits per day
	LimitClientRPS   = "client_rps"   // the client address's calls per second
	LimitClientQuota = "client_quota" // the client address's credits per day
	LimitConcurrency = "concurrency"  // too many of the caller's calls waiting
)

// bucket is one limit a request is counted against: a rate (GCRA: calls
// per second with a burst) or a daily quota of credits.
type bucket struct {
	id    string // "k:<key id>" or "c:<client address>"
	limit string // one of the Limit names
	rate  float64
	burst int
	quota int64 // > 0: a quota bucket
	cost  int64
}

// verdict is the Limiter's answer: ok, or which limit refused and when
// the request could pass.
type verdict struct {
	ok    bool
	limit string
	retry time.Duration
	reset time.Time
}

// takeScript takes cost from every bucket, or from none: it checks them
// all first, and on the first that cannot take its cost returns {i,
// detail}: for a rate the milliseconds until it could, for a quota the
// credits used. Rate buckets store GCRA's theoretical arrival time (ms)
// and expire when it passes; quota buckets count credits under a key of
// the day and expire a day later.
//
// KEYS: one per bucket. ARGV[1]: now (ms); then four per bucket: "r" or
// "q", interval ms or quota, tolerance ms or ttl ms, cost.
var takeScript = redis.NewScript(`
local now = tonumber(ARGV[1])
local nv = {}
for i = 1, #KEYS do
  local j = 2 + (i - 1) * 4
  local a, b, cost = tonumber(ARGV[j + 1]), tonumber(ARGV[j + 2]), tonumber(ARGV[j + 3])
  local cur = tonumber(redis.call('GET', KEYS[i]) or '0') or 0
  if ARGV[j] == 'r' then
    local nt = math.max(cur, now) + cost * a
    if nt - b > now then return {i, tostring(nt - b - now)} end
    nv[i] = nt
  else
    if cost > 0 and cur + cost > a then return {i, tostring(cur)} end
    nv[i] = cur + cost
  end
end
for i = 1, #KEYS do
  local j = 2 + (i - 1) * 4
  if ARGV[j] == 'r' then
    redis.call('SET', KEYS[i], string.format('%.3f', nv[i]), 'PX', math.max(1, math.ceil(nv[i] - now)))
  elseif tonumber(ARGV[j + 3]) > 0 then
    redis.call('SET', KEYS[i], string.format('%d', nv[i]), 'PX', ARGV[j + 2])
  end
end
return {0}
`)

// Limiter counts requests against buckets: in Redis when the replicas
// share one, in memory otherwise or while Redis is unreachable.
type Limiter struct {
	link  *replica.Link // nil: memory only
	clock clock.Clock
	log   *slog.Logger
	local *localBuckets
	m     *metrics

	degraded atomic.Bool // counting in memory because Redis failed
}

func newLimiter(link *replica.Link, c clock.Clock, log *slog.Logger, m *metrics) *Limiter {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Limiter{link: link, clock: c, log: log, local: newLocalBuckets(), m: m}
}

// take takes every bucket's cost, or none and says which refused.
func (l *Limiter) take(ctx context.Context, bs []bucket) verdict {
	if len(bs) == 0 {
		return verdict{ok: true}
	}
	now := l.clock.Now()
	if l.link != nil {
		v, err := l.takeShared(ctx, bs, now)
		if err == nil {
			l.shared()
			return v
		}
		if ctx.Err() != nil {
			// The caller gave up: nothing to say about Redis.
			return l.local.take(bs, now)
		}
		l.degrade(err)
	}
	return l.local.take(bs, now)
}

// degrade notes that Redis failed: one WARN per outage.
func (l *Limiter) degrade(err error) {
	if l.degraded.CompareAndSwap(false, true) {
		l.m.setLocal(true)
		l.log.Warn("limits: redis unreachable, each replica now enforces every limit on its own (a cluster of N replicas may allow up to N times a limit until redis is back)",
			"err", err.Error())
	}
}

// shared notes that Redis answered: one INFO when an outage ends.
func (l *Limiter) shared() {
	if l.degraded.CompareAndSwap(true, false) {
		l.m.setLocal(false)
		l.log.Info("limits: redis reachable again, limits are shared by the replicas")
	}
}

// Local reports whether limits are counted in memory because Redis is
// unreachable.
func (l *Limiter) Local() bool { return l.degraded.Load() }

func (l *Limiter) takeShared(ctx context.Context, bs []bucket, now time.Time) (verdict, error) {
	nowMS := msOf(now)
	day, reset := dayNumber(now)
	keys := make([]string, len(bs))
	args := make([]any, 1, 1+4*len(bs))
	args[0] = strconv.FormatFloat(nowMS, 'f', 3, 64)
	for i, b := range bs {
		if b.quota > 0 {
			keys[i] = l.link.Key("limit", "quota", strconv.FormatInt(day, 10), b.id)
			ttl := reset.Sub(now) + time.Hour
			args = append(args, "q", b.quota, ttl.Milliseconds(), b.cost)
			continue
		}
		interval := 1000 / b.rate
		keys[i] = l.link.Key("limit", "rate", b.id)
		args = append(args, "r", strconv.FormatFloat(interval, 'g', -1, 64),
			strconv.FormatFloat(interval*float64(b.burst), 'g', -1, 64), b.cost)
	}
	var res []any
	err := l.link.Do(ctx, func(ctx context.Context, c *redis.Client) error {
		var err error
		res, err = takeScript.Run(ctx, c, keys, args...).Slice()
		return err
	})
	if err != nil {
		return verdict{}, err
	}
	return parseTake(res, bs, now, reset)
}

// parseTake reads takeScript's answer.
func parseTake(res []any, bs []bucket, now, reset time.Time) (verdict, error) {
	if len(res) == 0 {
		return verdict{}, fmt.Errorf("limits: empty answer from redis")
	}
	i, ok := res[0].(int64)
	if !ok || i < 0 || int(i) > len(bs) {
		return verdict{}, fmt.Errorf("limits: unexpected answer from redis: %v", res)
	}
	if i == 0 {
		return verdict{ok: true}, nil
	}
	b := bs[i-1]
	if b.quota > 0 {
		return verdict{limit: b.limit, retry: reset.Sub(now), reset: reset}, nil
	}
	var ms float64
	if len(res) > 1 {
		s, _ := res[1].(string)
		ms, _ = strconv.ParseFloat(s, 64)
	}
	wait := time.Duration(ms * float64(time.Millisecond))
	return verdict{limit: b.limit, retry: wait, reset: now.Add(wait)}, nil
}

// msOf is t in milliseconds since the Unix epoch.
func msOf(t time.Time) float64 { return float64(t.UnixMicro()) / 1000 }

// dayNumber numbers t's UTC day (days since 1970-01-01) and returns when
// the next one starts.
func dayNumber(t time.Time) (int64, time.Time) {
	const day = 24 * 60 * 60
	n := t.Unix() / day
	if t.Unix() < 0 && t.Unix()%day != 0 {
		n--
	}
	return n, time.Unix((n+1)*day, 0).UTC()
}
