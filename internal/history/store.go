package history

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/rawdb"
	"github.com/ethereum/go-ethereum/ethdb"
	"github.com/ethereum/go-ethereum/ethdb/pebble"

	"github.com/braidrpc/braid/internal/clock"
)

// EntryOverhead is the bytes accounted per key-value entry on top of its
// key and value, for pebble's internal key trailer and index share. With
// it the accounted bytes stay above what pebble's compacted tables hold
// for devnet-like and busy mainnet-like blocks (docs/benchmarks.md,
// "History store").
const EntryOverhead = 16

// DefaultCacheMB is pebble's block cache when Options.CacheMB is 0.
const DefaultCacheMB = 16

var (
	// ErrFull is returned by a write that does not fit in the byte bound
	// even after evicting everything it may evict. Nothing was written or
	// evicted.
	ErrFull = errors.New("history: store full")
	// ErrNoHeader is returned when content is put for a block whose header
	// is not stored (or a canonical hash is set for one).
	ErrNoHeader = errors.New("history: header not stored")
	// ErrNoBody is returned when receipts are put for a block whose body
	// is not stored.
	ErrNoBody = errors.New("history: body not stored")
	// ErrClosed is returned by operations on a closed Store.
	ErrClosed = errors.New("history: store closed")
)

// Options configure Open.
type Options struct {
	// MaxBytes bounds the bytes the store accounts (required, > 0).
	MaxBytes int64
	// Keep is the range exempt from eviction within the bound (peers.keep).
	Keep Keep
	// Keeper orders blocks for eviction; nil is LRU.
	Keeper Keeper
	// CacheMB is pebble's block cache in MiB; 0 is DefaultCacheMB.
	CacheMB int
	// Logger receives warnings; nil discards.
	Logger *slog.Logger
	// Clock stamps stores and reads; nil is the real clock.
	Clock clock.Clock
	// TombstoneTTL is how long an evicted block is remembered, so a
	// request for it is answered "evicted" (Store.Evicted); 0 is
	// DefaultTombstoneTTL, negative remembers none.
	TombstoneTTL time.Duration
	// MaxTombstones bounds the evicted blocks remembered, the oldest
	// dropped first; 0 is DefaultMaxTombstones, negative remembers none.
	MaxTombstones int
	// Notify, if set, is told of every block whose stored parts changed
	// (stored or evicted), after the write, outside the store's lock: the
	// peer layer announces what it can serve and withdraws what it no
	// longer can. Events of concurrent writes may interleave.
	Notify func(Event)
}

// Store is a persistent, byte-bounded store of verified chain content. It
// is safe for concurrent use.
type Store struct {
	kv   *pebble.Database
	db   ethdb.Database
	opts Options
	log  *slog.Logger

	mu      sync.Mutex
	closed  bool
	items   map[common.Hash]*record
	size    int64
	dirty   map[common.Hash]bool // records whose Used/Reads changed since written
	events  []Event              // for Options.Notify, sent by unlock
	tombs   *Tombstones          // evicted blocks, persisted under tombPrefix
	evicted uint64
	refused uint64
}

// Open opens the store in dir, creating it if needed, and restores its
// accounting from the records it wrote.
func Open(dir string, opts Options) (*Store, error) {
	if opts.MaxBytes <= 0 {
		return nil, fmt.Errorf("history: MaxBytes must be positive, got %d", opts.MaxBytes)
	}
	if opts.Keeper == nil {
		opts.Keeper = LRU{}
	}
	if opts.Clock == nil {
		opts.Clock = clock.Real{}
	}
	if opts.CacheMB <= 0 {
		opts.CacheMB = DefaultCacheMB
	}
	if opts.TombstoneTTL == 0 {
		opts.TombstoneTTL = DefaultTombstoneTTL
	}
	if opts.MaxTombstones == 0 {
		opts.MaxTombstones = DefaultMaxTombstones
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	kv, err := pebble.New(dir, opts.CacheMB, 0, "braid/history/", false)
	if err != nil {
		return nil, fmt.Errorf("history: open %s: %w", dir, err)
	}
	s := &Store{kv: kv, db: rawdb.NewDatabase(kv), opts: opts, log: log,
		items: map[common.Hash]*record{}, dirty: map[common.Hash]bool{},
		tombs: NewTombstones(opts.TombstoneTTL, opts.MaxTombstones)}
	if err := errors.Join(s.load(), s.loadTombs()); err != nil {
		kv.Close()
		return nil, err
	}
	log.Info("history store opened", "dir", dir, "blocks", len(s.items), "bytes", s.size, "max_bytes", opts.MaxBytes,
		"tombstones", s.tombs.Len())
	return s, nil
}

// Close writes pending read stamps and closes the database.
func (s *Store) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	b := s.kv.NewBatch()
	s.flushDirty(b)
	err := b.Write()
	b.Close()
	return errors.Join(err, s.kv.Close())
}

// Size is the bytes the store accounts now; it never exceeds MaxBytes.
func (s *Store) Size() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.size
}

// Stats describe a store.
type Stats struct {
	Blocks   int   // blocks with at least a header
	Bodies   int   // of them, with a body
	Receipts int   // of them, with receipts
	Bytes    int64 // accounted bytes
	MaxBytes int64
	Kept     int    // blocks in the keep range
	Evicted  uint64 // blocks evicted since Open
	Refused  uint64 // writes refused with ErrFull since Open
	// Tombstones is the evicted blocks remembered (Store.Evicted).
	Tombstones int
}

// Stats returns the store's counts.
func (s *Store) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := Stats{Blocks: len(s.items), Bytes: s.size, MaxBytes: s.opts.MaxBytes, Evicted: s.evicted, Refused: s.refused,
		Tombstones: s.tombs.Len()}
	for _, r := range s.items {
		if r.Parts&BodyPart != 0 {
			st.Bodies++
		}
		if r.Parts&ReceiptsPart != 0 {
			st.Receipts++
		}
		if s.opts.Keep.Holds(r.Number, r.PreMerge) {
			st.Kept++
		}
	}
	return st
}

// Items lists every stored block by number (then hash), as a Keeper sees
// it: for re-announcing what the store holds after a restart.
func (s *Store) Items() []Item {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Item, 0, len(s.items))
	for h, r := range s.items {
		out = append(out, s.item(h, r))
	}
	slices.SortFunc(out, func(a, b Item) int {
		return cmp.Or(cmp.Compare(a.Number, b.Number), bytes.Compare(a.Hash[:], b.Hash[:]))
	})
	return out
}

// Has reports whether every part of parts of the block is stored.
func (s *Store) Has(hash common.Hash, parts Parts) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.items[hash]
	return r != nil && r.Parts&parts == parts
}

// Number is the number of a stored block.
func (s *Store) Number(hash common.Hash) (uint64, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.items[hash]
	if r == nil {
		return 0, false
	}
	return r.Number, true
}

// touch stamps a read of the block (for LRU) and returns its number.
func (s *Store) touch(hash common.Hash, parts Parts) (uint64, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.items[hash]
	if s.closed || r == nil || r.Parts&parts != parts {
		return 0, false
	}
	r.Used = uint64(s.opts.Clock.Now().UnixNano())
	r.Reads++
	s.dirty[hash] = true
	return r.Number, true
}

// now is the clock's time in Unix nanoseconds, as records keep it.
func (s *Store) now() uint64 { return uint64(s.opts.Clock.Now().UnixNano()) }

// item describes a record for a Keeper.
func (s *Store) item(hash common.Hash, r *record) Item {
	return Item{Hash: hash, Number: r.Number, PreMerge: r.PreMerge, Parts: r.Parts, Bytes: r.total(),
		Stored: time.Unix(0, int64(r.Stored)), Used: time.Unix(0, int64(r.Used)), Reads: r.Reads}
}
