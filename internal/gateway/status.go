package gateway

import (
	"github.com/braidrpc/braid/internal/beacon"
	"github.com/braidrpc/braid/internal/replica"
	"github.com/braidrpc/braid/internal/report"
	"github.com/braidrpc/braid/internal/status"
)

// Status is what GET /status shows (package status has the shapes).
type (
	Status         = status.Gateway
	NetworkStatus  = status.Network
	BeaconStatus   = beacon.RootStatus
	UpstreamStatus = status.Upstream
	MemoryStatus   = status.Memory
)

// Status returns the current status of every network.
func (g *Gateway) Status() Status {
	st := Status{Memory: g.memory.Status()}
	if g.link != nil {
		st.Replica = replica.StatusOf(g.link, g.members)
	}
	for _, n := range g.networks {
		ns := NetworkStatus{
			Name:         n.Name,
			ChainID:      n.ChainID,
			Tip:          n.head.Tip(),
			MinOperators: n.head.MinOperators(),
			MaxLagBlocks: n.maxLag,
			Streams:      n.stream.Counts(),
			Replicas:     n.replicaTips(),
		}
		ns.SetProgress(n.head.Progress())
		ns.Trust = n.cfg.Trust.Source
		if n.beacon != nil {
			ns.Beacon = n.beacon.Status()
		}
		ns.Cache = n.cacheStatus()
		ns.Lies = n.trust.Lies()
		ns.Methods = n.Proofs()
		ns.Peers, ns.History = n.archive.Status()
		ns.Quorum = status.QuorumOf(n.quorum)
		ns.Operators = status.OperatorsOf(&n.cfg, n.operators)
		for _, u := range n.Upstreams() {
			ns.Upstreams = append(ns.Upstreams, status.UpstreamOf(u, n.head))
		}
		st.Networks = append(st.Networks, ns)
	}
	return st
}

// cacheStatus counts the network's cache lookups, or nil with caching off.
func (n *Network) cacheStatus() *status.Cache {
	if n.answers.store == nil {
		return nil
	}
	return status.CacheOf(n.answers.hits.Load(), n.answers.misses.Load())
}

// Centralization returns the centralization report of every network,
// with live figures (status.CentralizationOf).
func (g *Gateway) Centralization() *report.Report {
	nets := make([]*report.Network, 0, len(g.networks))
	for _, n := range g.networks {
		rn, err := status.CentralizationOf(&n.cfg, n.operators, n.Upstreams(), g.clock.Now())
		if err != nil {
			// New checked the same policy; this cannot happen.
			g.log.Error("centralization report", "network", n.Name, "err", err)
			continue
		}
		nets = append(nets, rn)
	}
	return report.New(nets)
}
