// Package chain owns braid's own view of a network's served chain as an
// ordered stream, and its fan-out to subscribers and filters.
//
// A Follower is told each new served tip (the block enough distinct
// operators hold). It emits every block of the served chain exactly once
// and in order: missing blocks are fetched by walking parent hashes back
// to the chain it emitted before, and a reorg becomes one event that
// removes the old branch's blocks and adds the new branch's. Blocks and
// logs come from a Source, which the gateway backs with its normal request
// path, so they are pinned by hash, quorum-checked and verified like any
// client read. No single upstream feeds the stream: when the one that
// answered last dies or lags, the next fetch goes to another, and the
// stream has neither a gap nor a duplicate.
package chain

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"

	"github.com/braidrpc/braid/internal/clock"
)

// Defaults of Options.
const (
	DefaultDepth       = 128
	DefaultMaxBackfill = 1024
	retryStart         = 250 * time.Millisecond
	retryMax           = 5 * time.Second
)

// Header is one block's header as the stream emits it.
type Header struct {
	Number     uint64
	Hash       common.Hash
	ParentHash common.Hash
	// JSON is the header object sent to newHeads subscribers.
	JSON json.RawMessage
}

// Log is one log of an emitted block, with its encodings.
type Log struct {
	*types.Log
	JSON        json.RawMessage // as added ("removed": false)
	RemovedJSON json.RawMessage // as removed by a reorg ("removed": true)
}

// Block is one block of the stream. Logs is nil when no consumer wanted
// logs when the block was added.
type Block struct {
	Header
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
	Header(ctx context.Context, hash common.Hash) (Header, error)
	// Logs returns the logs of the block with that hash, in order.
	Logs(ctx context.Context, hash common.Hash) ([]*types.Log, error)
}

// Options configure a Follower.
type Options struct {
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
type Follower struct {
	src   Source
	clock clock.Clock
	log   *slog.Logger
	depth int
	maxBF int
	delay func(time.Duration)

	wake chan struct{}

	mu       sync.Mutex
	target   Header    // the newest served tip (Number and Hash)
	targetAt time.Time // when it was announced
	// start is the served tip when the first consumer subscribed: the
	// stream sends every block after it. If none was known then, it is
	// the first tip announced since, and startSent says that it is sent
	// too. restart tells Run to drop the chain it followed for earlier
	// consumers.
	start     Header
	startSent bool
	restart   bool
	subs      map[*Subscription]struct{}
	wantLogs  int
	seq       uint64 // of the last event

	// Owned by the Run goroutine.
	chain   []*Block // emitted blocks, contiguous and ascending
	fetched map[common.Hash]Header
}

// New returns a Follower reading from src. Run it with Run.
func New(src Source, opts Options) *Follower {
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
		fetched: make(map[common.Hash]Header),
	}
}

// Advance tells the follower the served tip is now (number, hash). It
// never blocks; only the newest tip matters.
func (f *Follower) Advance(number uint64, hash common.Hash) {
	now := f.clock.Now()
	f.mu.Lock()
	if f.target.Hash != hash {
		f.target, f.targetAt = Header{Number: number, Hash: hash}, now
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
	s := &Subscription{f: f, logs: logs, since: f.seq, fn: fn}
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

// step brings the emitted chain to the current target.
func (f *Follower) step(ctx context.Context) error {
	// The consumers at the start are the ones this step serves: whether
	// logs are fetched is decided for them. One that arrives meanwhile
	// starts with the next event.
	f.mu.Lock()
	target, targetAt, wantLogs := f.target, f.targetAt, f.wantLogs > 0
	start, startSent, restart := f.start, f.startSent, f.restart
	f.restart = false
	served := make(map[*Subscription]bool, len(f.subs))
	for s := range f.subs {
		served[s] = true
	}
	f.mu.Unlock()
	if len(served) == 0 || restart {
		// Nobody listens: fetch nothing. A first consumer again: start
		// afresh from its starting point.
		f.chain = nil
		clear(f.fetched)
	}
	if len(served) == 0 || target.Hash == (common.Hash{}) {
		return nil // no consumer, or no served tip yet
	}
	if len(f.chain) == 0 {
		base, err := f.base(ctx, start, startSent)
		if err != nil {
			return err
		}
		f.chain = []*Block{{Header: base}}
	}
	if f.top().Hash == target.Hash {
		return nil
	}
	added, join, err := f.walk(ctx, target)
	if err != nil {
		return err
	}
	if wantLogs {
		if err := f.fetchLogs(ctx, added); err != nil {
			return err
		}
	}
	removed, keep := f.splice(join, added, target)
	f.publish(served, keep, added, removed)
	if f.delay != nil && len(added) > 0 && added[len(added)-1].Hash == target.Hash {
		f.delay(f.clock.Now().Sub(targetAt))
	}
	return nil
}

// walk fetches the blocks from the target back to one already emitted
// (join, its index in f.chain) and returns them ascending. join is -1
// when the walk ends below the remembered blocks or at the backfill limit.
func (f *Follower) walk(ctx context.Context, target Header) (added []*Block, join int, err error) {
	var branch []Header // descending
	hash, num := target.Hash, target.Number
	join = -1
	for {
		if i := f.index(num); i >= 0 && f.chain[i].Hash == hash {
			join = i
			break
		}
		if len(branch) == f.maxBF {
			f.log.Warn("block stream skipped a gap longer than the backfill limit",
				"from", f.top().Number, "to", target.Number, "max_backfill", f.maxBF)
			break
		}
		h, err := f.header(ctx, hash, num)
		if err != nil {
			return nil, 0, err
		}
		branch = append(branch, h)
		if num == 0 || num-1 < f.chain[0].Number {
			// Below what is remembered: a reorg deeper than Depth, or
			// a restart of the chain. Emit from here.
			f.log.Warn("block stream reorg reaches below the blocks it remembers",
				"number", num, "remembered_from", f.chain[0].Number)
			break
		}
		hash, num = h.ParentHash, num-1
	}
	added = make([]*Block, 0, len(branch))
	for i := len(branch) - 1; i >= 0; i-- {
		added = append(added, &Block{Header: branch[i]})
	}
	return added, join, nil
}

// fetchLogs fetches and encodes the logs of blocks.
func (f *Follower) fetchLogs(ctx context.Context, blocks []*Block) error {
	for _, b := range blocks {
		logs, err := f.src.Logs(ctx, b.Hash)
		if err != nil {
			return fmt.Errorf("logs of block %d %s: %w", b.Number, b.Hash, err)
		}
		if b.Logs, err = encodeLogs(b.Header, logs); err != nil {
			return err
		}
	}
	return nil
}

// splice works out which emitted blocks the new ones replace (removed)
// and which they extend (keep).
func (f *Follower) splice(join int, added []*Block, target Header) (removed, keep []*Block) {
	keep = f.chain
	if join >= 0 {
		removed, keep = f.chain[join+1:], f.chain[:join+1]
	} else if len(added) > 0 {
		cut := len(f.chain)
		for i, b := range f.chain {
			if b.Number >= added[0].Number {
				cut = i
				break
			}
		}
		removed, keep = f.chain[cut:], f.chain[:cut]
		if cut == 0 || keep[cut-1].Number+1 != added[0].Number {
			keep = nil // a gap: memory restarts at the new blocks
		}
	}
	if len(removed) > 0 {
		f.log.Info("block stream reorg", "removed", len(removed), "added", len(added),
			"from", removed[0].Number, "new_head", target.Number, "new_hash", target.Hash)
	}
	for _, b := range removed {
		for i := range b.Logs {
			if b.Logs[i].RemovedJSON == nil {
				b.Logs[i].RemovedJSON = encodeRemoved(b.Logs[i].Log)
			}
		}
	}
	return removed, keep
}

// publish makes keep+added the emitted chain and sends the event to the
// consumers this step serves.
func (f *Follower) publish(served map[*Subscription]bool, keep, added, removed []*Block) {
	type delivery struct {
		s     *Subscription
		since uint64
	}
	f.mu.Lock()
	f.seq++
	seq := f.seq
	subs := make([]delivery, 0, len(f.subs))
	for s := range f.subs {
		if !served[s] {
			s.since = seq // it was not sent these blocks: never take them back
			continue
		}
		subs = append(subs, delivery{s, s.since})
	}
	f.mu.Unlock()
	for _, b := range added {
		b.seq = seq
	}
	chain := append(slices.Clip(keep), added...)
	if len(chain) > f.depth {
		chain = chain[len(chain)-f.depth:]
	}
	f.chain = chain
	clear(f.fetched)

	for _, d := range subs {
		ev := Event{Added: added, Removed: removed}
		if len(removed) > 0 && removed[0].seq <= d.since {
			// Only what this consumer was sent can be taken back.
			ev.Removed = nil
			for _, b := range removed {
				if b.seq > d.since {
					ev.Removed = append(ev.Removed, b)
				}
			}
		}
		d.s.deliver(ev)
	}
}

// base is the block the stream starts after, itself never sent: the
// served tip when the first consumer subscribed or, when none was known
// then (sent), the parent of the first tip announced since. Only its
// number and hash are needed (a walk back joins the chain at it), so the
// starting point is fixed at Subscribe and a failing source cannot move
// it.
func (f *Follower) base(ctx context.Context, start Header, sent bool) (Header, error) {
	if !sent || start.Number == 0 { // nothing comes before genesis
		return Header{Number: start.Number, Hash: start.Hash}, nil
	}
	h, err := f.header(ctx, start.Hash, start.Number)
	if err != nil {
		return Header{}, err
	}
	return Header{Number: h.Number - 1, Hash: h.ParentHash}, nil
}

func (f *Follower) top() *Block { return f.chain[len(f.chain)-1] }

// index is the position of block number n in f.chain, or -1.
func (f *Follower) index(n uint64) int {
	if len(f.chain) == 0 || n < f.chain[0].Number || n > f.top().Number {
		return -1
	}
	return int(n - f.chain[0].Number)
}

// header fetches (or recalls from a failed step) the header of hash and
// checks it is the block number the walk expects.
func (f *Follower) header(ctx context.Context, hash common.Hash, number uint64) (Header, error) {
	if h, ok := f.fetched[hash]; ok {
		return h, nil
	}
	h, err := f.src.Header(ctx, hash)
	if err != nil {
		return Header{}, fmt.Errorf("header %s: %w", hash, err)
	}
	if h.Hash != hash || h.Number != number {
		return Header{}, fmt.Errorf("%w: asked for block %d %s, got %d %s", ErrWrongHeader, number, hash, h.Number, h.Hash)
	}
	if len(f.fetched) < f.maxBF {
		f.fetched[hash] = h
	}
	return h, nil
}

// ErrWrongHeader: the source answered with another block than asked.
var ErrWrongHeader = errors.New("chain: wrong header")

func encodeLogs(h Header, logs []*types.Log) ([]Log, error) {
	out := make([]Log, 0, len(logs))
	for _, l := range logs {
		if l.BlockHash != h.Hash || l.BlockNumber != h.Number {
			return nil, fmt.Errorf("%w: log of block %d %s among the logs of %d %s",
				ErrWrongHeader, l.BlockNumber, l.BlockHash, h.Number, h.Hash)
		}
		b, err := json.Marshal(l)
		if err != nil {
			return nil, fmt.Errorf("encoding log: %w", err)
		}
		out = append(out, Log{Log: l, JSON: b})
	}
	return out, nil
}

func encodeRemoved(l *types.Log) json.RawMessage {
	c := *l
	c.Removed = true
	b, _ := json.Marshal(&c) // it encoded once already
	return b
}
