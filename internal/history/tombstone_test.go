package history

import (
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
)

// TestEvictedBlocksAreRemembered: a block the store evicts is answered
// "evicted" (with the eviction time) for the parts it held, survives a
// restart, and is forgotten after the TTL; a block stored again is no
// longer evicted; a block never held is not.
func TestEvictedBlocksAreRemembered(t *testing.T) {
	blocks := make([]*synthBlock, 30)
	for i := range blocks {
		blocks[i] = makeBlock(t, uint64(1000+i), 2, byte(i), false)
	}
	s, fake, dir := openStore(t, Options{MaxBytes: 48 << 10, TombstoneTTL: time.Hour})
	evictedAt := fake.Now()
	for _, b := range blocks {
		if err := putBlock(t, s, b); err != nil {
			t.Fatal(err)
		}
	}
	first := blocks[0].hash()
	if s.Has(first, HeaderPart) {
		t.Fatal("the first block was not evicted: make the store smaller")
	}
	for _, parts := range []Parts{HeaderPart, BodyPart, ReceiptsPart, AllParts} {
		if at, ok := s.Evicted(first, parts); !ok || !at.Equal(evictedAt) {
			t.Fatalf("evicted block, parts %d: Evicted = %v, %v; want %v, true", parts, at, ok, evictedAt)
		}
	}
	if _, ok := s.Evicted(blocks[len(blocks)-1].hash(), HeaderPart); ok {
		t.Fatal("a held block is reported evicted")
	}
	if _, ok := s.Evicted(common.Hash{1}, HeaderPart); ok {
		t.Fatal("a block never held is reported evicted")
	}
	if st := s.Stats(); st.Tombstones == 0 || uint64(st.Tombstones) != st.Evicted {
		t.Fatalf("stats %+v: want a tombstone per evicted block", st)
	}
	auditBytes(t, s)

	// A restart keeps them.
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	fake.Advance(30 * time.Minute)
	s, err := Open(dir, Options{MaxBytes: 48 << 10, TombstoneTTL: time.Hour, Clock: fake})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	if at, ok := s.Evicted(first, BodyPart); !ok || !at.Equal(evictedAt) {
		t.Fatalf("after a restart: Evicted = %v, %v; want %v, true", at, ok, evictedAt)
	}

	// Stored again: no longer evicted, and that survives a restart too.
	if err := s.PutHeader(blocks[0].header); err != nil {
		t.Fatal(err)
	}
	if _, ok := s.Evicted(first, HeaderPart); ok {
		t.Fatal("a header stored again is still reported evicted")
	}
	if _, ok := s.Evicted(first, BodyPart); !ok {
		t.Fatal("the body, not stored again, is no longer reported evicted")
	}

	// Past the TTL: forgotten, in memory and on disk.
	fake.Advance(time.Hour)
	if _, ok := s.Evicted(blocks[1].hash(), HeaderPart); ok {
		t.Fatal("a tombstone past its TTL still answers")
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s, err = Open(dir, Options{MaxBytes: 48 << 10, TombstoneTTL: time.Hour, Clock: fake})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	if st := s.Stats(); st.Tombstones != 0 {
		t.Fatalf("%d tombstones kept past their TTL across a restart", st.Tombstones)
	}
	it := s.kv.NewIterator([]byte(tombPrefix), nil)
	defer it.Release()
	if it.Next() {
		t.Fatalf("an expired tombstone is left on disk: %x", it.Key())
	}
}

// TestTombstonesAreBounded: over the cap the oldest go first, re-adding
// refreshes, and a queue of stale entries is compacted.
func TestTombstonesAreBounded(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	ts := NewTombstones(time.Hour, 4)
	var dropped []common.Hash
	for i := range 6 {
		dropped = append(dropped, ts.Add(common.Hash{byte(i)}, AllParts, now.Add(time.Duration(i)*time.Second))...)
	}
	if ts.Len() != 4 || len(dropped) != 2 || dropped[0] != (common.Hash{0}) || dropped[1] != (common.Hash{1}) {
		t.Fatalf("len %d, dropped %v: want the two oldest dropped", ts.Len(), dropped)
	}
	// Re-adding the oldest held makes it the newest.
	ts.Add(common.Hash{2}, HeaderPart, now.Add(10*time.Second))
	if d := ts.Add(common.Hash{9}, AllParts, now.Add(11*time.Second)); len(d) != 1 || d[0] != (common.Hash{3}) {
		t.Fatalf("dropped %v, want block 3 (block 2 was evicted again since)", d)
	}
	for range 100 { // churn: the queue stays bounded
		ts.Add(common.Hash{7}, AllParts, now.Add(20*time.Second))
		ts.Clear(common.Hash{7}, AllParts)
	}
	if len(ts.fifo) > 2*4+16 {
		t.Fatalf("queue of %d for %d tombstones", len(ts.fifo), ts.Len())
	}
	if d := ts.Expire(now.Add(2 * time.Hour)); len(d) == 0 || ts.Len() != 0 {
		t.Fatalf("expiry left %d", ts.Len())
	}
	none := NewTombstones(time.Hour, -1)
	none.Add(common.Hash{1}, AllParts, now)
	if _, ok := none.Get(common.Hash{1}, HeaderPart, now); ok {
		t.Fatal("a set of no tombstones remembered one")
	}
}
