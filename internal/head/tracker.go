// Package head owns each upstream's view of the chain head (its latest,
// safe and finalized blocks, learnt by polling and, where the provider has
// a WebSocket endpoint, by a newHeads subscription) and the network's
// served tip: the highest block hash held by enough distinct operators.
//
// The served tip is what braid pins reads to. It advances only on
// agreement and moves back only when a majority of operators shows a
// reorg; an operator going down or lagging never moves it back.
package head

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/braidrpc/braid/internal/block"
	"github.com/braidrpc/braid/internal/clock"
	"github.com/braidrpc/braid/internal/config"
	"github.com/braidrpc/braid/internal/upstream"
)

// DefaultPollInterval is how often each upstream is polled when
// Options.PollInterval is zero.
const DefaultPollInterval = 2 * time.Second

// Heads is one upstream's report of its chain head. A zero Safe or
// Finalized means unknown (e.g. a chain without those tags).
type Heads struct {
	Latest    block.Block `json:"latest"`
	Safe      block.Block `json:"safe"`
	Finalized block.Block `json:"finalized"`
	UpdatedAt time.Time   `json:"updatedAt"`
}

// Options configure a Tracker.
type Options struct {
	// PollInterval between two polls of one upstream (default 2s).
	PollInterval time.Duration
	// MinOperators is how many distinct operators must hold a block before
	// it is served. 0: a majority of the distinct operators of the
	// upstreams given to New.
	MinOperators int
	// StallAfter is how long the highest head a usable upstream reports
	// may stay above the served tip, with the tip not moving, before the
	// tip counts as stalled (logged, and reported by Progress). 0: the
	// longer of DefaultStallAfter and five poll intervals.
	StallAfter time.Duration
	Clock      clock.Clock           // nil: the wall clock
	Logger     *slog.Logger          // nil: discard
	Registry   prometheus.Registerer // nil: no metrics
	// OnTip is called, outside the tracker's locks and in order, after
	// every change of the served tip.
	OnTip func(block.Tip)
	// External makes the served tip come from outside (SetTip: a beacon
	// light client) instead of the operators' agreement. The upstreams'
	// reports still decide who can answer (Lag, Progress, metrics).
	External bool
	// ChainID, when not 0, is the chain every upstream must confirm
	// (upstream.Verify) before it is used: Start checks each one and
	// polls it at once when it confirms (confirm.go). 0: the caller
	// verifies the upstreams.
	ChainID uint64
	// Assess makes Start re-derive each upstream's condition from its lag
	// every assessInterval, MaxLag blocks behind the tip allowed.
	Assess bool
	MaxLag uint64
}

// Sentinel errors of PollOnce.
var (
	// ErrUnknownUpstream: the upstream was not given to New.
	ErrUnknownUpstream = errors.New("head: upstream not tracked")
	// ErrNotUsable: the upstream may not be sent requests (unverified or
	// quarantined); it was not polled.
	ErrNotUsable = errors.New("head: upstream not usable")
	// ErrBudget: the upstream's rate budget refused; the poll was skipped.
	ErrBudget = errors.New("head: poll skipped, rate budget exhausted")
)

// upState is what the tracker knows of one upstream. Guarded by Tracker.mu.
type upState struct {
	u        *upstream.Upstream
	heads    Heads
	reported bool
	view     chainView
	// seq counts the reports recorded; a poll notes it when sent, to tell
	// whether a fresher report overtook it (stale).
	seq uint64

	// Polling bookkeeping (poll.go).
	batchRefused bool
	round        uint64 // polls made
	extrasRound  uint64 // round of the last safe/finalized fetch in single-call mode
	extrasDone   bool
	failing      bool
	wake         chan struct{} // PollNow: poll at once
}

// overtaken reports whether latest, learnt by a request sent when st had
// recorded sentAt reports, is stale: a report recorded since (the
// WebSocket follower's, while the poll was out) already showed a later
// block on the same chain. Keeping the lower one would make the upstream
// look behind a tip it helped to serve, until its next poll.
func (st *upState) overtaken(sentAt uint64, latest block.Block) bool {
	if st.seq == sentAt || !st.reported || latest.Number >= st.heads.Latest.Number {
		return false
	}
	e, ok := st.view[latest.Number]
	return ok && e.hash == latest.Hash
}

// Tracker follows the heads of one network's upstreams and computes the
// served tip.
type Tracker struct {
	network  string
	ups      []*upstream.Upstream
	interval time.Duration
	k        int
	// stallAfter is the resolved Options.StallAfter (progress.go).
	stallAfter time.Duration
	clock      clock.Clock
	log        *slog.Logger
	metrics    *metrics
	onTip      func(block.Tip)
	external   bool // Options.External
	chainID    uint64
	assess     bool
	maxLag     uint64
	confirmed  chan struct{} // closed once every upstream's chain id was asked once

	mu         sync.Mutex
	states     map[*upstream.Upstream]*upState
	tip        block.Tip
	served     map[uint64]common.Hash // the chain braid has served, by number
	finWarned  block.Block            // last conflicting finalized block warned about
	stall      stallState
	known      chan struct{} // closed when the first tip has been handed to OnTip
	knownOnce  sync.Once
	pending    []block.Tip // OnTip calls not yet made
	delivering bool

	life    sync.Mutex
	started bool
	closed  bool
	cancel  context.CancelFunc
	wg      sync.WaitGroup
}

// New returns a Tracker for the upstreams of network. It does nothing until
// Start; Observe and PollOnce work without it.
func New(network string, ups []*upstream.Upstream, opts Options) *Tracker {
	if opts.PollInterval <= 0 {
		opts.PollInterval = DefaultPollInterval
	}
	if opts.Clock == nil {
		opts.Clock = clock.Real{}
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	operators := map[string]bool{}
	for _, u := range ups {
		operators[u.Operator] = true
	}
	k := opts.MinOperators
	if opts.External {
		k = 1 // one operator holding the trusted block can answer for it
	} else if k <= 0 {
		k = len(operators)/2 + 1
	}
	t := &Tracker{
		network:    network,
		ups:        append([]*upstream.Upstream(nil), ups...),
		interval:   opts.PollInterval,
		k:          k,
		stallAfter: stallAfterFor(opts.StallAfter, opts.PollInterval),
		clock:      opts.Clock,
		log:        opts.Logger.With("network", network),
		metrics:    newMetrics(opts.Registry),
		onTip:      opts.OnTip,
		external:   opts.External,
		chainID:    opts.ChainID,
		assess:     opts.Assess,
		maxLag:     opts.MaxLag,
		confirmed:  make(chan struct{}),
		states:     make(map[*upstream.Upstream]*upState, len(ups)),
		served:     map[uint64]common.Hash{},
		known:      make(chan struct{}),
	}
	t.stall.made = opts.Clock.Now()
	t.stall.movedAt = t.stall.made
	for _, u := range ups {
		t.states[u] = &upState{u: u, view: chainView{}, wake: make(chan struct{}, 1)}
	}
	if k > len(operators) {
		t.log.Warn("min_operators exceeds the number of operators: no tip will be served",
			"min_operators", k, "operators", len(operators))
	}
	return t
}

// NewNetwork is the tracker of network nc's upstreams as configured
// (defaults applied): its head section, its chain id confirmed before an
// upstream is used, the upstreams' conditions assessed, and under trust:
// beacon a tip decided outside. opts gives the clock, logger, registry
// and OnTip.
func NewNetwork(nc config.Network, ups []*upstream.Upstream, opts Options) *Tracker {
	opts.PollInterval, opts.MinOperators, opts.StallAfter = nc.Head.PollInterval, nc.Head.MinOperators, nc.Head.StallAfter
	opts.External, opts.ChainID = nc.Trust.Beacon(), nc.ChainID
	opts.Assess, opts.MaxLag = true, nc.Head.MaxLagBlocks
	return New(nc.Name, ups, opts)
}

// Start launches one poller per upstream and a newHeads follower per
// upstream with a WebSocket URL (and, as Options ask, the chain id checks
// and the condition assessment), and returns at once. They run until ctx
// ends or Close. Start after Start or Close does nothing.
func (t *Tracker) Start(ctx context.Context) {
	t.life.Lock()
	defer t.life.Unlock()
	if t.started || t.closed {
		return
	}
	t.started = true
	ctx, t.cancel = context.WithCancel(ctx)
	t.startConfirming(ctx)
	for _, u := range t.ups {
		t.wg.Add(1)
		go t.pollLoop(ctx, u)
		if u.WSURL != "" {
			t.wg.Add(1)
			go t.follow(ctx, u)
		}
	}
}

// Close stops the pollers and followers and waits for them. In-flight
// requests are cancelled. It is safe to call more than once.
func (t *Tracker) Close() {
	t.life.Lock()
	t.closed = true
	if t.cancel != nil {
		t.cancel()
	}
	t.life.Unlock()
	t.wg.Wait()
}

// Tip returns the served tip.
func (t *Tracker) Tip() block.Tip {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.tip
}

// Known is closed once the served tip is first known and OnTip has been
// called with it.
func (t *Tracker) Known() <-chan struct{} { return t.known }

// MinOperators is how many distinct operators must hold a block for it to
// be served.
func (t *Tracker) MinOperators() int { return t.k }

// Heads returns u's last reported heads; false if it has not reported.
func (t *Tracker) Heads(u *upstream.Upstream) (Heads, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	st := t.states[u]
	if st == nil || !st.reported {
		return Heads{}, false
	}
	return st.heads, true
}

// Head is the highest block u reported holding (the router's view of how
// far u's chain reaches). That is its latest block, except in a poll
// answered while a block arrived, where "safe" (read after "latest") can
// be newer; the tip counts that block as held, so routing must too.
func (t *Tracker) Head(u *upstream.Upstream) (uint64, bool) {
	hs, ok := t.Heads(u)
	if !ok || hs.Latest.IsZero() {
		return 0, false
	}
	return max(hs.Latest.Number, hs.Safe.Number, hs.Finalized.Number), true
}

// Lag is how many blocks u's latest is behind the served tip (0 when at or
// above it); known is false when either is unknown.
func (t *Tracker) Lag(u *upstream.Upstream) (lag uint64, known bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.lagLocked(t.states[u])
}

func (t *Tracker) lagLocked(st *upState) (uint64, bool) {
	if st == nil || !st.reported || !t.tip.Known {
		return 0, false
	}
	if tip, own := t.tip.Latest.Number, st.heads.Latest.Number; tip > own {
		return tip - own, true
	}
	return 0, true
}

// Observe records u's report and recomputes the served tip. Reports with
// an unknown Latest, and reports of upstreams not given to New, are
// ignored.
func (t *Tracker) Observe(u *upstream.Upstream, h Heads) { t.observe(u, h, false, nil) }

// observeLatest records a new latest block for u, keeping its safe and
// finalized blocks (the WebSocket follower learns only headers).
func (t *Tracker) observeLatest(u *upstream.Upstream, b block.Block) {
	t.observe(u, Heads{Latest: b}, true, nil)
}

// observe records h for u. sentAt, when set, is u's report count when the
// request that learnt h was sent (a poll).
func (t *Tracker) observe(u *upstream.Upstream, h Heads, latestOnly bool, sentAt *uint64) {
	if h.Latest.Hash == (common.Hash{}) {
		return
	}
	t.mu.Lock()
	st := t.states[u]
	if st == nil {
		t.mu.Unlock()
		return
	}
	if latestOnly {
		h.Safe, h.Finalized = st.heads.Safe, st.heads.Finalized
	}
	if sentAt != nil && st.overtaken(*sentAt, h.Latest) {
		h.Latest = st.heads.Latest
	}
	if h.UpdatedAt.IsZero() {
		h.UpdatedAt = t.clock.Now()
	}
	reorgAt, reorged := st.view.record(h)
	st.heads, st.reported = h, true
	st.seq++
	t.metrics.heads(t.network, u, h)
	ch := tipChange{old: t.tip, new: t.tip}
	if !t.external {
		ch = t.recomputeLocked()
	}
	now := t.clock.Now()
	if ch.kind != "" {
		t.tipMovedLocked(now)
	}
	if !t.servedLocked(ch, now) {
		lag, known := t.lagLocked(st)
		t.metrics.lag(t.network, u, lag, known)
	}
	t.mu.Unlock()

	if reorged {
		t.log.Debug("upstream reorged", "upstream", u.Name, "operator", u.Operator,
			"from_number", reorgAt, "latest", h.Latest.Number, "hash", h.Latest.Hash)
	}
	t.report(ch)
	t.flush()
}

// servedLocked records the served tip after ch: how far it is behind, and
// when it changed, the OnTip call it owes and the metrics of the served
// block and of every upstream's lag. It reports whether the tip changed.
func (t *Tracker) servedLocked(ch tipChange, now time.Time) bool {
	t.updateBehindLocked(now)
	if !ch.changed() {
		return false
	}
	t.pending = append(t.pending, ch.new)
	t.metrics.served(t.network, ch.new)
	for _, s := range t.states {
		lag, known := t.lagLocked(s)
		t.metrics.lag(t.network, s.u, lag, known)
	}
	return true
}

// flush makes the pending OnTip calls, in order, outside the lock. One
// goroutine at a time delivers; others leave their tips to it.
func (t *Tracker) flush() {
	t.mu.Lock()
	if t.delivering || t.onTip == nil {
		if t.onTip == nil && t.tip.Known {
			t.knownOnce.Do(func() { close(t.known) })
		}
		t.pending = nil
		t.mu.Unlock()
		return
	}
	t.delivering = true
	for len(t.pending) > 0 {
		batch := t.pending
		t.pending = nil
		t.mu.Unlock()
		for _, tip := range batch {
			t.onTip(tip)
			if tip.Known {
				t.knownOnce.Do(func() { close(t.known) })
			}
		}
		t.mu.Lock()
	}
	t.delivering = false
	t.mu.Unlock()
}

// report logs and counts a change of the served tip.
func (t *Tracker) report(ch tipChange) {
	switch ch.kind {
	case kindFirst:
		t.log.Info("served tip known", "number", ch.new.Latest.Number, "hash", ch.new.Latest.Hash,
			"operators", ch.operators, "min_operators", t.k)
		t.metrics.change(t.network, kindAdvance)
	case kindAdvance:
		t.log.Debug("served tip advanced", "number", ch.new.Latest.Number, "hash", ch.new.Latest.Hash,
			"operators", ch.operators)
		t.metrics.change(t.network, kindAdvance)
	case kindReorg:
		t.log.Info("served tip reorg",
			"old_number", ch.old.Latest.Number, "old_hash", ch.old.Latest.Hash,
			"new_number", ch.new.Latest.Number, "new_hash", ch.new.Latest.Hash,
			"operators", ch.operators, "min_operators", t.k)
		t.metrics.change(t.network, kindReorg)
	}
	if ch.finConflict != nil {
		t.log.Error("operators report a different finalized block; keeping the served one",
			"number", ch.finConflict.Number, "served_hash", ch.new.Finalized.Hash,
			"reported_hash", ch.finConflict.Hash, "operators", ch.finOperators)
	}
}
