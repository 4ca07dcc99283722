package gateway

import (
	"context"
	"fmt"
	"net/http"

	"github.com/braidrpc/braid/internal/archive"
	"github.com/braidrpc/braid/internal/config"
	"github.com/braidrpc/braid/internal/history"
)

// The wiring of the history stage (internal/archive): a network with
// peers.enabled opens its archive (store, peer node, ledger, filler); the
// executor's read calls its Answer after the providers' answer (a nil
// archive passes every answer through); the verified reader hands it what
// it verified for clients.

// addArchive opens network n's archive when its config has peers on; on
// failure every archive opened so far is closed.
func (g *Gateway) addArchive(n *Network, nc config.Network, opts Options) error {
	if !nc.Peers.Enabled {
		return nil
	}
	ao := archive.Options{Network: nc.Name, ChainID: nc.ChainID, Peers: nc.Peers, Reader: n.trust,
		Tip: n.Tip, ParentWalk: nc.Verify.ParentWalk, Strict: nc.Verify.Strict(), Registry: g.history, Logger: opts.Logger, Clock: opts.Clock}
	if !nc.Verify.Strict() && n.headerQuorum().K > 1 {
		ao.Agreed = n // under a quorum, headers agreed by operators (agreed.go)
	}
	a, err := archive.Open(ao)
	if err != nil {
		g.closeArchives()
		return fmt.Errorf("network %q: %w", nc.Name, err)
	}
	n.archive = a
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
var ErrNoPeers = fmt.Errorf("%w: no peer ledger", archive.ErrNoHistory)

// PeersHandler is the network's /status/peers page (ledger.Handler).
func (n *Network) PeersHandler() (http.Handler, error) {
	if n.archive == nil {
		return nil, ErrNoPeers
	}
	return n.archive.PeersHandler(), nil
}
