package stream

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"

	"github.com/braidrpc/braid/internal/block"
	"github.com/braidrpc/braid/internal/clock"
)

// Defaults of FollowerOptions.
const (
	DefaultDepth       = 128
	DefaultMaxBackfill = 1024
	retryStart         = 250 * time.Millisecond
	retryMax           = 5 * time.Second
)

// Block is one block of the stream. Logs is nil when no consumer wanted
// logs when the block was added.
type Block struct {
	block.Header
	Logs []Log
	seq  uint64
}

// Event is one change of the emitted chain: Removed are the blocks a
// reorg took out (ascending, as go-ethereum emits removed logs), Added the
// blocks that extend the chain (ascending). A consumer sees in Removed only
// blocks it was sent in an earlier Added.
type Event struct {
	Removed []*Block
	Added   []*Block
}

// Source fetches blocks for the follower.
type Source interface {
	// Header returns the header of the block with that hash; an error
	// if it is unknown or cannot be had.
	Header(ctx context.Context, hash common.Hash) (block.Header, error)
	// Logs returns the logs of the block with that hash, in order.
	Logs(ctx context.Context, hash common.Hash) ([]*types.Log, error)
}

// FollowerOptions configure a Follower.
type FollowerOptions struct {
	// Depth is how many emitted blocks are remembered to recognise a
	// reorg (default 128). A reorg deeper than that is emitted from
	// where memory ends.
	Depth int
	// MaxBackfill caps how many missing blocks are fetched to close a
	// gap (default 1024); a longer gap is logged and skipped.
	MaxBackfill int
	Clock       clock.Clock
	Logger      *slog.Logger
	// Delay, when set, is told for every event how long after the
	// served tip it carries was announced (Advance) it went out.
	Delay func(time.Duration)
}

// Follower turns served tips into the ordered block stream. It fetches
// nothing while nobody is subscribed.
//
// It is told each new served tip (the block enough distinct
// operators hold). It emits every block of the served chain exactly once
// and in order: missing blocks are fetched by walking parent hashes back
// to the chain it emitted before, and a reorg becomes one event that
// removes the old branch's blocks and adds the new branch's. Blocks and
// logs come from a Source, which the gateway backs with its normal request
// path, so they are pinned by hash, quorum-checked and verified like any
// client read. No single upstream feeds the stream: when the one that
// answered last dies or lags, the next fetch goes to another, and the
// stream has neither a gap nor a duplicate.
type Follower struct {
	src   Source
	clock clock.Clock
	log   *slog.Logger
	depth int
	maxBF int
	delay func(time.Duration)

	wake chan struct{}

	mu       sync.Mutex
	target   block.Block // the newest served tip (Number and Hash)
	targetAt time.Time   // when it was announced
	// start is the served tip when the first consumer subscribed: the
	// stream sends every block after it. If none was known then, it is
	// the first tip announced since, and startSent says that it is sent
	// too. restart tells Run to drop the chain it followed for earlier
	// consumers.
	start     block.Block
	startSent bool
	restart   bool
	subs      map[*Subscription]struct{}
	wantLogs  int
	seq       uint64 // of the last event
	made      uint64 // subscriptions made

	// Owned by the Run goroutine.
	chain   []*Block // emitted blocks, contiguous and ascending
	fetched map[common.Hash]block.Header
}

// NewFollower returns a Follower reading from src. Run it with Run.
func NewFollower(src Source, opts FollowerOptions) *Follower {
	if opts.Depth <= 0 {
		opts.Depth = DefaultDepth
	}
	if opts.MaxBackfill <= 0 {
		opts.MaxBackfill = DefaultMaxBackfill
	}
	if opts.Clock == nil {
		opts.Clock = clock.Real{}
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	return &Follower{
		src: src, clock: opts.Clock, log: opts.Logger, depth: opts.Depth, maxBF: opts.MaxBackfill, delay: opts.Delay,
		wake: make(chan struct{}, 1), subs: make(map[*Subscription]struct{}),
		fetched: make(map[common.Hash]block.Header),
	}
}

// Advance tells the follower the served tip is now tip (its number and
// hash count). It never blocks; only the newest tip matters.
func (f *Follower) Advance(tip block.Block) {
	now := f.clock.Now()
	f.mu.Lock()
	if f.target.Hash != tip.Hash {
		f.target, f.targetAt = block.Block{Number: tip.Number, Hash: tip.Hash}, now
	}
	if len(f.subs) > 0 && f.start.Hash == (common.Hash{}) {
		// Subscribed before any tip was known: this one is new to them.
		f.start, f.startSent = f.target, true
	}
	f.mu.Unlock()
	f.poke()
}

func (f *Follower) poke() {
	select {
	case f.wake <- struct{}{}:
	default:
	}
}

// Subscription is one consumer of the stream.
type Subscription struct {
	f     *Follower
	order uint64 // consumers are sent each event in the order they subscribed
	logs  bool
	since uint64 // the last event before it started; guarded by Follower.mu

	mu     sync.Mutex
	closed bool
	fn     func(Event)
}

// Subscribe registers fn for every event after this call. fn runs on the
// follower's goroutine, in order, and must not block. logs asks for the
// blocks' logs to be fetched. Cancel stops it; after Cancel returns fn is
// not called again.
//
// The first consumer fixes where the stream starts: the served tip at this
// call. Every block after it is sent, however long the first fetches fail
// meanwhile; with no tip known yet, the first one learnt is sent too.
func (f *Follower) Subscribe(logs bool, fn func(Event)) *Subscription {
	f.mu.Lock()
	if len(f.subs) == 0 {
		f.start, f.startSent, f.restart = f.target, false, true
	}
	f.made++
	s := &Subscription{f: f, order: f.made, logs: logs, since: f.seq, fn: fn}
	f.subs[s] = struct{}{}
	if logs {
		f.wantLogs++
	}
	f.mu.Unlock()
	f.poke()
	return s
}

// Cancel ends the subscription.
func (s *Subscription) Cancel() {
	f := s.f
	f.mu.Lock()
	if _, ok := f.subs[s]; ok {
		delete(f.subs, s)
		if s.logs {
			f.wantLogs--
		}
	}
	f.mu.Unlock()
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
}

func (s *Subscription) deliver(ev Event) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.closed {
		s.fn(ev)
	}
}

// Subscribers counts the current consumers.
func (f *Follower) Subscribers() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.subs)
}

// Run follows the served tip until ctx ends. A failed fetch is retried
// with backoff, or at once when a newer tip arrives.
func (f *Follower) Run(ctx context.Context) {
	backoff := retryStart
	var retry <-chan time.Time
	failing := false
	for {
		select {
		case <-ctx.Done():
			return
		case <-f.wake:
		case <-retry:
		}
		retry = nil
		err := f.step(ctx)
		if ctx.Err() != nil {
			return
		}
		if err == nil {
			if failing {
				f.log.Info("block stream caught up after fetch failures")
			}
			backoff, failing = retryStart, false
			continue
		}
		level := slog.LevelDebug
		if !failing {
			level = slog.LevelWarn
		}
		failing = true
		f.log.Log(ctx, level, "block stream cannot fetch the served chain yet; retrying", "err", err, "retry_in", backoff.String())
		retry = f.clock.After(backoff)
		backoff = min(2*backoff, retryMax)
	}
}
