package history

import (
	"bytes"
	"cmp"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/rawdb"
	"github.com/ethereum/go-ethereum/ethdb"
)

// Item is what a Keeper knows about one stored block.
type Item struct {
	Hash     common.Hash
	Number   uint64
	PreMerge bool  // the header has a non-zero difficulty
	Parts    Parts // what of the block is stored
	Bytes    int64 // accounted bytes
	Stored   time.Time
	Used     time.Time // last read or write
	Reads    uint64
}

// Keeper decides which blocks the store keeps when it must evict: the
// lowest Value goes first. A block about to be written is valued too: it
// displaces only blocks worth no more than itself, and is refused with
// ErrFull when that frees too little. Value is called with the store's
// lock held and must not call the store.
type Keeper interface {
	Value(it Item, now time.Time) float64
}

// LRU keeps the most recently used blocks: a block is worth the time of
// its last read or write.
type LRU struct{}

// Value is the Unix time, in seconds, of the block's last use.
func (LRU) Value(it Item, _ time.Time) float64 {
	return float64(it.Used.UnixNano()) / 1e9
}

// Keep is a range of blocks exempt from eviction (within the bound):
// peers.keep.
type Keep struct {
	mode keepMode
	from uint64
}

type keepMode uint8

const (
	keepNone keepMode = iota
	keepAll
	keepPreMerge
	keepFrom
)

var (
	// KeepNone exempts nothing.
	KeepNone = Keep{}
	// KeepAll exempts every block.
	KeepAll = Keep{mode: keepAll}
	// KeepPreMerge exempts the blocks before the merge: those whose header
	// has a non-zero difficulty.
	KeepPreMerge = Keep{mode: keepPreMerge}
)

// KeepFrom exempts blocks from number n on.
func KeepFrom(n uint64) Keep { return Keep{mode: keepFrom, from: n} }

// ParseKeep reads a peers.keep value: "" or "none", "all", "pre-merge", or
// "from:N" (also "from: N").
func ParseKeep(s string) (Keep, error) {
	switch v := strings.TrimSpace(s); {
	case v == "" || v == "none":
		return KeepNone, nil
	case v == "all":
		return KeepAll, nil
	case v == "pre-merge":
		return KeepPreMerge, nil
	case strings.HasPrefix(v, "from:"):
		n, err := strconv.ParseUint(strings.TrimSpace(v[len("from:"):]), 10, 64)
		if err != nil {
			return KeepNone, fmt.Errorf("history: keep %q: the block after from: must be a decimal number", s)
		}
		return KeepFrom(n), nil
	}
	return KeepNone, fmt.Errorf("history: keep %q: want all, pre-merge, from:N or none", s)
}

// String is the value ParseKeep reads.
func (k Keep) String() string {
	switch k.mode {
	case keepAll:
		return "all"
	case keepPreMerge:
		return "pre-merge"
	case keepFrom:
		return "from:" + strconv.FormatUint(k.from, 10)
	}
	return "none"
}

// IsNone reports whether the range is empty.
func (k Keep) IsNone() bool { return k.mode == keepNone }

// Holds reports whether block number, pre-merge or not, is in the range.
func (k Keep) Holds(number uint64, preMerge bool) bool {
	switch k.mode {
	case keepAll:
		return true
	case keepPreMerge:
		return preMerge
	case keepFrom:
		return number >= k.from
	}
	return false
}

// Start is the first block of the range.
func (k Keep) Start() uint64 {
	if k.mode == keepFrom {
		return k.from
	}
	return 0
}

// victim is a block eviction may remove.
type victim struct {
	hash  common.Hash
	rec   *record
	item  Item
	value float64
}

// EvictionOrder is the order in which the store evicts blocks a Keeper
// valued va and vb: the lower value first, then the least recently used,
// the lower number, the lower hash. A negative result means a goes before
// b. The simulation (internal/simulation) evicts by it too.
func EvictionOrder(a Item, va float64, b Item, vb float64) int {
	return cmp.Or(cmp.Compare(va, vb), a.Used.Compare(b.Used), cmp.Compare(a.Number, b.Number), bytes.Compare(a.Hash[:], b.Hash[:]))
}

// Displaces reports whether a block about to be written, valued in, may
// evict a block valued v: only one worth no more than itself.
func Displaces(in, v float64) bool { return v <= in }

// makeRoom plans evictions so that need more bytes fit, and applies them to
// w (deletes) and, once w is written, s (see forget). The block being
// written (hash, valued as in) and protect are never evicted; a block outside the keep
// range evicts only blocks outside it worth no more than itself. It frees
// 1/64 of the bound beyond need when it can, so a full store does not plan
// on every write. s.mu must be held.
func (s *Store) makeRoom(w ethdb.KeyValueWriter, need int64, hash common.Hash, in *record, protect common.Hash) ([]victim, error) {
	if s.size+need <= s.opts.MaxBytes {
		return nil, nil
	}
	now := s.opts.Clock.Now()
	kept := s.opts.Keep.Holds(in.Number, in.PreMerge)
	limit := s.opts.Keeper.Value(s.item(hash, in), now)
	var cands []victim
	for h, r := range s.items {
		if h == hash || h == protect || s.opts.Keep.Holds(r.Number, r.PreMerge) {
			continue
		}
		it := s.item(h, r)
		v := s.opts.Keeper.Value(it, now)
		if !kept && !Displaces(limit, v) {
			continue
		}
		cands = append(cands, victim{h, r, it, v})
	}
	slices.SortFunc(cands, func(a, b victim) int { return EvictionOrder(a.item, a.value, b.item, b.value) })
	must := s.size + need - s.opts.MaxBytes
	want := must + s.opts.MaxBytes/64
	var freed int64
	n := 0
	for n < len(cands) && freed < want {
		freed += cands[n].rec.total()
		n++
	}
	if freed < must {
		s.refused++
		return nil, fmt.Errorf("%w: %d bytes more do not fit in %d (%d held, %d evictable for this block)",
			ErrFull, need, s.opts.MaxBytes, s.size, freed)
	}
	for _, v := range cands[:n] {
		if err := s.deleteBlock(w, v.hash, v.rec); err != nil {
			return nil, err
		}
	}
	return cands[:n], nil
}

// deleteBlock deletes a block's content, index entries and record.
func (s *Store) deleteBlock(w ethdb.KeyValueWriter, hash common.Hash, r *record) error {
	if r.Canonical {
		if err := s.unindex(w, hash, r); err != nil {
			return err
		}
	}
	rawdb.DeleteBlock(w, hash, r.Number)
	return w.Delete(recordKey(hash))
}

// forget drops evicted blocks from memory once their deletion is written.
func (s *Store) forget(victims []victim) {
	for _, v := range victims {
		delete(s.items, v.hash)
		delete(s.dirty, v.hash)
		s.size -= v.rec.total()
		s.evicted++
	}
}
