package history

import (
	"cmp"
	"encoding/binary"
	"fmt"
	"slices"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/ethdb"
)

// DefaultTombstoneTTL is how long the store remembers an evicted block:
// kad-dht's provider record validity (48 h). A provider record this node
// published before it evicted the block can live that long in other
// nodes, so for that long a peer may ask for the block believing this
// node holds it — and is told it was evicted, not that it was never held.
const DefaultTombstoneTTL = 48 * time.Hour

// DefaultMaxTombstones bounds the evicted blocks the store remembers
// (about 60 bytes each on disk and in memory); the oldest go first.
const DefaultMaxTombstones = 65536

// tombPrefix + block hash: the block's tombstone, its evicted parts (1
// byte) and the eviction time (8 bytes, big-endian Unix nanoseconds).
const tombPrefix = "~braid/tomb/"

// tombSize is a tombstone's value size.
const tombSize = 1 + 8

// Tombstone records the eviction of a block: the parts it held and when.
type Tombstone struct {
	Parts Parts
	At    time.Time
}

// Tombstones remembers evicted blocks, bounded in count (the oldest go
// first) and in age (a tombstone older than its TTL is gone). history.Store
// keeps one (persisted), and the simulation's stores keep one each, so both
// answer "evicted" the same way. It is not safe for concurrent use.
type Tombstones struct {
	ttl  time.Duration
	max  int
	m    map[common.Hash]Tombstone
	fifo []tombRef // in order of addition; a ref whose time m no longer holds is stale
}

type tombRef struct {
	hash common.Hash
	at   time.Time
}

// NewTombstones returns an empty set keeping at most max tombstones for
// ttl each. max <= 0 or ttl <= 0 keeps none.
func NewTombstones(ttl time.Duration, max int) *Tombstones {
	return &Tombstones{ttl: ttl, max: max, m: map[common.Hash]Tombstone{}}
}

// Len is the number of tombstones held (expired ones included until the
// next Add or Expire drops them).
func (t *Tombstones) Len() int { return len(t.m) }

// Add records that the block hash, holding parts, was evicted at at. It
// returns the blocks whose tombstones it dropped: over the count, or
// expired as of at.
func (t *Tombstones) Add(hash common.Hash, parts Parts, at time.Time) []common.Hash {
	if t.max <= 0 || t.ttl <= 0 || parts == 0 {
		return nil
	}
	if old, ok := t.m[hash]; ok {
		parts |= old.Parts
	}
	t.m[hash] = Tombstone{Parts: parts, At: at}
	t.fifo = append(t.fifo, tombRef{hash, at})
	dropped := t.drop(at)
	if len(t.fifo) > 2*t.max+16 {
		t.compact()
	}
	return dropped
}

// Clear removes parts from hash's tombstone: they are stored again. It
// returns the tombstone left (Parts 0: none) and whether there was one.
func (t *Tombstones) Clear(hash common.Hash, parts Parts) (Tombstone, bool) {
	old, ok := t.m[hash]
	if !ok {
		return Tombstone{}, false
	}
	old.Parts &^= parts
	if old.Parts == 0 {
		delete(t.m, hash)
		return Tombstone{}, true
	}
	t.m[hash] = old
	return old, true
}

// Get returns when the block hash was evicted, if every part of parts
// was evicted less than the TTL before now.
func (t *Tombstones) Get(hash common.Hash, parts Parts, now time.Time) (time.Time, bool) {
	ts, ok := t.m[hash]
	if !ok || parts == 0 || ts.Parts&parts != parts || now.Sub(ts.At) >= t.ttl {
		return time.Time{}, false
	}
	return ts.At, true
}

// Expire drops the tombstones older than the TTL at now and returns
// their blocks.
func (t *Tombstones) Expire(now time.Time) []common.Hash { return t.drop(now) }

// drop pops the oldest tombstones while there are too many or the oldest
// has expired at now.
func (t *Tombstones) drop(now time.Time) []common.Hash {
	var out []common.Hash
	i := 0
	for ; i < len(t.fifo); i++ {
		r := t.fifo[i]
		ts, ok := t.m[r.hash]
		if !ok || !ts.At.Equal(r.at) {
			continue // stale: re-added or cleared since
		}
		if len(t.m) <= t.max && now.Sub(r.at) < t.ttl {
			break
		}
		delete(t.m, r.hash)
		out = append(out, r.hash)
	}
	t.fifo = t.fifo[i:]
	return out
}

// compact rebuilds the queue from the tombstones held, oldest first.
func (t *Tombstones) compact() {
	t.fifo = t.fifo[:0:0]
	for h, ts := range t.m {
		t.fifo = append(t.fifo, tombRef{h, ts.At})
	}
	slices.SortFunc(t.fifo, func(a, b tombRef) int {
		return cmp.Or(a.at.Compare(b.at), slices.Compare(a.hash[:], b.hash[:]))
	})
}

func tombKey(hash common.Hash) []byte { return append([]byte(tombPrefix), hash.Bytes()...) }

func putTomb(w ethdb.KeyValueWriter, hash common.Hash, ts Tombstone) error {
	var v [tombSize]byte
	v[0] = byte(ts.Parts)
	binary.BigEndian.PutUint64(v[1:], uint64(ts.At.UnixNano()))
	return w.Put(tombKey(hash), v[:])
}

// decodeTomb reads a tombstone's key and value.
func decodeTomb(key, value []byte) (common.Hash, Tombstone, error) {
	if len(key) != len(tombPrefix)+common.HashLength || len(value) != tombSize {
		return common.Hash{}, Tombstone{}, fmt.Errorf("history: tombstone of %d+%d bytes", len(key), len(value))
	}
	p := Parts(value[0])
	if p == 0 || p&^AllParts != 0 {
		return common.Hash{}, Tombstone{}, fmt.Errorf("history: tombstone of parts %#x", value[0])
	}
	at := time.Unix(0, int64(binary.BigEndian.Uint64(value[1:])))
	return common.BytesToHash(key[len(tombPrefix):]), Tombstone{Parts: p, At: at}, nil
}

// loadTombs reads the tombstones, oldest first, dropping unreadable,
// expired and surplus ones from the database.
func (s *Store) loadTombs() error {
	type entry struct {
		hash common.Hash
		ts   Tombstone
	}
	var all []entry
	b := s.kv.NewBatch()
	defer b.Close()
	it := s.kv.NewIterator([]byte(tombPrefix), nil)
	for it.Next() {
		hash, ts, err := decodeTomb(it.Key(), it.Value())
		if err != nil {
			s.log.Warn("history: dropping an unreadable tombstone", "err", err)
			if err := b.Delete(append([]byte(nil), it.Key()...)); err != nil {
				it.Release()
				return err
			}
			continue
		}
		all = append(all, entry{hash, ts})
	}
	err := it.Error()
	it.Release()
	if err != nil {
		return fmt.Errorf("history: read tombstones: %w", err)
	}
	slices.SortFunc(all, func(a, b entry) int { return a.ts.At.Compare(b.ts.At) })
	now := s.opts.Clock.Now()
	var dropped []common.Hash
	for _, e := range all {
		if r := s.items[e.hash]; r != nil {
			e.ts.Parts &^= r.Parts // stored again: a write cleared it, or a crash came between
		}
		if e.ts.Parts == 0 || s.tombs.max <= 0 || s.tombs.ttl <= 0 {
			dropped = append(dropped, e.hash)
			continue
		}
		dropped = append(dropped, s.tombs.Add(e.hash, e.ts.Parts, e.ts.At)...)
	}
	for _, h := range append(dropped, s.tombs.Expire(now)...) {
		if err := b.Delete(tombKey(h)); err != nil {
			return err
		}
	}
	return b.Write()
}

// Evicted returns when the store evicted the block hash, if it held
// every part of parts then and evicted them within the tombstone TTL
// (Options.TombstoneTTL): a provider record it published may still be
// in the DHT, so a request for it is answered "evicted".
func (s *Store) Evicted(hash common.Hash, parts Parts) (time.Time, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return time.Time{}, false
	}
	return s.tombs.Get(hash, parts, s.opts.Clock.Now())
}

// buryVictims puts the tombstones of evicted blocks into w, and clears
// the tombstone of the block hash being stored with parts. s.mu must be
// held.
func (s *Store) buryVictims(w ethdb.KeyValueWriter, victims []victim, hash common.Hash, parts Parts, now time.Time) error {
	if s.tombs.max <= 0 || s.tombs.ttl <= 0 {
		return nil
	}
	for _, v := range victims {
		p := v.rec.Parts | s.tombs.m[v.hash].Parts
		if err := putTomb(w, v.hash, Tombstone{Parts: p, At: now}); err != nil {
			return err
		}
	}
	ts, ok := s.tombs.m[hash]
	switch {
	case !ok || ts.Parts&parts == 0:
		return nil
	case ts.Parts&^parts == 0:
		return w.Delete(tombKey(hash))
	}
	ts.Parts &^= parts
	return putTomb(w, hash, ts)
}

// buried applies, once written, what buryVictims put: the victims'
// tombstones are added (those it drops are deleted from the database)
// and the stored block's parts cleared. s.mu must be held.
func (s *Store) buried(victims []victim, hash common.Hash, parts Parts, now time.Time) {
	if s.tombs.max <= 0 || s.tombs.ttl <= 0 {
		return
	}
	s.tombs.Clear(hash, parts)
	var dropped []common.Hash
	for _, v := range victims {
		dropped = append(dropped, s.tombs.Add(v.hash, v.rec.Parts, now)...)
	}
	if len(dropped) == 0 {
		return
	}
	b := s.kv.NewBatch()
	defer b.Close()
	for _, h := range dropped {
		_ = b.Delete(tombKey(h))
	}
	if err := b.Write(); err != nil { // left for the next Open to drop
		s.log.Warn("history: drop old tombstones", "err", err)
	}
}
