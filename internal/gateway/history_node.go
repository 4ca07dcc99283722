package gateway

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/braidrpc/braid/internal/clock"
	"github.com/braidrpc/braid/internal/config"
	"github.com/braidrpc/braid/internal/ethjson"
	"github.com/braidrpc/braid/internal/history"
	"github.com/braidrpc/braid/internal/ledger"
	"github.com/braidrpc/braid/internal/peers"
)

// archive is a network's history (peers.enabled): the store of verified
// chain content, the peer node that serves it and fetches what it lacks,
// and the background filler of the keep range. The history stage
// (history_stage.go) answers from it what every provider has pruned.
type archive struct {
	store  *history.Store
	node   *peers.Node
	led    *ledger.Ledger
	render *ethjson.Renderer
	keep   history.Keep
	fill   config.PeerFill
	log    *slog.Logger
	clock  clock.Clock

	counts  sourceCounts
	metrics *historyMetrics

	mu     sync.Mutex
	filler *history.Filler
	// The ledger's Run (startLedger): its context, cancelled by close
	// after the peer node stopped, and done once it returned.
	ledCtx    context.Context
	ledCancel context.CancelFunc
	ledDone   chan struct{}

	closeOnce sync.Once
	closeErr  error
}

// historyRegistry is what the networks' archives share of the gateway's
// metrics registry: the history collectors (registered once), and whether
// a peer node took the registry (one registry takes one node:
// peers.Options.Registerer).
type historyRegistry struct {
	metrics *historyMetrics
	node    bool
	ledger  bool
}

// addArchive opens network n's history store and peer node when its
// config has peers on; on failure every archive opened so far is closed.
func (g *Gateway) addArchive(n *Network, nc config.Network, opts Options, hr *historyRegistry) error {
	if !nc.Peers.Enabled {
		return nil
	}
	if hr.metrics == nil && opts.Registry != nil {
		hr.metrics = newHistoryMetrics(opts.Registry, g)
	}
	a, err := newArchive(nc.Name, nc.ChainID, nc.Peers, opts, hr, n.tipNumber)
	if err != nil {
		g.closeArchives()
		return fmt.Errorf("network %q: %w", nc.Name, err)
	}
	n.archive = a
	return nil
}

// newArchive opens the network's history store and starts its peer node.
// head gives the served tip's number for content ages.
func newArchive(name string, chainID uint64, pc config.Peers, opts Options, hr *historyRegistry, head func() (uint64, bool)) (*archive, error) {
	cc, ok := ethjson.ChainConfig(chainID)
	if !ok {
		return nil, fmt.Errorf("peers: chain id %d has no chain configuration braid knows (mainnet, sepolia, hoodi, the devnet), so history cannot be rendered as a node would", chainID)
	}
	keep, err := history.ParseKeep(pc.Keep)
	if err != nil {
		return nil, fmt.Errorf("peers.keep: %w", err)
	}
	log := opts.Logger.With("network", name, "component", "history")
	a := &archive{render: ethjson.New(cc), keep: keep, fill: pc.Fill, log: log, clock: opts.Clock, metrics: hr.metrics}
	if err := os.MkdirAll(pc.Store.Path, 0o700); err != nil {
		return nil, fmt.Errorf("peers.store.path: %w", err)
	}
	a.led, err = openLedger(pc, opts, hr, head, a)
	if err != nil {
		return nil, err
	}
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
		a.ledCancel()
		return nil, errors.Join(fmt.Errorf("peers: history store: %w", err), a.led.Close())
	}
	nd, err := peers.New(nodeOptions(pc, opts, hr, a, head))
	if err != nil {
		a.ledCancel()
		return nil, errors.Join(fmt.Errorf("peers: %w", err), a.led.Close(), a.store.Close())
	}
	nodeMu.Lock()
	node = nd
	nodeMu.Unlock()
	a.node = nd
	// Announce what the store already holds (a restart).
	for _, it := range a.store.Items() {
		nd.OnStored(history.Event{Hash: it.Hash, Number: it.Number, Parts: it.Parts})
	}
	log.Info("history store and peer node up", "peer_id", nd.ID().String(), "addrs", nd.Addrs(),
		"store", pc.Store.Path, "max_bytes", pc.Store.MaxBytes, "keep", keep.String(), "blocks", a.store.Stats().Blocks)
	return a, nil
}

// nodeOptions are the peer node's options: the store as its holder, the
// ledger as its Ledger and Ranker; the registry's metrics go to the first
// network's node only.
func nodeOptions(pc config.Peers, opts Options, hr *historyRegistry, a *archive, head func() (uint64, bool)) peers.Options {
	po := peers.Options{IdentityFile: pc.Identity, Listen: pc.Listen, Announce: pc.Announce, Bootstrap: pc.Bootstrap,
		Allow: pc.Allow, DialRanges: pc.DialRanges, Holder: a.store, Head: head, Clock: opts.Clock, Logger: a.log,
		Ledger: a.led, Ranker: a.led,
		Limits: peers.Limits{Rate: pc.Limits.Rate, Burst: pc.Limits.Burst, StreamsPerPeer: pc.Limits.StreamsPerPeer,
			Serving: pc.Limits.Serving, Peers: pc.Limits.MaxPeers, Memory: pc.Limits.MemoryBytes, ContentMemory: pc.Limits.MemoryBytes / 2}}
	if opts.Registry != nil && !hr.node {
		po.Registerer = opts.Registry
		hr.node = true
	}
	return po
}

// runFill fills the keep range from src until ctx ends, the range is
// complete or the store is full. A source that fails is retried by the
// filler after its idle wait.
func (a *archive) runFill(ctx context.Context, src history.Source) {
	if a.keep.IsNone() {
		return
	}
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
func (a *archive) progress() (history.Progress, bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.filler == nil {
		return history.Progress{}, false
	}
	return a.filler.Progress(), true
}

// close stops the peer node, then the ledger's tasks, closes the ledger
// (a last flush) and then the store; again, it does nothing.
func (a *archive) close() error {
	a.closeOnce.Do(func() {
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

// historyMetrics are the history stage's collectors.
type historyMetrics struct {
	requests *prometheus.CounterVec
}

func newHistoryMetrics(reg prometheus.Registerer, g *Gateway) *historyMetrics {
	m := &historyMetrics{requests: prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "braid", Name: "history_requests_total",
		Help: "History calls (blocks, transactions, receipts, logs) by network, where the answer came from (provider, store, peer) and result (ok; unavailable: no provider, store or peer had it).",
	}, []string{"network", "source", "result"})}
	reg.MustRegister(m.requests, &storeBytes{g: g})
	return m
}

func (m *historyMetrics) count(network, source, result string) {
	if m != nil {
		m.requests.WithLabelValues(network, source, result).Inc()
	}
}

// storeBytes reports each history store's accounted bytes at scrape time.
type storeBytes struct{ g *Gateway }

var storeBytesDesc = prometheus.NewDesc("braid_history_store_bytes",
	"Bytes the history store accounts (keys, values, per-entry overhead), by network; never above peers.store.max_bytes.",
	[]string{"network"}, nil)

func (s *storeBytes) Describe(ch chan<- *prometheus.Desc) { ch <- storeBytesDesc }

func (s *storeBytes) Collect(ch chan<- prometheus.Metric) {
	for _, n := range s.g.networks {
		if n.archive != nil {
			ch <- prometheus.MustNewConstMetric(storeBytesDesc, prometheus.GaugeValue, float64(n.archive.store.Size()), n.Name)
		}
	}
}

// tipNumber is the served tip's number, for the peer layer's content ages.
func (n *Network) tipNumber() (uint64, bool) {
	t := n.Tip()
	return t.Latest.Number, t.Known
}

// startFill runs the network's history filler in the background until
// Close (or ctx ends).
func (g *Gateway) startFill(ctx context.Context, n *Network) {
	if n.archive == nil || n.archive.keep.IsNone() {
		return
	}
	g.wg.Add(1)
	go func() {
		defer g.wg.Done()
		fctx, cancel := context.WithCancel(ctx)
		defer cancel()
		defer context.AfterFunc(g.ctx, cancel)()
		n.archive.runFill(fctx, fillSource{n})
	}()
}

// closeArchives closes every network's history store and peer node.
func (g *Gateway) closeArchives() {
	for _, n := range g.networks {
		if n.archive != nil {
			if err := n.archive.close(); err != nil {
				g.log.Warn("closing history", "network", n.Name, "err", err)
			}
		}
	}
}

// ErrNoHistory is returned for a network without peers.enabled.
var ErrNoHistory = errors.New("the network has no history store (peers.enabled is off)")

// ImportEra seeds the network's history store from the era1 files in dir,
// checking every block against the header braid's trusted path gives for
// its number (history.ImportEra). The gateway must have started (a served
// tip).
func (n *Network) ImportEra(ctx context.Context, dir string) (history.ImportStats, error) {
	if n.archive == nil {
		return history.ImportStats{}, ErrNoHistory
	}
	return history.ImportEra(ctx, n.archive.store, dir, fillSource{n})
}
