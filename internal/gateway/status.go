package gateway

import (
	"github.com/braidrpc/braid/internal/archive"
	"github.com/braidrpc/braid/internal/beacon"
	"github.com/braidrpc/braid/internal/block"
	"github.com/braidrpc/braid/internal/operator"
	"github.com/braidrpc/braid/internal/plan"
	"github.com/braidrpc/braid/internal/replica"
	"github.com/braidrpc/braid/internal/report"
	"github.com/braidrpc/braid/internal/status"
	"github.com/braidrpc/braid/internal/stream"
	"github.com/braidrpc/braid/internal/trust"
)

// Status is what GET /status shows: every network's served tip and every
// upstream's state. URLs are shown redacted (scheme and host).
type Status struct {
	// Replica is this replica and the Redis it shares state through
	// (absent without redis.url).
	Replica  *ReplicaStatus  `json:"replica,omitempty"`
	Networks []NetworkStatus `json:"networks"`
	// Memory is the process's heap beside the answer cache's bytes.
	Memory MemoryStatus `json:"memory"`
}

// NetworkStatus is one network in Status.
type NetworkStatus struct {
	Name         string           `json:"name"`
	ChainID      uint64           `json:"chain_id"`
	Tip          block.Tip        `json:"tip"`
	MinOperators int              `json:"min_operators"`
	MaxLagBlocks uint64           `json:"max_lag_blocks"`
	Quorum       QuorumStatus     `json:"quorum"`
	Operators    []OperatorStatus `json:"operators"`
	Upstreams    []UpstreamStatus `json:"upstreams"`
	Streams      StreamStatus     `json:"streams"`
	// Replicas are the served tips every replica published (shared
	// through Redis; absent without it).
	Replicas []TipView `json:"replicas,omitempty"`

	// TipAgeSeconds is how long the served latest block has not moved
	// (before the first tip: since start).
	TipAgeSeconds float64 `json:"tip_age_seconds"`
	// HighestHead is the highest latest block a usable upstream reports
	// (absent while none has reported).
	HighestHead *uint64 `json:"highest_head,omitempty"`
	// Stalled: the highest head has been above the tip for
	// head.stall_after with the tip not moving; StallReason says why.
	Stalled     bool   `json:"stalled"`
	StallReason string `json:"stall_reason,omitempty"`

	// Cache counts the cacheable calls since start (absent when the
	// cache is off).
	Cache *CacheStatus `json:"cache,omitempty"`
	// Trust is where the served tip comes from: "operators" or "beacon";
	// Beacon is the light client's state with trust: beacon.
	Trust  string        `json:"trust"`
	Beacon *BeaconStatus `json:"beacon,omitempty"`
	// Lies are the recent answers that failed verification, newest
	// first (verify: strict).
	Lies []trust.Lie `json:"lies,omitempty"`
	// Methods says, in strict mode, how each method braid knows is
	// answered: proven, derived, quorum_only, or refused (with why).
	// Methods braid does not know are answered -32601.
	Methods *plan.MethodProofs `json:"methods,omitempty"`
	// Peers are the other gateways this network's peer node knows and
	// History its store and where history answers came from (absent
	// unless peers.enabled).
	Peers   []archive.PeerView     `json:"peers,omitempty"`
	History *archive.HistoryStatus `json:"history,omitempty"`
}

// BeaconStatus is the light client's state with what braid serves from it
// (trust: beacon).
type BeaconStatus = beacon.RootStatus

// The parts of a NetworkStatus that package status builds.
type (
	CacheStatus    = status.Cache
	QuorumStatus   = status.Quorum
	OperatorStatus = status.Operator
	UpstreamStatus = status.Upstream
	MemoryStatus   = status.Memory
)

// StreamStatus counts what braid keeps for clients of new data.
type StreamStatus = stream.Counts

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
		n.progressStatus(&ns)
		ns.Trust = n.cfg.Trust.Source
		if n.beacon != nil {
			ns.Beacon = n.beacon.Status()
		}
		ns.Cache = n.cacheStatus()
		ns.Lies = n.trust.Lies()
		ns.Methods = n.Proofs()
		ns.Peers, ns.History = n.archive.Status()
		qp, _ := plan.NewQuorumPolicy(n.quorum) // checked in New
		ns.Quorum = QuorumStatus{K: n.quorum.K, OnDispute: n.quorum.OnDispute, OnShortfall: n.quorum.OnShortfall, Methods: qp.Methods()}
		quarantined := n.operators.Quarantined()
		for _, op := range n.cfg.Operators() {
			os := OperatorStatus{Name: op, Strikes: n.operators.Strikes(op), MaxStrikes: n.cfg.Strikes.Max}
			for _, u := range n.cfg.Upstreams {
				if u.Operator == op {
					os.Upstreams++
				}
			}
			if until, ok := quarantined[op]; ok {
				until = until.UTC()
				os.QuarantinedUntil = &until
			}
			ns.Operators = append(ns.Operators, os)
		}
		for _, u := range n.Upstreams() {
			ns.Upstreams = append(ns.Upstreams, status.UpstreamOf(u, n.head))
		}
		st.Networks = append(st.Networks, ns)
	}
	return st
}

// cacheStatus counts the network's cache lookups, or nil with caching off.
func (n *Network) cacheStatus() *CacheStatus {
	if n.answers.store == nil {
		return nil
	}
	return status.CacheOf(n.answers.hits.Load(), n.answers.misses.Load())
}

// progressStatus fills in how the served tip keeps up.
func (n *Network) progressStatus(ns *NetworkStatus) {
	p := n.head.Progress()
	ns.TipAgeSeconds = status.Round3(p.TipAge.Seconds())
	ns.Stalled = p.Stalled
	if p.HighestKnown {
		ns.HighestHead = &p.Highest
	}
	if p.Stalled {
		ns.StallReason = p.Reason
	}
}

// Centralization returns the centralization report of every network,
// with live figures: which operators served the reads of the last
// operator.ShareWindow, which upstreams are usable, which operators are
// quarantined.
func (g *Gateway) Centralization() *report.Report {
	nets := make([]*report.Network, 0, len(g.networks))
	for _, n := range g.networks {
		live := &report.Live{
			Window:      operator.ShareWindow,
			Served:      n.operators.Reads(),
			Usable:      map[string]int{},
			Quarantined: n.operators.Quarantined(),
			Now:         g.clock.Now(),
		}
		for _, u := range n.Upstreams() {
			if u.Usable() {
				live.Usable[u.Operator]++
			}
		}
		rn, err := report.Build(&n.cfg, live)
		if err != nil {
			// New checked the same policy; this cannot happen.
			g.log.Error("centralization report", "network", n.Name, "err", err)
			continue
		}
		nets = append(nets, rn)
	}
	return report.New(nets)
}
