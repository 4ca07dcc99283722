package gateway

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/braidrpc/braid/internal/beacon"
	"github.com/braidrpc/braid/internal/block"
	"github.com/braidrpc/braid/internal/cache"
	"github.com/braidrpc/braid/internal/config"
	"github.com/braidrpc/braid/internal/evm"
	"github.com/braidrpc/braid/internal/head"
	"github.com/braidrpc/braid/internal/operator"
	"github.com/braidrpc/braid/internal/plan"
	"github.com/braidrpc/braid/internal/quorum"
	"github.com/braidrpc/braid/internal/replica"
	"github.com/braidrpc/braid/internal/route"
	"github.com/braidrpc/braid/internal/stream"
	"github.com/braidrpc/braid/internal/strict"
	"github.com/braidrpc/braid/internal/trust"
	"github.com/braidrpc/braid/internal/upstream"
)

// stageMetrics are every stage's collectors, each registered by the
// package that owns it; all nil without a registry.
type stageMetrics struct {
	requests *Metrics
	upstream *upstream.Metrics
	route    *route.Metrics
	quorum   *quorum.Metrics
	operator *operator.Metrics
	trust    *trust.Metrics
	cache    *cache.Metrics
	stream   *stream.Metrics
	replica  *replica.Metrics
	strict   *strict.Metrics
}

func newStageMetrics(reg prometheus.Registerer) stageMetrics {
	if reg == nil {
		return stageMetrics{}
	}
	return stageMetrics{
		requests: NewMetrics(reg),
		upstream: upstream.NewMetrics(reg),
		route:    route.NewMetrics(reg),
		quorum:   quorum.NewMetrics(reg),
		operator: operator.NewMetrics(reg),
		trust:    trust.NewMetrics(reg),
		cache:    cache.NewMetrics(reg),
		stream:   stream.NewMetrics(reg),
		replica:  replica.NewMetrics(reg),
		strict:   strict.NewMetrics(reg),
	}
}

// newNetwork wires one network's stages: its upstreams, head tracker (or
// light client), router, operator standing, verified reader, block
// stream, answer cache and replica sync.
func (g *Gateway) newNetwork(cfg *config.Config, nc config.Network, store cache.Store, m stageMetrics, opts Options) (*Network, error) {
	qp, err := plan.NewQuorumPolicy(nc.Quorum)
	if err != nil {
		return nil, fmt.Errorf("network %q: %w", nc.Name, err)
	}
	ups := upstream.NewNetwork(nc, upstream.Options{MaxResponseBytes: cfg.Limits.MaxResponseBytes, Clock: opts.Clock,
		Logger: opts.Logger, Metrics: m.upstream})
	n := &Network{
		Name:       nc.Name,
		ChainID:    nc.ChainID,
		planner:    plan.NewPlanner(nc.Methods, qp).WithVerify(nc.Verify),
		maxLag:     nc.Head.MaxLagBlocks,
		timeout:    cfg.Limits.RequestTimeout,
		version:    opts.Version,
		clock:      opts.Clock,
		log:        opts.Logger.With("network", nc.Name),
		metrics:    m.requests,
		chainIDHex: []byte(strconv.Quote("0x" + strconv.FormatUint(nc.ChainID, 16))),
		static:     make(map[string]json.RawMessage),
		cfg:        nc,
		quorum:     nc.Quorum,
		disputes:   g.disputes,
		qmetrics:   m.quorum,
		operators: operator.New(operator.Options{Network: nc.Name, Strikes: nc.Strikes, Upstreams: ups,
			Clock: opts.Clock, Logger: opts.Logger, Metrics: m.operator}),
	}
	n.head = head.NewNetwork(nc, ups, head.Options{Clock: opts.Clock, Logger: opts.Logger, Registry: opts.Registry,
		OnTip: n.advanced})
	n.router = route.NewNetwork(nc, cfg.Limits.MaxAttempts, ups, route.Options{Heads: n.head,
		ProbeShare: opts.ProbeShare, Clock: opts.Clock, Logger: opts.Logger, Route: m.route})
	n.stream = stream.New(n.call, stream.RoutedPools(n.router), stream.Options{Filters: cfg.Filters, Context: g.ctx,
		Clock: opts.Clock, Logger: n.log, Delay: m.stream.Delay(nc.Name)})
	var root trust.Root = tipRoot{n.head}
	if nc.Trust.Beacon() {
		if n.beacon, err = newBeaconRoot(nc, n, cfg.Limits.RequestTimeout, opts); err != nil {
			return nil, fmt.Errorf("network %q: %w", nc.Name, err)
		}
		root = n.beacon
	}
	n.trust = trust.New(trust.Options{Network: nc.Name, Verify: nc.Verify, Timeout: cfg.Limits.RequestTimeout,
		Fetch: n.router, Root: root, Clock: opts.Clock, Logger: opts.Logger, Metrics: m.trust,
		OnLie: func(op string, u *upstream.Upstream, method string, check error) {
			n.operators.Lie(op, u, fmt.Sprintf("its answer to %s failed verification: %v", method, check))
		}})
	n.strict = newStrict(nc, n, m.strict)
	if store != nil {
		n.answers = answers{store: store, metrics: m.cache, prefix: nc.Name + "|", tipTTL: cfg.Cache.TipTTL,
			finalTTL: cfg.Cache.FinalTTL, maxEntry: int(cfg.Cache.MaxEntryBytes)}
	}
	if g.link != nil {
		n.share = n.newSync(g.link, g.members, m.replica.Behind(nc.Name))
		n.operators.OnStrike(n.share.Strike)
	}
	if err := g.addArchive(n, nc, opts); err != nil {
		return nil, err
	}
	return n, nil
}

// newStrict is n's strict stage (nil when not strict) with its local EVM;
// without one the planner refuses the EVM's methods, saying why.
func newStrict(nc config.Network, n *Network, m *strict.Metrics) *strict.Stage {
	if !nc.Verify.Strict() {
		return nil
	}
	exec, chain, noEVM := strict.NewEVM(nc, evm.Config{Clock: n.clock, Logger: n.log})
	if noEVM != "" {
		n.planner.WithoutEVM(noEVM)
		n.log.Warn("strict mode refuses eth_call, eth_estimateGas and eth_createAccessList", "reason", noEVM)
	}
	return strict.New(strict.Options{Network: n.Name, Proofs: n.planner, Verified: n.trust, Router: n.router,
		Operators: strictOperators{n}, EVM: exec, Chain: chain, Metrics: m, Clock: n.clock})
}

// newBeaconRoot is the light client of network nc (trust: beacon) and
// the root that serves its heads as n's tip.
func newBeaconRoot(nc config.Network, n *Network, timeout time.Duration, opts Options) (*beacon.Root, error) {
	cfg, err := beacon.ConfigOf(nc)
	if err != nil {
		return nil, err
	}
	cfg.Clock, cfg.Logger, cfg.Registerer = opts.Clock, opts.Logger, opts.Registry
	return beacon.NewRoot(cfg, beacon.RootOptions{Tips: n.head, Headers: trustedHeaders{n}, Timeout: timeout,
		Retry: max(nc.Head.PollInterval/2, 50*time.Millisecond), Clock: opts.Clock, Logger: n.log})
}

// trustedHeaders are n's verified reader's headers (which exists only
// once the root it is built over does).
type trustedHeaders struct{ n *Network }

func (h trustedHeaders) Header(ctx context.Context, hash common.Hash) (*types.Header, error) {
	return h.n.trust.Header(ctx, hash)
}

// advanced hands each new served tip to the verified reader (block hashes
// established by number hold only while the chain below the tip stays: a
// new tip may be a reorg, and only finalized blocks cannot change) and to
// the block stream.
func (n *Network) advanced(t block.Tip) {
	if n.trust != nil {
		n.trust.Advanced(t)
	}
	if t.Known {
		n.stream.Advance(t.Latest)
	}
}
