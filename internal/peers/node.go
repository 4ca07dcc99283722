package peers

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"

	dht "github.com/libp2p/go-libp2p-kad-dht"
	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/peer"
	ma "github.com/multiformats/go-multiaddr"

	"github.com/braidrpc/braid/internal/clock"
)

// Node is one braid gateway's peer: a libp2p host in the private DHT that
// serves content from its Holder, announces what it holds, and fetches
// content from other holders, recording every transfer.
type Node struct {
	opts    Options
	lim     Limits
	log     *slog.Logger
	clock   clock.Clock
	host    host.Host
	dht     *dht.IpfsDHT
	guard   *guard
	gate    *gate
	tally   *Tally
	metrics *metrics
	records *records
	prov    *provider
	fetches chan struct{}

	ready     atomic.Bool // host and DHT are set
	ctx       context.Context
	cancel    context.CancelFunc
	wg        sync.WaitGroup
	closeOnce sync.Once
	closeErr  error
}

// New starts a node: it listens, joins the DHT through the bootstrap
// peers (in the background) and serves content requests until Close.
func New(opts Options) (*Node, error) {
	p, err := opts.parse()
	if err != nil {
		return nil, err
	}
	key, err := identity(opts)
	if err != nil {
		return nil, err
	}
	self, err := peer.IDFromPrivateKey(key)
	if err != nil {
		return nil, fmt.Errorf("peers: identity: %w", err)
	}
	n := &Node{opts: opts, lim: opts.Limits.withDefaults(), log: opts.Logger, clock: opts.Clock}
	if n.clock == nil {
		n.clock = clock.Real{}
	}
	if n.log == nil {
		n.log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	n.log = n.log.With("peer_id", self.String())
	n.opts.Provide = opts.Provide.withDefaults()
	n.guard = newGuard(n.clock, n.lim, n.onBan)
	n.gate = &gate{allow: p.allow, ranges: p.ranges, guard: n.guard, self: self}
	n.tally = NewTally(n.lim.Tracked)
	n.records = newRecords(n.lim.DHTRecords)
	n.fetches = make(chan struct{}, n.lim.Fetches)
	n.ctx, n.cancel = context.WithCancel(context.Background())
	n.prov = newProvider(n)
	if err := n.start(key, p); err != nil {
		n.cancel()
		n.metrics.unregister()
		return nil, err
	}
	n.prov.start()
	n.wg.Go(func() { n.bootstrap(p.bootstrap) })
	n.log.Info("peer node started", "addrs", n.Addrs(), "bootstrap", len(p.bootstrap),
		"allow_list", len(p.allow), "dial_ranges", len(p.ranges))
	return n, nil
}

// start registers the metrics and starts the host and the DHT. The
// metrics read nothing until the node is ready, and the resource manager
// may report offences (and bans) as soon as the host listens: onBan reads
// only what is set by then.
func (n *Node) start(key crypto.PrivKey, p *parsed) error {
	var err error
	n.metrics, err = newMetrics(n.opts.Registerer,
		n.gauge(func() int { return len(n.host.Network().Peers()) }),
		n.gauge(n.prov.count),
		n.gauge(func() int { size, _ := n.records.stats(); return int(size) }))
	if err != nil {
		return err
	}
	rm, err := newResourceManager(n.lim, blockReporter{offend: func(id peer.ID) {
		n.guard.offend(id, offenceExcess, "content streams over the resource manager's cap")
	}})
	if err != nil {
		return err
	}
	if n.host, err = newHost(key, p, n.lim, n.gate, rm); err != nil {
		rm.Close()
		return err
	}
	if n.dht, err = newDHT(n.host, p, n.gate, n.records); err != nil {
		n.host.Close()
		return err
	}
	n.host.SetStreamHandler(ContentProtocol, n.handle)
	n.ready.Store(true)
	return nil
}

func identity(o Options) (crypto.PrivKey, error) {
	if o.Key != nil {
		return o.Key, nil
	}
	if o.IdentityFile == "" {
		return nil, errors.New("peers: no identity key or identity file")
	}
	return LoadIdentity(o.IdentityFile)
}

// bootstrap connects to the bootstrap peers and starts the DHT's routing
// table refresh. The DHT connects to them again when its table empties.
func (n *Node) bootstrap(peers []peer.AddrInfo) {
	for _, b := range peers {
		ctx, cancel := context.WithTimeout(n.ctx, n.lim.FindTimeout)
		if err := n.host.Connect(ctx, b); err != nil && n.ctx.Err() == nil {
			n.log.Warn("bootstrap peer unreachable", "peer", b.ID.String(), "err", err)
		}
		cancel()
	}
	if err := n.dht.Bootstrap(n.ctx); err != nil && n.ctx.Err() == nil {
		n.log.Warn("DHT bootstrap", "err", err)
	}
}

// onBan disconnects a banned peer; the gater refuses it until the ban
// ends. It runs outside the guard's lock and the resource manager's.
func (n *Node) onBan(p peer.ID, reason string) {
	n.log.Warn("peer banned", "peer", p.String(), "reason", reason, "for", n.lim.BanFor)
	n.metrics.ban()
	if !n.ready.Load() || n.ctx.Err() != nil {
		return // the guard refuses its streams; the gater its connections
	}
	n.wg.Go(func() {
		n.dht.RoutingTable().RemovePeer(p)
		_ = n.host.Network().ClosePeer(p)
	})
}

// gauge reads f once the node is ready (0 before).
func (n *Node) gauge(f func() int) func() float64 {
	return func() float64 {
		if !n.ready.Load() {
			return 0
		}
		return float64(f())
	}
}

// ID is the node's peer id.
func (n *Node) ID() peer.ID { return n.host.ID() }

// Addrs are the node's addresses as peers dial them, each ending in
// /p2p/<id> (bootstrap entries for other nodes).
func (n *Node) Addrs() []string {
	full, err := peer.AddrInfoToP2pAddrs(&peer.AddrInfo{ID: n.host.ID(), Addrs: n.host.Addrs()})
	if err != nil {
		return nil
	}
	out := make([]string, len(full))
	for i, a := range full {
		out[i] = a.String()
	}
	return out
}

// Host is the node's libp2p host (for wiring and tests; its stream
// handlers are the node's).
func (n *Node) Host() host.Host { return n.host }

// Tally is the node's own record of every peer's transfers.
func (n *Node) Tally() *Tally { return n.tally }

// Connect dials a peer by a multiaddr ending in /p2p/<id>.
func (n *Node) Connect(ctx context.Context, addr string) error {
	a, err := ma.NewMultiaddr(addr)
	if err != nil {
		return fmt.Errorf("peers: address %q: %w", addr, err)
	}
	info, err := peer.AddrInfoFromP2pAddr(a)
	if err != nil {
		return fmt.Errorf("peers: address %q: %w", addr, err)
	}
	if err := n.host.Connect(ctx, *info); err != nil {
		return fmt.Errorf("peers: connect %s: %w", info.ID, err)
	}
	return nil
}

// Close stops serving and fetching, and closes the DHT and the host.
func (n *Node) Close() error {
	n.closeOnce.Do(func() {
		n.cancel()
		n.host.RemoveStreamHandler(ContentProtocol)
		n.prov.wait()
		err := n.dht.Close()
		n.closeErr = errors.Join(err, n.host.Close())
		n.wg.Wait()
		n.metrics.unregister()
	})
	return n.closeErr
}

// record sends a transfer to the tally, the ledger and the metrics.
func (n *Node) record(t Transfer) {
	record(n.tally, t)
	if n.opts.Ledger != nil {
		record(n.opts.Ledger, t)
	}
	n.metrics.transfer(t)
}

// age fills in a's depth from the head when only the number is known.
func (n *Node) age(a Age) Age {
	if a.Known && a.Depth == 0 && n.opts.Head != nil {
		if head, ok := n.opts.Head(); ok && head > a.Number {
			a.Depth = head - a.Number
		}
	}
	return a
}
