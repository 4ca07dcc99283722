package access

import (
	"sync"
	"time"
)

// maxLocalBuckets bounds the buckets counted in memory. Past it, buckets
// that hold nothing (a rate bucket full again, a quota of a past day) are
// dropped; if that is not enough, others are dropped at random, which lets
// their callers start afresh: memory stays bounded even when a flood of
// client addresses comes in.
const maxLocalBuckets = 1 << 17

// localBucket is a bucket's state: for a rate, GCRA's theoretical arrival
// time (ms); for a quota, the day and the credits used.
type localBucket struct {
	tat  float64
	day  int64
	used int64
}

// localKey names a bucket in memory: a rate and a quota of one caller
// are two buckets.
type localKey struct {
	quota bool
	id    string
}

// localBuckets counts in memory, with the same arithmetic as takeScript.
type localBuckets struct {
	mu      sync.Mutex
	buckets map[localKey]*localBucket
}

func newLocalBuckets() *localBuckets {
	return &localBuckets{buckets: make(map[localKey]*localBucket)}
}

func (lb *localBuckets) take(bs []bucket, now time.Time) verdict {
	nowMS := msOf(now)
	day, reset := dayNumber(now)
	lb.mu.Lock()
	defer lb.mu.Unlock()
	if len(lb.buckets) >= maxLocalBuckets {
		lb.sweep(nowMS, day)
	}
	var next [4]float64
	nv := next[:0]
	for _, b := range bs {
		e := lb.buckets[mapKey(b)]
		if b.quota > 0 {
			var used int64
			if e != nil && e.day == day {
				used = e.used
			}
			if b.cost > 0 && used+b.cost > b.quota {
				return verdict{limit: b.limit, retry: reset.Sub(now), reset: reset}
			}
			nv = append(nv, float64(used+b.cost))
			continue
		}
		interval := 1000 / b.rate
		tat := nowMS
		if e != nil && e.tat > tat {
			tat = e.tat
		}
		nt := tat + float64(b.cost)*interval
		if over := nt - interval*float64(b.burst) - nowMS; over > 0 {
			wait := time.Duration(over * float64(time.Millisecond))
			return verdict{limit: b.limit, retry: wait, reset: now.Add(wait)}
		}
		nv = append(nv, nt)
	}
	for i, b := range bs {
		k := mapKey(b)
		e := lb.buckets[k]
		if e == nil {
			e = &localBucket{}
			lb.buckets[k] = e
		}
		if b.quota > 0 {
			e.day, e.used = day, int64(nv[i])
		} else {
			e.tat = nv[i]
		}
	}
	return verdict{ok: true}
}

func mapKey(b bucket) localKey { return localKey{quota: b.quota > 0, id: b.id} }

// sweep drops buckets that hold nothing, then, while still over the
// bound, any.
func (lb *localBuckets) sweep(nowMS float64, day int64) {
	for k, e := range lb.buckets {
		if (!k.quota && e.tat <= nowMS) || (k.quota && e.day != day) {
			delete(lb.buckets, k)
		}
	}
	for k := range lb.buckets {
		if len(lb.buckets) < maxLocalBuckets*3/4 {
			break
		}
		delete(lb.buckets, k)
	}
}

// size is how many buckets are held (for tests).
func (lb *localBuckets) size() int {
	lb.mu.Lock()
	defer lb.mu.Unlock()
	return len(lb.buckets)
}
