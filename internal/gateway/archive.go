package gateway

import (
	"context"
	"fmt"
	"net/http"

	"github.com/braidrpc/braid/internal/archive"
	"github.com/braidrpc/braid/internal/config"
	"github.com/braidrpc/braid/internal/history"
	"github.com/braidrpc/braid/internal/jsonrpc"
	"github.com/braidrpc/braid/internal/plan"
)

// The wiring of the history stage (internal/archive): a network with
// peers.enabled opens its archive (store, peer node, ledger, filler); the
// executor's read calls its Answer after the providers' answer; the
// verified reader hands it what it verified for clients.

// historyStage is the executor's history step: it answers from the store
// or peers what every provider pruned, and keeps every other answer.
type historyStage interface {
	Answer(ctx context.Context, pl *plan.Plan, resp *jsonrpc.Response, err error) (*jsonrpc.Response, error)
}

var _ historyStage = (*archive.Archive)(nil)

// noHistory is the history step of a network without peers: every answer
// stands.
type noHistory struct{}

func (noHistory) Answer(_ context.Context, _ *plan.Plan, resp *jsonrpc.Response, err error) (*jsonrpc.Response, error) {
	return resp, err
}

// addArchive opens network n's archive when its config has peers on; on
// failure every archive opened so far is closed.
func (g *Gateway) addArchive(n *Network, nc config.Network, opts Options) error {
	n.history = noHistory{}
	if !nc.Peers.Enabled {
		return nil
	}
	a, err := archive.Open(archive.Options{Network: nc.Name, ChainID: nc.ChainID, Peers: nc.Peers, Reader: n.trust,
		Tip: n.Tip, ParentWalk: nc.Verify.ParentWalk, Registry: g.history, Logger: opts.Logger, Clock: opts.Clock})
	if err != nil {
		g.closeArchives()
		return fmt.Errorf("network %q: %w", nc.Name, err)
	}
	n.archive, n.history = a, a
	n.trust.KeepVerified(a)
	return nil
}

// closeArchives closes every network's archive.
func (g *Gateway) closeArchives() {
	for _, n := range g.networks {
		if err := n.archive.Close(); err != nil {
			g.log.Warn("closing history", "network", n.Name, "err", err)
		}
	}
}

// ErrNoHistory is returned for a network without peers.enabled.
var ErrNoHistory = archive.ErrNoHistory

// ImportEra seeds the network's history store from the era1 files in dir
// (archive.ImportEra). The gateway must have started (a served tip).
func (n *Network) ImportEra(ctx context.Context, dir string) (history.ImportStats, error) {
	return n.archive.ImportEra(ctx, dir)
}

// PeerAddrs are the addresses of the network's peer node, ending in
// /p2p/<id> (bootstrap entries for other gateways); nil unless
// peers.enabled.
func (n *Network) PeerAddrs() []string { return n.archive.Addrs() }

// ErrNoPeers is returned by PeersHandler for a network without
// peers.enabled.
var ErrNoPeers = fmt.Errorf("%w: no peer ledger", ErrNoHistory)

// PeersHandler is the network's /status/peers page (ledger.Handler).
func (n *Network) PeersHandler() (http.Handler, error) {
	if n.archive == nil {
		return nil, ErrNoPeers
	}
	return n.archive.PeersHandler(), nil
}
