package gateway

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/braidrpc/braid/internal/archive"
	"github.com/braidrpc/braid/internal/beacon"
	"github.com/braidrpc/braid/internal/block"
	"github.com/braidrpc/braid/internal/cache"
	"github.com/braidrpc/braid/internal/clock"
	"github.com/braidrpc/braid/internal/config"
	"github.com/braidrpc/braid/internal/head"
	"github.com/braidrpc/braid/internal/operator"
	"github.com/braidrpc/braid/internal/quorum"
	"github.com/braidrpc/braid/internal/replica"
	"github.com/braidrpc/braid/internal/report"
	"github.com/braidrpc/braid/internal/route"
	"github.com/braidrpc/braid/internal/status"
	"github.com/braidrpc/braid/internal/trust"
	"github.com/braidrpc/braid/internal/upstream"
)

// Options configure a Gateway.
type Options struct {
	Version string
	// ProbeShare is the share of calls sent first to a random non-best
	// upstream (0: the router's default of 5%; negative: never). Tests
	// that need a deterministic first choice turn it off.
	ProbeShare float64
	Clock      clock.Clock
	Logger     *slog.Logger
	Registry   prometheus.Registerer
}

// disputeLogSize bounds the dispute log shown at /status/disputes.
const disputeLogSize = 256

// Gateway is every configured network's runtime.
type Gateway struct {
	// link and members are the Redis shared with other replicas (nil
	// without redis.url).
	link    *replica.Link
	members *replica.Members

	networks []*Network
	disputes *quorum.Log
	memory   status.MemorySource // the answer cache's size, for Status
	history  *archive.Registry
	byName   map[string]*Network
	log      *slog.Logger
	clock    clock.Clock

	wg   sync.WaitGroup
	once sync.Once
	// ctx ends with Close: every background loop stops on it (besides
	// Start's own context), as does work started on demand (the pending
	// transaction feed).
	ctx    context.Context
	cancel context.CancelFunc
}

// New builds the runtime for cfg, validated and with its defaults applied
// (config.Load, or ApplyDefaults for a Config built in code: New applies
// none). No upstream
// is used until Start has confirmed its chain id. It fails only on a
// policy that Validate cannot check alone (a quorum entry naming a method
// that is not a read).
func New(cfg *config.Config, opts Options) (*Gateway, error) {
	if opts.Clock == nil {
		opts.Clock = clock.Real{}
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Version == "" {
		opts.Version = "dev"
	}
	m := newStageMetrics(opts.Registry)
	g := &Gateway{byName: make(map[string]*Network), log: opts.Logger, clock: opts.Clock,
		disputes: quorum.NewLog(disputeLogSize)}
	if cfg.Redis.URL != "" {
		link, err := replica.NewLink(replica.LinkOptions{URL: cfg.Redis.URL, Prefix: cfg.Redis.Prefix,
			Timeout: cfg.Redis.Timeout, Clock: opts.Clock, Logger: opts.Logger, Registry: opts.Registry})
		if err != nil {
			return nil, fmt.Errorf("redis: %w", err)
		}
		g.link = link
		g.members = replica.NewMembers(link, replica.SyncInterval)
	}
	var shared cache.Store
	if g.link != nil {
		shared = replica.NewCache(g.link, "answers")
	}
	store := cache.New(cfg.Cache, shared, opts.Clock, opts.Registry)
	g.history = archive.NewRegistry(opts.Registry)
	g.memory = status.NewMemorySource(store, cfg.Cache, opts.Registry)
	g.ctx, g.cancel = context.WithCancel(context.Background())
	for _, nc := range cfg.Networks {
		n, err := g.newNetwork(cfg, nc, store, m, opts)
		if err != nil {
			g.closeBeacons()
			g.closeArchives()
			return nil, err
		}
		g.networks = append(g.networks, n)
		g.byName[n.Name] = n
	}
	if opts.Registry != nil {
		opts.Registry.MustRegister(report.NewCollector(g.Centralization))
	}
	return g, nil
}

// Dispute is one quorum read whose operators gave different answers, as
// /status/disputes lists it.
type Dispute = quorum.Dispute

// Disputes returns the recent disputes of every network, newest first.
func (g *Gateway) Disputes() []Dispute { return g.disputes.List() }

// Networks returns the networks in configuration order; the first is the
// default.
func (g *Gateway) Networks() []*Network { return g.networks }

// Network returns the named network, or nil.
func (g *Gateway) Network(name string) *Network { return g.byName[name] }

// Start checks every upstream's chain id and polls each confirmed one at
// once (package head), waiting up to wait for the first round and then
// for every network's first served tip, so that a healthy deployment
// serves from its first request; the upstreams that did not answer are
// asked again in the background. An upstream of another chain is
// quarantined and never used.
func (g *Gateway) Start(ctx context.Context, wait time.Duration) {
	if g.members != nil {
		g.run(ctx, g.members.Run)
	}
	for _, n := range g.networks {
		n.head.Start(ctx)
		g.startBeacon(ctx, n)
		if n.share != nil {
			g.run(ctx, n.share.Run)
		}
		g.run(ctx, n.stream.Run)
		n.archive.Start(ctx)
	}
	g.awaitStart(ctx, wait)
}

// awaitStart waits, up to wait in all, for the first round of chain id
// checks and then for each network's first served tip (its upstreams are
// polled as soon as their chain id is confirmed), so that a healthy
// deployment answers its first request from a known tip. wait is wall
// time on purpose: it bounds how long the caller of Start blocks, whatever
// clock the gateway's own timing runs on.
func (g *Gateway) awaitStart(ctx context.Context, wait time.Duration) {
	t := time.NewTimer(wait)
	defer t.Stop()
	for _, n := range g.networks {
		select {
		case <-n.head.Confirmed():
		case <-t.C:
			g.log.Warn("some upstreams did not confirm their chain id in time; they join when they answer", "waited", wait.String())
			for _, n := range g.networks {
				if n.Usable() == 0 {
					g.log.Warn("network has no usable upstream yet", "network", n.Name)
				}
			}
			return
		case <-ctx.Done():
			return
		}
	}
	for _, n := range g.networks {
		if n.Usable() == 0 {
			g.log.Warn("network has no usable upstream yet", "network", n.Name)
			continue
		}
		if ok, why := n.head.EnoughOperators(); !ok {
			g.log.Warn("network cannot serve a tip yet", "network", n.Name, "reason", why)
			continue
		}
		select {
		case <-n.head.Known():
		case <-t.C:
			g.log.Warn("no served tip yet; requests that need one fail until operators agree (see /readyz)",
				"network", n.Name, "waited", wait.String())
			return
		case <-ctx.Done():
			return
		}
	}
}

// Close stops background work and releases upstream connections.
func (g *Gateway) Close() {
	g.once.Do(func() {
		g.cancel()
		for _, n := range g.networks {
			n.stream.Wait()
		}
		for _, n := range g.networks {
			n.head.Close()
		}
		g.wg.Wait()
		g.closeBeacons()
		for _, n := range g.networks {
			for _, u := range n.Upstreams() {
				u.Close()
			}
		}
		if g.link != nil {
			_ = g.link.Close()
		}
		g.closeArchives()
	})
}

// What the wiring hands one stage of another's, checked at compile time.
var (
	_ route.HeadView   = (*head.Tracker)(nil)
	_ trust.Root       = tipRoot{}
	_ trust.Root       = (*beacon.Root)(nil)
	_ trust.Explainer  = (*beacon.Root)(nil)
	_ trust.Verified   = (*archive.Archive)(nil)
	_ beacon.Tips      = (*head.Tracker)(nil)
	_ beacon.Headers   = (*trust.Reader)(nil)
	_ replica.Budget   = (*upstream.Budget)(nil)
	_ replica.Standing = (*operator.Standing)(nil)
)

// tipRoot trusts the network's served tip: a block hash held by
// head.min_operators distinct operators.
type tipRoot struct{ t *head.Tracker }

func (r tipRoot) Trusted() block.Tip { return r.t.Tip() }

// startBeacon starts n's light client (trust: beacon) and the loop that
// serves its heads.
func (g *Gateway) startBeacon(ctx context.Context, n *Network) {
	if n.beacon == nil {
		return
	}
	if err := n.beacon.Start(); err != nil {
		g.log.Error("beacon light client did not start", "network", n.Name, "err", err)
		return
	}
	g.run(ctx, n.beacon.Run)
}

// run runs a background loop until ctx ends or the gateway closes; Close
// waits for it.
func (g *Gateway) run(ctx context.Context, loop func(context.Context)) {
	g.wg.Add(1)
	go func() {
		defer g.wg.Done()
		lctx, cancel := context.WithCancel(ctx)
		defer cancel()
		defer context.AfterFunc(g.ctx, cancel)()
		loop(lctx)
	}()
}

// closeBeacons stops every network's light client.
func (g *Gateway) closeBeacons() {
	for _, n := range g.networks {
		if n.beacon != nil {
			_ = n.beacon.Close()
		}
	}
}
