package archive

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"

	"github.com/braidrpc/braid/internal/block"
	"github.com/braidrpc/braid/internal/clock"
	"github.com/braidrpc/braid/internal/config"
	"github.com/braidrpc/braid/internal/ethjson"
	"github.com/braidrpc/braid/internal/history"
	"github.com/braidrpc/braid/internal/ledger"
	"github.com/braidrpc/braid/internal/peers"
	"github.com/braidrpc/braid/internal/trust"
	"github.com/braidrpc/braid/internal/verify"
)

// Reader is what the archive needs of braid's verified reader
// (internal/trust): canonical hashes and headers from the trusted path,
// and a block's verified body and receipts while providers serve them.
type Reader interface {
	CanonicalHash(ctx context.Context, number uint64) (common.Hash, error)
	CanonicalRange(ctx context.Context, from, to uint64) ([]common.Hash, error)
	CanonicalBelow(ctx context.Context, from *types.Header, number uint64) (common.Hash, error)
	PrunedHeader(ctx context.Context, hash common.Hash) (*types.Header, error)
	Body(ctx context.Context, h *types.Header) (*types.Body, error)
	BlockTxs(ctx context.Context, h *types.Header) ([]*types.Transaction, error)
	BlockReceipts(ctx context.Context, h *types.Header) (types.Receipts, error)
	LogFilter(raw json.RawMessage) (*verify.LogFilter, error)
	MaxLogRange() uint64
}

var _ Reader = (*trust.Reader)(nil)

// Options configure an Archive.
type Options struct {
	Network string
	ChainID uint64
	Peers   config.Peers // the network's peers section, defaults applied
	Reader  Reader
	// Tip is the network's served tip.
	Tip func() block.Tip
	// ParentWalk is verify.parent_walk: how far above a number the store
	// is searched for a canonical block to walk parent hashes down from.
	ParentWalk int
	// Agreed gives headers agreed by the network's quorum of operators,
	// for finalized numbers braid's proofs do not reach (nil: none — no
	// quorum, or strict mode, which stays proof-only).
	Agreed AgreedHeaders
	// Strict is verify: strict: the archive trusts only canonical records
	// braid proved (history.Proven), never one an operators' quorum
	// settled, even when the store holds it from before.
	Strict bool
	// EraChecksums are the published era1 file sums that anchor an era
	// import's headers (history.ImportEra); nil: the ones braid ships for
	// ChainID (mainnet, Sepolia), if any.
	EraChecksums history.EraChecksums
	// Registry is what the gateway's archives share of its metrics
	// registry (nil: no metrics).
	Registry *Registry
	Logger   *slog.Logger
	Clock    clock.Clock
}

// Archive is a network's history (peers.enabled): the store of verified
// chain content, the peer node that serves it and fetches what it lacks,
// the peer ledger, and the background filler of the keep range.
type Archive struct {
	network string
	store   *history.Store
	node    *peers.Node
	led     *ledger.Ledger
	render  *ethjson.Renderer
	reader  Reader
	agreed  AgreedHeaders // Options.Agreed
	strict  bool          // Options.Strict
	tip     func() block.Tip
	keep    history.Keep
	walk    uint64 // Options.ParentWalk
	eraSums history.EraChecksums
	fill    config.PeerFill
	log     *slog.Logger
	clock   clock.Clock

	counts  sourceCounts
	metrics *metrics
	kept    *keeper
	locate  *locator

	mu     sync.Mutex
	filler *history.Filler
	// runCtx is cancelled by Close before the peer node stops: it ends
	// the fill; the ledger's Run has its own, cancelled after the node
	// stopped (so its last flush sees every transfer).
	runCtx    context.Context
	runCancel context.CancelFunc
	ledCtx    context.Context
	ledCancel context.CancelFunc
	ledDone   chan struct{}
	wg        sync.WaitGroup
	started   bool

	closeOnce sync.Once
	closeErr  error
}

// Open opens the network's history store and ledger and starts its peer
// node. Start runs its background work.
func Open(opts Options) (*Archive, error) {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Clock == nil {
		opts.Clock = clock.Real{}
	}
	pc := opts.Peers
	cc, ok := ethjson.ChainConfig(opts.ChainID)
	if !ok {
		return nil, fmt.Errorf("peers: chain id %d has no chain configuration braid knows (mainnet, sepolia, hoodi, the devnet), so history cannot be rendered as a node would", opts.ChainID)
	}
	keep, err := history.ParseKeep(pc.Keep)
	if err != nil {
		return nil, fmt.Errorf("peers.keep: %w", err)
	}
	sums := opts.EraChecksums
	if sums == nil {
		if sums, err = history.PublishedEraChecksums(opts.ChainID); err != nil {
			return nil, fmt.Errorf("peers: %w", err)
		}
	}
	log := opts.Logger.With("network", opts.Network, "component", "history")
	a := &Archive{network: opts.Network, render: ethjson.New(cc), reader: opts.Reader, agreed: opts.Agreed, strict: opts.Strict, tip: opts.Tip, keep: keep,
		walk: uint64(max(opts.ParentWalk, 0)), eraSums: sums, fill: pc.Fill, log: log, clock: opts.Clock, metrics: opts.Registry.metricsFor()}
	if err := os.MkdirAll(pc.Store.Path, 0o700); err != nil {
		return nil, fmt.Errorf("peers.store.path: %w", err)
	}
	if a.led, err = openLedger(pc, opts.Registry, a.tipNumber, a); err != nil {
		return nil, err
	}
	a.runCtx, a.runCancel = context.WithCancel(context.Background())
	a.ledCtx, a.ledCancel = context.WithCancel(context.Background())
	var node *peers.Node
	var nodeMu sync.Mutex
	a.store, err = history.Open(pc.Store.Path, history.Options{MaxBytes: pc.Store.MaxBytes, Keep: keep, CacheMB: pc.Store.CacheMB,
		Keeper: a.led.Keeper(), Logger: log, Clock: opts.Clock, Notify: func(ev history.Event) {
			nodeMu.Lock()
			nd := node
			nodeMu.Unlock()
			if nd != nil {
				nd.OnStored(ev)
			}
			a.led.OnStored(ev)
		}})
	if err != nil {
		a.runCancel()
		a.ledCancel()
		return nil, errors.Join(fmt.Errorf("peers: history store: %w", err), a.led.Close())
	}
	nd, err := peers.New(nodeOptions(pc, opts, a))
	if err != nil {
		a.runCancel()
		a.ledCancel()
		return nil, errors.Join(fmt.Errorf("peers: %w", err), a.led.Close(), a.store.Close())
	}
	nodeMu.Lock()
	node = nd
	nodeMu.Unlock()
	a.node = nd
	a.locate = newLocator(nd)
	a.kept = newKeeper(a)
	// Announce what the store already holds (a restart).
	for _, it := range a.store.Items() {
		nd.OnStored(history.Event{Hash: it.Hash, Number: it.Number, Parts: it.Parts})
	}
	opts.Registry.add(a)
	log.Info("history store and peer node up", "peer_id", nd.ID().String(), "addrs", nd.Addrs(),
		"store", pc.Store.Path, "max_bytes", pc.Store.MaxBytes, "keep", keep.String(), "blocks", a.store.Stats().Blocks)
	return a, nil
}

// nodeOptions are the peer node's options: the store as its holder, the
// ledger as its Ledger and Ranker; the registry's metrics go to the first
// network's node only.
func nodeOptions(pc config.Peers, opts Options, a *Archive) peers.Options {
	po := peers.Options{IdentityFile: pc.Identity, Listen: pc.Listen, Announce: pc.Announce, Bootstrap: pc.Bootstrap,
		Allow: pc.Allow, DialRanges: pc.DialRanges, Holder: a.store, Head: a.tipNumber, Clock: opts.Clock, Logger: a.log,
		Ledger: a.led, Ranker: a.led,
		Limits: peers.Limits{Rate: pc.Limits.Rate, Burst: pc.Limits.Burst, StreamsPerPeer: pc.Limits.StreamsPerPeer,
			Serving: pc.Limits.Serving, Peers: pc.Limits.MaxPeers, Memory: pc.Limits.MemoryBytes, ContentMemory: pc.Limits.MemoryBytes / 2}}
	po.Registerer = opts.Registry.takeNode()
	return po
}

// Start runs the archive's background work until Close: the fill of the
// keep range (until it completes, the store is full or ctx ends), the
// ledger's tasks and the keeping of what the verified reader verified for
// clients. A second call does nothing.
func (a *Archive) Start(ctx context.Context) {
	if a == nil {
		return
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.started || a.runCtx.Err() != nil {
		return
	}
	a.started = true
	a.wg.Add(1)
	go func() {
		defer a.wg.Done()
		a.kept.run(a.runCtx)
	}()
	if !a.keep.IsNone() {
		a.wg.Add(1)
		go func() {
			defer a.wg.Done()
			fctx, cancel := context.WithCancel(a.runCtx)
			defer cancel()
			defer context.AfterFunc(ctx, cancel)()
			a.runFill(fctx, fillSource{a})
		}()
	}
	a.ledDone = make(chan struct{})
	go func() {
		defer close(a.ledDone)
		_ = a.led.Run(a.ledCtx, ledger.Tasks{Network: a.node, Headers: fillSource{a}, Store: a.store, Fill: a.ledgerFill})
	}()
}

// runFill fills the keep range from src until ctx ends, the range is
// complete or the store is full. A source that fails is retried by the
// filler after its idle wait.
func (a *Archive) runFill(ctx context.Context, src history.Source) {
	f, err := history.NewFiller(a.store, src, history.FillerOptions{BytesPerSecond: a.fill.BytesPerSecond, Idle: a.fill.Idle,
		Logger: a.log, Clock: a.clock, OnReject: func(number uint64, err error) {
			a.log.Warn("history fill: content failed verification", "block", number, "err", err)
		}})
	if err != nil {
		a.log.Error("history fill not started", "err", err)
		return
	}
	a.mu.Lock()
	a.filler = f
	a.mu.Unlock()
	if err := f.Run(ctx); err != nil && ctx.Err() == nil {
		a.log.Warn("history fill stopped", "err", err, "progress", fmt.Sprintf("%+v", f.Progress()))
		return
	}
	if ctx.Err() == nil {
		a.log.Info("history fill complete", "keep", a.keep.String())
	}
}

// progress is the filler's progress, if it runs.
func (a *Archive) progress() (history.Progress, bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.filler == nil {
		return history.Progress{}, false
	}
	return a.filler.Progress(), true
}

// Close stops the background work and the peer node, then the ledger's
// tasks, closes the ledger (a last flush) and then the store; again, it
// does nothing.
func (a *Archive) Close() error {
	if a == nil {
		return nil
	}
	a.closeOnce.Do(func() {
		a.runCancel()
		a.wg.Wait()
		err := a.node.Close()
		a.mu.Lock()
		a.ledCancel()
		done := a.ledDone
		a.mu.Unlock()
		if done != nil {
			<-done
		}
		a.closeErr = errors.Join(err, a.led.Close(), a.store.Close())
	})
	return a.closeErr
}

// tipNumber is the served tip's number, for the peer layer's content ages.
func (a *Archive) tipNumber() (uint64, bool) {
	t := a.tip()
	return t.Latest.Number, t.Known
}

// ErrNoHistory is returned for a network without peers.enabled.
var ErrNoHistory = errors.New("the network has no history store (peers.enabled is off)")

// ImportEra seeds the store from the era1 files in dir, checking every
// block against its header: from the file itself when the file's published
// SHA-256 matches (Options.EraChecksums), else the one braid's trusted
// path gives for its number (history.ImportEra). The gateway must have
// started (a served tip) for files that are not published.
func (a *Archive) ImportEra(ctx context.Context, dir string) (history.ImportStats, error) {
	if a == nil {
		return history.ImportStats{}, ErrNoHistory
	}
	return history.ImportEra(ctx, a.store, dir, fillSource{a}, a.eraSums)
}

// Addrs are the addresses of the peer node, ending in /p2p/<id>
// (bootstrap entries for other gateways); nil for a nil Archive.
func (a *Archive) Addrs() []string {
	if a == nil {
		return nil
	}
	return a.node.Addrs()
}
