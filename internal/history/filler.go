package history

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/rlp"

	"github.com/braidrpc/braid/internal/clock"
	"github.com/braidrpc/braid/internal/verify"
)

// Source is where a Filler gets content. Headers (CanonicalSource, whose
// provenance the filled block's canonical record keeps) and the head must
// come from braid's trusted path; bodies and receipts may come
// from anyone — providers, peers — since the store verifies them against
// the header before keeping them.
type Source interface {
	CanonicalSource
	// Head is the number of the newest block the trusted path knows.
	Head(ctx context.Context) (uint64, error)
	// Body is a block's body in canonical RLP.
	Body(ctx context.Context, hash common.Hash, number uint64) ([]byte, error)
	// Receipts is a block's receipts list in RLP of the encoding returned.
	Receipts(ctx context.Context, hash common.Hash, number uint64) ([]byte, verify.ReceiptsEncoding, error)
}

// Filler defaults.
const (
	DefaultFillIdle = 12 * time.Second // one slot
)

// FillerOptions configure NewFiller.
type FillerOptions struct {
	// Keep is the range to fill; zero means the store's Options.Keep.
	Keep Keep
	// BytesPerSecond is the bandwidth budget (required, > 0): the bytes of
	// headers, bodies and receipts fetched, averaged by a token bucket.
	BytesPerSecond int64
	// Burst is the bucket's size; 0 is one second of budget.
	Burst int64
	// Idle is the wait after catching up with the head or after a failed
	// fetch; 0 is DefaultFillIdle.
	Idle time.Duration
	// OnReject is told of content the source sent that failed
	// verification (a *verify.Error, verify.ErrMalformed or
	// verify.ErrTooLarge), so the source's owner can blame whoever sent
	// it. The filler asks again after Idle.
	OnReject func(number uint64, err error)
	Logger   *slog.Logger
	Clock    clock.Clock
}

// Progress is where a Filler is.
type Progress struct {
	Next     uint64 // the next block to fill
	Done     bool   // a pre-merge range reached the merge: nothing left
	Full     bool   // the store refused a block (ErrFull); Run returned
	Blocks   uint64 // blocks filled since NewFiller
	Bytes    int64  // bytes fetched since NewFiller
	Rejected uint64 // fetches that failed verification since NewFiller
}

// Filler fills a keep range of the store from a Source, in block order,
// within a bandwidth budget, persisting its progress in the store so a
// restart resumes where it stopped.
type Filler struct {
	store *Store
	src   Source
	opts  FillerOptions
	log   *slog.Logger
	clock clock.Clock
	tb    *bucket

	mu   sync.Mutex
	prog Progress
}

// errMerged ends a pre-merge fill at the first proof-of-stake block.
var errMerged = errors.New("history: reached the merge")

// NewFiller prepares a Filler; Run starts it.
func NewFiller(s *Store, src Source, opts FillerOptions) (*Filler, error) {
	if opts.BytesPerSecond <= 0 {
		return nil, fmt.Errorf("history: the fill budget must be positive, got %d bytes per second", opts.BytesPerSecond)
	}
	if opts.Keep.IsNone() {
		opts.Keep = s.opts.Keep
	}
	if opts.Burst <= 0 {
		opts.Burst = opts.BytesPerSecond
	}
	if opts.Idle <= 0 {
		opts.Idle = DefaultFillIdle
	}
	if opts.Clock == nil {
		opts.Clock = clock.Real{}
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	f := &Filler{store: s, src: src, opts: opts, log: log, clock: opts.Clock,
		tb: newBucket(opts.Clock, opts.BytesPerSecond, opts.Burst)}
	saved, err := s.loadFill()
	if err != nil {
		return nil, err
	}
	f.prog.Next = opts.Keep.Start()
	if saved != nil && saved.Keep == opts.Keep.String() {
		f.prog.Next, f.prog.Done = saved.Next, saved.Done
	}
	return f, nil
}

// Progress returns where the filler is.
func (f *Filler) Progress() Progress {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.prog
}

// Run fills until ctx ends (returning its error), the range is complete
// (nil), or the store is full (an error wrapping ErrFull). A range with no
// end (all, from N) follows the head.
func (f *Filler) Run(ctx context.Context) error {
	if f.opts.Keep.IsNone() || f.Progress().Done {
		return nil
	}
	var head uint64
	known := false
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		next := f.Progress().Next
		if !known || next > head {
			var err error
			if head, err = f.src.Head(ctx); err != nil && ctx.Err() == nil {
				f.log.Warn("history fill: head", "err", err)
			}
			known = err == nil
			if err != nil || next > head {
				if err := f.sleep(ctx, f.opts.Idle); err != nil {
					return err
				}
				continue
			}
		}
		err := f.fill(ctx, next)
		switch {
		case err == nil:
			f.advance(next+1, false)
		case errors.Is(err, errMerged):
			f.advance(next, true)
			f.log.Info("history fill: pre-merge range complete", "merge_block", next)
			return nil
		case errors.Is(err, ErrFull):
			f.mu.Lock()
			f.prog.Full = true
			f.mu.Unlock()
			f.log.Warn("history fill: store full, stopping", "block", next, "err", err)
			return err
		case ctx.Err() != nil:
			return ctx.Err()
		default:
			f.failed(next, err)
			if err := f.sleep(ctx, f.opts.Idle); err != nil {
				return err
			}
		}
	}
}

// failed records a failed fill of block n.
func (f *Filler) failed(n uint64, err error) {
	var lie *verify.Error
	if errors.As(err, &lie) || errors.Is(err, verify.ErrMalformed) || errors.Is(err, verify.ErrTooLarge) {
		f.mu.Lock()
		f.prog.Rejected++
		f.mu.Unlock()
		if f.opts.OnReject != nil {
			f.opts.OnReject(n, err)
		}
	}
	f.log.Warn("history fill: block failed, will retry", "block", n, "err", err)
}

// advance records progress in memory and in the store.
func (f *Filler) advance(next uint64, done bool) {
	f.mu.Lock()
	f.prog.Next, f.prog.Done = next, done
	if !done {
		f.prog.Blocks++
	}
	f.mu.Unlock()
	if err := f.store.saveFill(&fillState{Keep: f.opts.Keep.String(), Next: next, Done: done}); err != nil {
		f.log.Warn("history fill: save progress", "err", err)
	}
}

// fill fetches, verifies and stores block n, each fetch within budget.
func (f *Filler) fill(ctx context.Context, n uint64) error {
	if err := f.tb.wait(ctx); err != nil {
		return err
	}
	h, prov, err := f.src.CanonicalHeader(ctx, n)
	if err != nil {
		return fmt.Errorf("header: %w", err)
	}
	if h == nil || h.Number == nil || h.Number.Uint64() != n {
		return fmt.Errorf("the source gave no header for block %d", n)
	}
	preMerge := h.Difficulty != nil && h.Difficulty.Sign() > 0
	if f.opts.Keep == KeepPreMerge && !preMerge {
		return errMerged
	}
	hash := h.Hash()
	f.spend(headerSize(h))
	if !f.store.Has(hash, HeaderPart) {
		if err := f.store.PutHeader(h); err != nil {
			return err
		}
	}
	if !f.store.Has(hash, BodyPart) {
		if err := f.tb.wait(ctx); err != nil {
			return err
		}
		raw, err := f.src.Body(ctx, hash, n)
		if err != nil {
			return fmt.Errorf("body: %w", err)
		}
		f.spend(int64(len(raw)))
		if err := f.store.PutBodyRLP(hash, raw); err != nil {
			return err
		}
	}
	if !f.store.Has(hash, ReceiptsPart) {
		if err := f.tb.wait(ctx); err != nil {
			return err
		}
		raw, enc, err := f.src.Receipts(ctx, hash, n)
		if err != nil {
			return fmt.Errorf("receipts: %w", err)
		}
		f.spend(int64(len(raw)))
		if err := f.store.PutReceiptsRLP(hash, raw, enc); err != nil {
			return err
		}
	}
	return f.store.SetCanonical(n, hash, prov)
}

// spend takes fetched bytes from the budget.
func (f *Filler) spend(n int64) {
	f.tb.take(n)
	f.mu.Lock()
	f.prog.Bytes += n
	f.mu.Unlock()
}

// headerSize is the RLP size of a fetched header.
func headerSize(h *types.Header) int64 {
	raw, err := rlp.EncodeToBytes(h)
	if err != nil {
		return 0
	}
	return int64(len(raw))
}

// sleep waits d on the filler's clock.
func (f *Filler) sleep(ctx context.Context, d time.Duration) error {
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-f.clock.After(d):
		return nil
	}
}

// fillState is the Filler's progress as the store keeps it.
type fillState struct {
	Keep string
	Next uint64
	Done bool
}

// loadFill reads the Filler's saved progress; nil when there is none.
func (s *Store) loadFill() (*fillState, error) {
	raw, err := s.kv.Get([]byte(fillKey))
	if err != nil || len(raw) == 0 {
		return nil, nil // no progress saved yet
	}
	st := new(fillState)
	if err := rlp.DecodeBytes(raw, st); err != nil {
		s.log.Warn("history: unreadable fill progress, starting over", "err", err)
		return nil, nil
	}
	return st, nil
}

// saveFill writes the Filler's progress.
func (s *Store) saveFill(st *fillState) error {
	raw, err := rlp.EncodeToBytes(st)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	return s.kv.Put([]byte(fillKey), raw)
}
