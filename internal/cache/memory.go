package cache

import (
	"context"
	"hash/maphash"
	"math"
	"runtime"
	"sync"
	"time"

	"github.com/braidrpc/braid/internal/clock"
)

// Store keeps answers by key. A Store never fails a request: a backend
// that cannot answer reports a miss, and a failed Set is dropped.
type Store interface {
	// Get returns the value stored under key. The caller must not modify it.
	Get(ctx context.Context, key string) ([]byte, bool)
	// Set stores val under key for ttl (0: until evicted). The store owns
	// val afterwards; the caller must not modify it.
	Set(ctx context.Context, key string, val []byte, ttl time.Duration)
}

var _ Store = (*Memory)(nil)

// MemoryOptions configures NewMemory.
type MemoryOptions struct {
	// MaxBytes bounds the bytes the store accounts for: for every entry
	// len(key)+len(val)+EntryOverhead(). It must be positive. The bound is
	// split evenly between the shards, so the largest value the store will
	// keep is about MaxBytes/Shards.
	MaxBytes int64
	// Clock is the time source for expiry; nil means clock.Real{}.
	Clock clock.Clock
	// Shards is the number of independently locked parts. 0 picks a power
	// of two of at least 4*GOMAXPROCS, within 16..64, halved while a shard
	// would get less than 1 MiB. Other values are used as given, capped at
	// 65536 and at MaxBytes.
	Shards int
}

// MemoryStats is a snapshot of a Memory store's counters.
type MemoryStats struct {
	// Entries is the number of entries held, expired ones not yet
	// reclaimed included.
	Entries int
	// Bytes is the accounted size of those entries; it never exceeds
	// MaxBytes.
	Bytes int64
	// Evictions counts live entries dropped to make room.
	Evictions uint64
	// Expired counts entries dropped, while making room, because their TTL
	// had passed.
	Expired uint64
}

// entryOverhead is the heap an entry costs beyond its key and value bytes,
// as measured by BenchmarkMemoryHeapPerEntry at steady state (store full,
// ghost queues full; 154–177 bytes depending on how full the maps' tables
// happen to be), taken at the top of that range: the entry struct (80-byte
// size class), its slot in the shard's index map (30–48 bytes: Go maps run
// between 7/16 and 7/8 full and do not shrink), and its share of the ghost
// queue (44–49 bytes: a ring slot and a map slot per remembered hash, about
// one hash per entry held).
const entryOverhead = 176

// EntryOverhead returns the fixed bytes a Memory store accounts for each
// entry on top of len(key)+len(val).
func EntryOverhead() int64 { return entryOverhead }

const (
	maxFreq       = 3       // saturation of the per-entry access counter
	minShards     = 16      // the default shard count is at least this,
	maxShards     = 64      // and at most this
	minShardBytes = 1 << 20 // default sharding keeps shards at least this big
	smallPercent  = 10      // share of a shard's bytes the small queue aims for
	minGhost      = 16      // the ghost queue remembers at least this many hashes
)

// Memory is a byte-bounded in-memory Store with per-entry TTLs and S3-FIFO
// eviction. It is safe for concurrent use; its zero value is not usable,
// make one with NewMemory.
//
// Keys are spread over shards by a seeded maphash of the key; each shard
// has its own mutex, index, queues and byte budget, and evicts on its own.
//
// Eviction is S3-FIFO (Yang et al., "FIFO queues are all you need for cache
// eviction", SOSP'23), bounded in bytes. A shard has a small FIFO queue that
// aims for 10% of its bytes, a main FIFO queue for the rest, and a ghost
// FIFO that remembers only the hashes of keys recently evicted from the
// small queue. A hit bumps the entry's counter (saturating at 3); nothing
// is moved on a hit. A new key enters the small queue, or the main queue if
// its hash is in the ghost. To make room the shard looks at the tail of the
// small queue while that queue holds at least its share (or main is empty),
// otherwise at the tail of main. A tail entry that was hit since it was
// last looked at spends one count and moves to the head of main; one that
// was not is evicted, into the ghost if it came from the small queue.
// Entries seen once pass through the small queue only, so a one-pass scan
// of new keys cannot flush entries that have been hit. An expired entry met
// at a tail is reclaimed whatever its counter.
type Memory struct {
	seed   maphash.Seed
	clock  clock.Clock
	real   bool      // clock is clock.Real: read only the monotonic clock
	base   time.Time // expiries are nanoseconds since base
	n      uint64
	shards []shard
}

type shard struct {
	mu          sync.Mutex
	index       map[uint64]*entry // by maphash of the key; a colliding key replaces
	small, main queue
	ghost       ghost
	budget      int64 // bytes this shard may account for
	smallTarget int64
	used        int64
	evictions   uint64
	expired     uint64
	_           [64]byte // keep neighbouring shards' locks off one cache line
}

type entry struct {
	key        string
	val        []byte
	prev, next *entry
	hash       uint64
	expire     int64 // nanoseconds since Memory.base; 0: never
	freq       uint8 // hits since last looked at by eviction, up to maxFreq
	inMain     bool
}

func (e *entry) size() int64 { return int64(len(e.key)) + int64(len(e.val)) + entryOverhead }

func (e *entry) expiredAt(now int64) bool { return e.expire != 0 && now >= e.expire }

// NewMemory returns an empty Memory store. It panics if opts.MaxBytes is
// not positive.
func NewMemory(opts MemoryOptions) *Memory {
	if opts.MaxBytes <= 0 {
		panic("cache: MemoryOptions.MaxBytes must be positive")
	}
	clk := opts.Clock
	if clk == nil {
		clk = clock.Real{}
	}
	n := opts.Shards
	if n <= 0 {
		n = defaultShards(opts.MaxBytes)
	}
	n = min(n, 1<<16)
	if int64(n) > opts.MaxBytes {
		n = int(opts.MaxBytes)
	}
	m := &Memory{
		seed:   maphash.MakeSeed(),
		clock:  clk,
		base:   clk.Now(),
		n:      uint64(n),
		shards: make([]shard, n),
	}
	_, m.real = clk.(clock.Real)
	per, rem := opts.MaxBytes/int64(n), opts.MaxBytes%int64(n)
	for i := range m.shards {
		s := &m.shards[i]
		s.budget = per
		if int64(i) < rem {
			s.budget++
		}
		s.smallTarget = s.budget * smallPercent / 100
		s.index = make(map[uint64]*entry)
		s.small.init()
		s.main.init()
		s.ghost.seen = make(map[uint64]uint64)
	}
	return m
}

func defaultShards(maxBytes int64) int {
	n := minShards
	for n < 4*runtime.GOMAXPROCS(0) && n < maxShards {
		n *= 2
	}
	for n > 1 && maxBytes/int64(n) < minShardBytes {
		n /= 2
	}
	return n
}

func (m *Memory) shard(h uint64) *shard {
	return &m.shards[(h>>32)*m.n>>32]
}

// now reads the clock as nanoseconds since m.base.
func (m *Memory) now() int64 {
	if m.real {
		return int64(time.Since(m.base)) // half the cost of time.Now
	}
	return int64(m.clock.Now().Sub(m.base))
}

// Get returns the value stored under key, if it is there and has not
// expired. The caller must not modify it. ctx is not used: memory does not
// block.
func (m *Memory) Get(_ context.Context, key string) ([]byte, bool) {
	h := maphash.String(m.seed, key)
	s := m.shard(h)
	s.mu.Lock()
	e := s.index[h]
	if e == nil || e.key != key {
		s.mu.Unlock()
		return nil, false
	}
	// Counting a hit on an entry that turns out to be expired is harmless:
	// eviction reclaims expired entries before it reads counters.
	if e.freq < maxFreq {
		e.freq++
	}
	val, expire := e.val, e.expire
	s.mu.Unlock()
	if expire != 0 && m.now() >= expire {
		return nil, false
	}
	return val, true
}

// Set stores val under key for ttl; 0 keeps it until evicted and a negative
// ttl only removes what key held. A value whose entry would not fit in a
// shard's budget is not stored (and key's old value is removed). Replacing
// a key keeps its place in the small or main queue and counts as a hit.
// The store owns val afterwards. ctx is not used.
func (m *Memory) Set(_ context.Context, key string, val []byte, ttl time.Duration) {
	h := maphash.String(m.seed, key)
	s := m.shard(h)
	now := m.now()
	var expire int64
	if ttl > 0 {
		if ttl > time.Duration(math.MaxInt64-max(now, 0)) {
			expire = math.MaxInt64
		} else {
			expire = max(now+int64(ttl), 1)
		}
	}
	size := int64(len(key)) + int64(len(val)) + entryOverhead

	s.mu.Lock()
	defer s.mu.Unlock()
	e := s.index[h]
	var inMain bool
	var freq uint8
	if e != nil {
		if e.key == key {
			inMain, freq = e.inMain, min(e.freq+1, maxFreq)
		}
		s.unlink(e)
	}
	if ttl < 0 || size > s.budget {
		return
	}
	s.makeRoom(size, now)
	if e == nil || e.key != key {
		inMain = s.ghost.take(h)
		if e == nil {
			e = new(entry)
		}
	}
	*e = entry{key: key, val: val, hash: h, expire: expire, freq: freq, inMain: inMain}
	s.index[h] = e
	s.used += size
	if inMain {
		s.main.pushHead(e)
	} else {
		s.small.pushHead(e)
	}
}

// Delete removes key, if present.
func (m *Memory) Delete(key string) {
	h := maphash.String(m.seed, key)
	s := m.shard(h)
	s.mu.Lock()
	if e := s.index[h]; e != nil && e.key == key {
		s.unlink(e)
	}
	s.mu.Unlock()
}

// Stats returns the store's counters, summed over its shards (each read
// under its own lock, so not one atomic snapshot).
func (m *Memory) Stats() MemoryStats {
	var st MemoryStats
	for i := range m.shards {
		s := &m.shards[i]
		s.mu.Lock()
		st.Entries += s.small.n + s.main.n
		st.Bytes += s.used
		st.Evictions += s.evictions
		st.Expired += s.expired
		s.mu.Unlock()
	}
	return st
}

// unlink takes e out of its queue and the index and stops accounting for it.
func (s *shard) unlink(e *entry) {
	if e.inMain {
		s.main.remove(e)
	} else {
		s.small.remove(e)
	}
	delete(s.index, e.hash)
	s.used -= e.size()
}

// makeRoom evicts until need more bytes fit in the budget; need must not
// exceed the budget.
func (s *shard) makeRoom(need, now int64) {
	for s.used+need > s.budget {
		if s.small.n > 0 && (s.small.bytes >= s.smallTarget || s.main.n == 0) {
			s.evictSmall(now)
		} else {
			s.evictMain(now)
		}
	}
}

// evictSmall looks at the tail of the small queue: it is reclaimed if
// expired, promoted to main if hit since insertion, evicted into the ghost
// otherwise.
func (s *shard) evictSmall(now int64) {
	e := s.small.tail()
	switch {
	case e.expiredAt(now):
		s.unlink(e)
		s.expired++
	case e.freq > 0:
		s.small.remove(e)
		e.freq--
		e.inMain = true
		s.main.pushHead(e)
	default:
		s.unlink(e)
		s.evictions++
		s.ghost.add(e.hash, s.small.n+s.main.n)
	}
}

// evictMain looks at the tail of the main queue: it is reclaimed if
// expired, given another round at the head if hit since last looked at,
// evicted otherwise.
func (s *shard) evictMain(now int64) {
	e := s.main.tail()
	switch {
	case e.expiredAt(now):
		s.unlink(e)
		s.expired++
	case e.freq > 0:
		s.main.remove(e)
		e.freq--
		s.main.pushHead(e)
	default:
		s.unlink(e)
		s.evictions++
	}
}

// queue is an intrusive doubly linked FIFO of entries: new entries go in at
// the head, eviction looks at the tail.
type queue struct {
	root  entry // root.next is the head (newest), root.prev the tail (oldest)
	n     int
	bytes int64
}

func (q *queue) init() { q.root.next, q.root.prev = &q.root, &q.root }

func (q *queue) tail() *entry { return q.root.prev }

func (q *queue) pushHead(e *entry) {
	e.prev, e.next = &q.root, q.root.next
	e.next.prev = e
	q.root.next = e
	q.n++
	q.bytes += e.size()
}

func (q *queue) remove(e *entry) {
	e.prev.next, e.next.prev = e.next, e.prev
	e.prev, e.next = nil, nil
	q.n--
	q.bytes -= e.size()
}

// ghost is a FIFO of the hashes of keys recently evicted from the small
// queue: a ring of hashes ordered by sequence number, and a set mapping each
// hash to the sequence number of its newest slot. A hash taken out of the
// set leaves a stale slot behind, skipped when it reaches the front.
type ghost struct {
	seen       map[uint64]uint64
	ring       []uint64 // length is zero or a power of two
	head, tail uint64   // sequence numbers of the oldest slot and the next one
}

// add remembers h, first forgetting the oldest hashes so that at most
// max(limit, minGhost) slots are in use.
func (g *ghost) add(h uint64, limit int) {
	limit = max(limit, minGhost)
	for g.tail-g.head >= uint64(limit) {
		old := g.ring[g.head&uint64(len(g.ring)-1)]
		if seq, ok := g.seen[old]; ok && seq == g.head {
			delete(g.seen, old)
		}
		g.head++
	}
	if g.tail-g.head == uint64(len(g.ring)) {
		g.grow()
	}
	g.ring[g.tail&uint64(len(g.ring)-1)] = h
	g.seen[h] = g.tail
	g.tail++
}

func (g *ghost) grow() {
	ring := make([]uint64, max(2*len(g.ring), minGhost))
	for seq := g.head; seq != g.tail; seq++ {
		ring[seq&uint64(len(ring)-1)] = g.ring[seq&uint64(len(g.ring)-1)]
	}
	g.ring = ring
}

// take reports whether h is remembered, and forgets it.
func (g *ghost) take(h uint64) bool {
	if _, ok := g.seen[h]; !ok {
		return false
	}
	delete(g.seen, h)
	return true
}
