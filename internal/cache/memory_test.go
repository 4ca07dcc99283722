package cache

import (
	"bytes"
	"context"
	"fmt"
	"hash/maphash"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/braidrpc/braid/internal/clock"
)

// bg is the context the memory tests pass; Memory ignores it.
var bg = context.Background()

// accounted is what the store accounts for key and val.
func accounted(key string, val []byte) int64 {
	return int64(len(key)) + int64(len(val)) + EntryOverhead()
}

// newOneShard returns a single-shard store over a fake clock, so tests can reason
// about one S3-FIFO instance exactly.
func newOneShard(maxBytes int64) (*Memory, *clock.Fake) {
	clk := clock.NewFake(time.Unix(1_700_000_000, 0))
	return NewMemory(MemoryOptions{MaxBytes: maxBytes, Clock: clk, Shards: 1}), clk
}

// checkMemory verifies the store's internal bookkeeping: queues, index, byte
// counts and budgets agree.
func checkMemory(t testing.TB, m *Memory) {
	t.Helper()
	var total int64
	for i := range m.shards {
		s := &m.shards[i]
		s.mu.Lock()
		total += s.budget
		var used int64
		for _, q := range []*queue{&s.small, &s.main} {
			n, b := 0, int64(0)
			for e := q.root.next; e != &q.root; e = e.next {
				if e.next.prev != e {
					t.Errorf("shard %d: broken links at %q", i, e.key)
				}
				if e.inMain != (q == &s.main) {
					t.Errorf("shard %d: %q has inMain=%v in the other queue", i, e.key, e.inMain)
				}
				if s.index[e.hash] != e {
					t.Errorf("shard %d: %q queued but not indexed", i, e.key)
				}
				if e.freq > maxFreq {
					t.Errorf("shard %d: %q freq %d", i, e.key, e.freq)
				}
				n++
				b += e.size()
			}
			if n != q.n || b != q.bytes {
				t.Errorf("shard %d: queue counts n=%d bytes=%d, walked n=%d bytes=%d", i, q.n, q.bytes, n, b)
			}
			used += b
		}
		if len(s.index) != s.small.n+s.main.n {
			t.Errorf("shard %d: index has %d, queues %d", i, len(s.index), s.small.n+s.main.n)
		}
		if used != s.used {
			t.Errorf("shard %d: used %d, queues hold %d", i, s.used, used)
		}
		if s.used > s.budget {
			t.Errorf("shard %d: used %d over budget %d", i, s.used, s.budget)
		}
		if live := s.ghost.tail - s.ghost.head; uint64(len(s.ghost.seen)) > live || live > uint64(len(s.ghost.ring)) {
			t.Errorf("shard %d: ghost remembers %d in %d slots of %d", i, len(s.ghost.seen), live, len(s.ghost.ring))
		}
		s.mu.Unlock()
	}
	if len(m.shards) == 0 || total <= 0 {
		t.Errorf("no budget: %d shards, %d bytes", len(m.shards), total)
	}
}

func TestMemoryHitMiss(t *testing.T) {
	m, _ := newOneShard(1 << 20)
	m.Set(bg, "a", []byte("alpha"), 0)
	m.Set(bg, "b", []byte{}, 0)
	m.Set(bg, "", []byte("empty key"), 0)
	for _, tc := range []struct {
		key  string
		want string
		ok   bool
	}{
		{"a", "alpha", true},
		{"b", "", true},
		{"", "empty key", true},
		{"c", "", false},
		{"A", "", false},
		{"a ", "", false},
	} {
		got, ok := m.Get(bg, tc.key)
		if ok != tc.ok || string(got) != tc.want {
			t.Errorf("Get(%q) = %q, %v; want %q, %v", tc.key, got, ok, tc.want, tc.ok)
		}
	}
	st := m.Stats()
	if want := accounted("a", []byte("alpha")) + accounted("b", nil) + accounted("", []byte("empty key")); st.Entries != 3 || st.Bytes != want {
		t.Errorf("stats = %+v, want 3 entries, %d bytes", st, want)
	}
	checkMemory(t, m)
}

func TestMemoryReplace(t *testing.T) {
	for _, tc := range []struct {
		name     string
		old, new string
	}{
		{"grow", "short", "a much longer value than before"},
		{"shrink", "a much longer value than before", "short"},
		{"same", "same size", "size same"},
		{"empty", "something", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, _ := newOneShard(1 << 20)
			m.Set(bg, "other", []byte("x"), 0)
			m.Set(bg, "k", []byte(tc.old), 0)
			m.Set(bg, "k", []byte(tc.new), 0)
			if got, ok := m.Get(bg, "k"); !ok || string(got) != tc.new {
				t.Fatalf("Get = %q, %v; want %q", got, ok, tc.new)
			}
			st := m.Stats()
			if want := accounted("other", []byte("x")) + accounted("k", []byte(tc.new)); st.Entries != 2 || st.Bytes != want {
				t.Errorf("stats = %+v, want 2 entries, %d bytes", st, want)
			}
			checkMemory(t, m)
		})
	}
}

// A replacement that needs room evicts other entries, never leaves the
// store over budget and keeps the new value.
func TestMemoryReplaceUnderPressure(t *testing.T) {
	val := bytes.Repeat([]byte("v"), 100)
	per := accounted("k00", val)
	m, _ := newOneShard(10 * per)
	for i := range 10 {
		m.Set(bg, fmt.Sprintf("k%02d", i), val, 0)
	}
	big := bytes.Repeat([]byte("B"), int(4*per))
	m.Set(bg, "k05", big, 0)
	if got, ok := m.Get(bg, "k05"); !ok || !bytes.Equal(got, big) {
		t.Fatalf("replaced key lost: ok=%v len=%d", ok, len(got))
	}
	st := m.Stats()
	if st.Bytes > 10*per || st.Evictions == 0 {
		t.Errorf("stats = %+v; want evictions and bytes <= %d", st, 10*per)
	}
	checkMemory(t, m)
}

func TestMemoryTTL(t *testing.T) {
	m, clk := newOneShard(1 << 20)
	m.Set(bg, "short", []byte("s"), 10*time.Second)
	m.Set(bg, "long", []byte("l"), time.Hour)
	m.Set(bg, "forever", []byte("f"), 0)
	m.Set(bg, "huge", []byte("h"), time.Duration(1<<63-1))
	m.Set(bg, "gone", []byte("g"), -time.Second)

	want := func(step string, hits map[string]bool) {
		t.Helper()
		for key, hit := range hits {
			if _, ok := m.Get(bg, key); ok != hit {
				t.Errorf("%s: Get(%q) hit=%v, want %v", step, key, ok, hit)
			}
		}
	}
	want("start", map[string]bool{"short": true, "long": true, "forever": true, "huge": true, "gone": false})
	clk.Advance(10*time.Second - time.Nanosecond)
	want("just before", map[string]bool{"short": true, "long": true})
	clk.Advance(time.Nanosecond)
	want("at expiry", map[string]bool{"short": false, "long": true, "forever": true})
	clk.Advance(100 * 365 * 24 * time.Hour)
	want("a century on", map[string]bool{"short": false, "long": false, "forever": true, "huge": true})

	// Expired entries still count until eviction reclaims them.
	st := m.Stats()
	if st.Entries != 4 || st.Expired != 0 {
		t.Errorf("stats = %+v, want 4 entries held, none reclaimed", st)
	}
	// Setting an expired key again makes it live.
	m.Set(bg, "short", []byte("again"), time.Second)
	if got, ok := m.Get(bg, "short"); !ok || string(got) != "again" {
		t.Errorf("re-Set expired key: Get = %q, %v", got, ok)
	}
	// A negative TTL removes what the key held.
	m.Set(bg, "forever", []byte("x"), -1)
	if _, ok := m.Get(bg, "forever"); ok {
		t.Error("negative TTL left the old value")
	}
	checkMemory(t, m)
}

// Expired entries are reclaimed when eviction meets them, counted as
// Expired, not Evictions, and are not remembered by the ghost.
func TestMemoryExpiredReclaimedByEviction(t *testing.T) {
	val := bytes.Repeat([]byte("v"), 200)
	per := accounted("k00", val)
	m, clk := newOneShard(20 * per)
	for i := range 10 {
		m.Set(bg, fmt.Sprintf("k%02d", i), val, time.Minute)
	}
	for i := 10; i < 20; i++ {
		m.Set(bg, fmt.Sprintf("k%02d", i), val, 0)
	}
	if st := m.Stats(); st.Bytes != 20*per || st.Entries != 20 {
		t.Fatalf("full store stats = %+v", st)
	}
	clk.Advance(time.Minute)
	if st := m.Stats(); st.Bytes != 20*per {
		t.Fatalf("expiry alone changed bytes: %+v", st)
	}
	for i := 20; i < 30; i++ {
		m.Set(bg, fmt.Sprintf("k%02d", i), val, 0)
	}
	st := m.Stats()
	if st.Expired != 10 || st.Evictions != 0 || st.Entries != 20 || st.Bytes != 20*per {
		t.Errorf("stats = %+v, want the 10 expired reclaimed and nothing evicted", st)
	}
	for i := 10; i < 30; i++ {
		if _, ok := m.Get(bg, fmt.Sprintf("k%02d", i)); !ok {
			t.Errorf("k%02d lost", i)
		}
	}
	if n := len(m.shards[0].ghost.seen); n != 0 {
		t.Errorf("ghost remembers %d expired keys", n)
	}
	checkMemory(t, m)
}

func TestMemoryDelete(t *testing.T) {
	m, _ := newOneShard(1 << 20)
	m.Set(bg, "a", []byte("1"), 0)
	m.Set(bg, "b", []byte("2"), time.Minute)
	m.Delete("a")
	m.Delete("a")       // twice is fine
	m.Delete("missing") // absent is fine
	if _, ok := m.Get(bg, "a"); ok {
		t.Error("deleted key still there")
	}
	if got, ok := m.Get(bg, "b"); !ok || string(got) != "2" {
		t.Errorf("other key: %q, %v", got, ok)
	}
	if st := m.Stats(); st.Entries != 1 || st.Bytes != accounted("b", []byte("2")) || st.Evictions != 0 {
		t.Errorf("stats = %+v", st)
	}
	m.Delete("b")
	if st := m.Stats(); st != (MemoryStats{}) {
		t.Errorf("empty store stats = %+v", st)
	}
	m.Set(bg, "a", []byte("back"), 0)
	if got, ok := m.Get(bg, "a"); !ok || string(got) != "back" {
		t.Errorf("Set after Delete: %q, %v", got, ok)
	}
	checkMemory(t, m)
}

// A value larger than a shard's budget is not stored, evicts nothing and
// drops the key's previous value.
func TestMemoryOversize(t *testing.T) {
	const max = 64 << 10
	m, _ := newOneShard(max)
	for i := range 20 {
		m.Set(bg, fmt.Sprintf("k%d", i), make([]byte, 1000), 0)
	}
	before := m.Stats()

	m.Set(bg, "big", make([]byte, max), 0)
	if _, ok := m.Get(bg, "big"); ok {
		t.Error("oversize value stored")
	}
	if st := m.Stats(); st != before {
		t.Errorf("oversize Set changed stats: %+v -> %+v", before, st)
	}
	m.Set(bg, "k3", make([]byte, max), 0)
	if _, ok := m.Get(bg, "k3"); ok {
		t.Error("oversize replacement stored")
	}
	if st := m.Stats(); st.Entries != before.Entries-1 || st.Evictions != 0 {
		t.Errorf("oversize replacement: stats %+v, want old value dropped only", st)
	}
	// Exactly the budget fits (after evicting everything else).
	exact := make([]byte, max-len("fit")-int(EntryOverhead()))
	m.Set(bg, "fit", exact, 0)
	if got, ok := m.Get(bg, "fit"); !ok || len(got) != len(exact) {
		t.Error("value of exactly the budget not stored")
	}
	if st := m.Stats(); st.Bytes != max || st.Entries != 1 {
		t.Errorf("after exact fit: %+v", st)
	}
	checkMemory(t, m)

	// With several shards the bound is per shard.
	ms := NewMemory(MemoryOptions{MaxBytes: 1 << 20, Shards: 4})
	ms.Set(bg, "k", make([]byte, 300<<10), 0)
	if _, ok := ms.Get(bg, "k"); ok {
		t.Error("value over the shard budget stored")
	}
	ms.Set(bg, "k", make([]byte, 200<<10), 0)
	if _, ok := ms.Get(bg, "k"); !ok {
		t.Error("value within the shard budget not stored")
	}
}

// A one-pass scan of many new keys, each seen once, must not flush keys the
// workload keeps hitting.
func TestMemoryScanResistance(t *testing.T) {
	val := make([]byte, 1000)
	per := accounted("hot-0000", val)
	const capacity = 1000
	m, _ := newOneShard(capacity * per)

	// The hot set takes 40% of the store and is hit a few times.
	const hot = 400
	for i := range hot {
		m.Set(bg, fmt.Sprintf("hot-%04d", i), val, 0)
	}
	for range 2 {
		for i := range hot {
			if _, ok := m.Get(bg, fmt.Sprintf("hot-%04d", i)); !ok {
				t.Fatalf("hot-%04d missing before the scan", i)
			}
		}
	}
	// The scan: 20 times the store's capacity of keys, each asked for
	// once and filled after the miss, as the gateway would.
	for i := range 20 * capacity {
		key := fmt.Sprintf("scan-%06d", i)
		if _, ok := m.Get(bg, key); ok {
			t.Fatalf("%s hit before it was set", key)
		}
		m.Set(bg, key, val, 0)
	}
	lost := 0
	for i := range hot {
		if _, ok := m.Get(bg, fmt.Sprintf("hot-%04d", i)); !ok {
			lost++
		}
	}
	if lost > 0 {
		t.Errorf("scan flushed %d of %d hot keys", lost, hot)
	}
	st := m.Stats()
	if st.Evictions < 19*capacity {
		t.Errorf("stats = %+v: the scan should have been evicted", st)
	}
	checkMemory(t, m)

	// The same scan with hot keys still being hit throughout.
	for i := range 20 * capacity {
		m.Set(bg, fmt.Sprintf("scan2-%06d", i), val, 0)
		if i%10 == 0 {
			m.Get(bg, fmt.Sprintf("hot-%04d", (i/10)%hot))
		}
	}
	for i := range hot {
		if _, ok := m.Get(bg, fmt.Sprintf("hot-%04d", i)); !ok {
			t.Errorf("hot-%04d lost to the interleaved scan", i)
		}
	}
	checkMemory(t, m)
}

// A key evicted from the small queue unhit and set again soon after is
// admitted straight to the main queue.
func TestMemoryGhostAdmission(t *testing.T) {
	val := make([]byte, 100)
	per := accounted("k000", val)
	m, _ := newOneShard(100 * per)
	for i := range 150 {
		m.Set(bg, fmt.Sprintf("k%03d", i), val, 0)
	}
	if _, ok := m.Get(bg, "k000"); ok {
		t.Fatal("k000 should have been evicted")
	}
	s := &m.shards[0]
	m.Set(bg, "k000", val, 0)
	if e := s.index[maphash.String(m.seed, "k000")]; e == nil || !e.inMain {
		t.Error("ghost hit did not admit to main")
	}
	m.Set(bg, "never-seen", val, 0)
	if e := s.index[maphash.String(m.seed, "never-seen")]; e == nil || e.inMain {
		t.Error("new key did not enter the small queue")
	}
	checkMemory(t, m)
}

// Random Set/Get/Delete with random sizes and TTLs never take the store
// over MaxBytes, and the bookkeeping stays consistent.
func TestMemoryByteBoundRandom(t *testing.T) {
	for _, tc := range []struct {
		max    int64
		shards int
	}{
		{10_000, 1},
		{50_000, 1},
		{200_000, 3},
		{1 << 20, 0},
		{1_000_003, 16},
	} {
		t.Run(fmt.Sprintf("%d/%d", tc.max, tc.shards), func(t *testing.T) {
			clk := clock.NewFake(time.Unix(0, 0))
			m := NewMemory(MemoryOptions{MaxBytes: tc.max, Clock: clk, Shards: tc.shards})
			rng := rand.New(rand.NewPCG(uint64(tc.max), 7))
			keys := int(tc.max / 300)
			for i := range 30_000 {
				key := fmt.Sprintf("key-%d", rng.IntN(keys))
				switch r := rng.IntN(100); {
				case r < 45:
					m.Get(bg, key)
				case r < 95:
					n := rng.IntN(600)
					if rng.IntN(100) == 0 {
						n = int(tc.max) // oversize now and then
					}
					var ttl time.Duration
					if rng.IntN(2) == 0 {
						ttl = time.Duration(rng.IntN(100)) * time.Millisecond
					}
					m.Set(bg, key, make([]byte, n), ttl)
				case r < 98:
					m.Delete(key)
				default:
					clk.Advance(time.Duration(rng.IntN(20)) * time.Millisecond)
				}
				if st := m.Stats(); st.Bytes > tc.max || st.Bytes < 0 {
					t.Fatalf("op %d: bytes %d, max %d", i, st.Bytes, tc.max)
				}
				if i%1000 == 0 {
					checkMemory(t, m)
				}
			}
			checkMemory(t, m)
			st := m.Stats()
			if st.Evictions == 0 || st.Expired == 0 {
				t.Errorf("workload too gentle: %+v", st)
			}
		})
	}
}

// Concurrent use, run with -race: values come back intact, the byte bound
// holds at every observation and the bookkeeping is consistent after.
func TestMemoryConcurrent(t *testing.T) {
	const max = 256 << 10
	clk := clock.NewFake(time.Unix(0, 0))
	m := NewMemory(MemoryOptions{MaxBytes: max, Clock: clk, Shards: 4})
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(w), 1))
			for range 20_000 {
				k := rng.IntN(2000)
				key := fmt.Sprintf("k%d", k)
				switch r := rng.IntN(10); {
				case r < 6:
					if v, ok := m.Get(bg, key); ok && (len(v) == 0 || v[0] != byte(k)) {
						t.Errorf("%s: wrong value", key)
						return
					}
				case r < 9:
					v := make([]byte, 1+rng.IntN(800))
					v[0] = byte(k)
					m.Set(bg, key, v, time.Duration(rng.IntN(3))*time.Millisecond)
				default:
					m.Delete(key)
				}
			}
		}()
	}
	var observers sync.WaitGroup
	observers.Add(1)
	go func() {
		defer observers.Done()
		for {
			select {
			case <-stop:
				return
			default:
			}
			if st := m.Stats(); st.Bytes > max {
				t.Errorf("bytes %d over %d", st.Bytes, max)
				return
			}
			clk.Advance(time.Millisecond)
		}
	}()
	wg.Wait()
	close(stop)
	observers.Wait()
	checkMemory(t, m)
	if st := m.Stats(); st.Evictions == 0 {
		t.Errorf("no evictions: %+v", st)
	}
}

// Get allocates nothing, hit or miss.
func TestMemoryGetNoAlloc(t *testing.T) {
	m := NewMemory(MemoryOptions{MaxBytes: 1 << 20})
	m.Set(bg, "hit", []byte("value"), 0)
	m.Set(bg, "ttl", []byte("value"), time.Hour)
	for _, key := range []string{"hit", "ttl", "miss"} {
		if n := testing.AllocsPerRun(100, func() { m.Get(bg, key) }); n != 0 {
			t.Errorf("Get(%q) allocates %.1f times", key, n)
		}
	}
}

func TestNewMemoryShards(t *testing.T) {
	for _, max := range []int64{1, 1000, 1 << 20, 3 << 20, 16 << 20, 1 << 30, 1 << 40} {
		m := NewMemory(MemoryOptions{MaxBytes: max})
		n := len(m.shards)
		if n&(n-1) != 0 || n < 1 || n > maxShards {
			t.Errorf("MaxBytes %d: %d shards, want a power of two in 1..%d", max, n, maxShards)
		}
		if n > 1 && max/int64(n) < minShardBytes {
			t.Errorf("MaxBytes %d: %d shards of %d bytes", max, n, max/int64(n))
		}
		if max >= 64<<20 && n < minShards {
			t.Errorf("MaxBytes %d: only %d shards", max, n)
		}
		var total int64
		for i := range m.shards {
			total += m.shards[i].budget
		}
		if total != max {
			t.Errorf("MaxBytes %d: shard budgets sum to %d", max, total)
		}
	}
	if m := NewMemory(MemoryOptions{MaxBytes: 3, Shards: 8}); len(m.shards) != 3 {
		t.Errorf("3 bytes over 8 shards: got %d shards", len(m.shards))
	}
	for _, max := range []int64{0, -1} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("NewMemory(MaxBytes: %d) did not panic", max)
				}
			}()
			NewMemory(MemoryOptions{MaxBytes: max})
		}()
	}
}
