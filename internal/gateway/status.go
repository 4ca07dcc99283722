package gateway

import (
	"math"
	"strconv"
	"time"

	"github.com/braidrpc/braid/internal/archive"
	"github.com/braidrpc/braid/internal/beacon"
	"github.com/braidrpc/braid/internal/block"
	"github.com/braidrpc/braid/internal/head"
	"github.com/braidrpc/braid/internal/operator"
	"github.com/braidrpc/braid/internal/plan"
	"github.com/braidrpc/braid/internal/report"
	"github.com/braidrpc/braid/internal/stream"
	"github.com/braidrpc/braid/internal/trust"
	"github.com/braidrpc/braid/internal/upstream"
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

// CacheStatus is a network's answer-cache lookups since start: the JSON
// view of braid_cache_requests_total.
type CacheStatus struct {
	Hits    uint64  `json:"hits"`
	Misses  uint64  `json:"misses"`
	HitRate float64 `json:"hit_rate"` // hits / (hits + misses); 0 before any
}

// StreamStatus counts what braid keeps for clients of new data.
type StreamStatus = stream.Counts

// QuorumStatus is a network's quorum policy: k per method above 1.
type QuorumStatus struct {
	K           int            `json:"k"`
	OnDispute   string         `json:"on_dispute"`
	OnShortfall string         `json:"on_shortfall"`
	Methods     map[string]int `json:"methods,omitempty"`
}

// OperatorStatus is one operator's standing: strikes for answers that
// lost disputes within the strike window, and a quarantine they caused.
type OperatorStatus struct {
	Name             string     `json:"name"`
	Upstreams        int        `json:"upstreams"`
	Strikes          int        `json:"strikes"`
	MaxStrikes       int        `json:"max_strikes"`
	QuarantinedUntil *time.Time `json:"quarantined_until,omitempty"`
}

// UpstreamStatus is one upstream in Status.
type UpstreamStatus struct {
	Name         string      `json:"name"`
	Operator     string      `json:"operator"`
	URL          string      `json:"url"`
	WebSocket    bool        `json:"websocket"`
	State        string      `json:"state"`
	Condition    string      `json:"condition"`
	Quarantine   string      `json:"quarantine,omitempty"`
	Head         *head.Heads `json:"head,omitempty"`
	LagBlocks    *uint64     `json:"lag_blocks,omitempty"`
	Score        float64     `json:"score"`
	LatencyMS    float64     `json:"latency_ms"`
	ErrorRate    float64     `json:"error_rate"`
	ThrottleRate float64     `json:"throttle_rate"`
	Throttled    bool        `json:"throttled"`
	Breaker      string      `json:"breaker"`
	Successes    uint64      `json:"successes"`
	Failures     uint64      `json:"failures"`
	Depth        Depths      `json:"depth"`
	Budget       BudgetState `json:"rate_budget"`

	// BehindHighest is how far its latest is behind the network's highest
	// head (lag_blocks is against the served tip, which may be stalled).
	BehindHighest *uint64 `json:"behind_highest_blocks,omitempty"`
}

// Depths is how far back an upstream holds data, as braid learned it.
type Depths struct {
	Archive bool   `json:"archive"`
	State   string `json:"state"`
	History string `json:"history"`
}

// BudgetState shows an upstream's request-rate budget (per second; 0 is
// unlimited).
type BudgetState struct {
	Configured float64 `json:"configured_rps"`
	Effective  float64 `json:"effective_rps"`
	Observed   float64 `json:"observed_rps"`
}

// Status returns the current status of every network.
func (g *Gateway) Status() Status {
	st := Status{Memory: g.memory.status()}
	if g.link != nil {
		st.Replica = &ReplicaStatus{ID: g.link.ID(), Redis: "down", Replicas: g.members.Count()}
		if g.link.Up() {
			st.Replica.Redis = "up"
		}
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
			ns.Upstreams = append(ns.Upstreams, upstreamStatus(n, u))
		}
		st.Networks = append(st.Networks, ns)
	}
	return st
}

func upstreamStatus(n *Network, u *upstream.Upstream) UpstreamStatus {
	state, reason := u.State()
	snap := u.Health().Snapshot("")
	conf, eff, obs := u.Budget().Rate()
	us := UpstreamStatus{
		Name:         u.Name,
		Operator:     u.Operator,
		URL:          u.RedactedURL(),
		WebSocket:    u.WSURL != "",
		State:        state.String(),
		Condition:    string(u.CurrentCondition()),
		Score:        round3(snap.Score),
		LatencyMS:    round3(float64(snap.Latency) / float64(time.Millisecond)),
		ErrorRate:    round3(snap.ErrorRate),
		ThrottleRate: round3(snap.ThrottleRate),
		Throttled:    snap.Throttled,
		Breaker:      u.Breaker().State().String(),
		Successes:    snap.Successes,
		Failures:     snap.Failures,
		Depth: Depths{
			Archive: u.Archive,
			State:   depthString(u.Depth(upstream.StateData)),
			History: depthString(u.Depth(upstream.HistoryData)),
		},
		Budget: BudgetState{Configured: round3(conf), Effective: round3(eff), Observed: round3(obs)},
	}
	if state == upstream.Quarantined {
		us.Quarantine = reason
	} else if until, why, ok := u.Suspended(); ok {
		us.Quarantine = why + " (until " + until.UTC().Format(time.RFC3339) + ")"
	}
	if h, ok := n.head.Heads(u); ok {
		us.Head = &h
	}
	if lag, ok := n.head.Lag(u); ok {
		us.LagBlocks = &lag
	}
	if behind, ok := n.head.BehindHighest(u); ok {
		us.BehindHighest = &behind
	}
	return us
}

// cacheStatus counts the network's cache lookups, or nil with caching off.
func (n *Network) cacheStatus() *CacheStatus {
	if n.answers.store == nil {
		return nil
	}
	c := &CacheStatus{Hits: n.answers.hits.Load(), Misses: n.answers.misses.Load()}
	if total := c.Hits + c.Misses; total > 0 {
		c.HitRate = round3(float64(c.Hits) / float64(total))
	}
	return c
}

// progressStatus fills in how the served tip keeps up.
func (n *Network) progressStatus(ns *NetworkStatus) {
	p := n.head.Progress()
	ns.TipAgeSeconds = round3(p.TipAge.Seconds())
	ns.Stalled = p.Stalled
	if p.HighestKnown {
		ns.HighestHead = &p.Highest
	}
	if p.Stalled {
		ns.StallReason = p.Reason
	}
}

func depthString(d uint64) string {
	if d == upstream.Unlimited {
		return "unlimited"
	}
	return strconv.FormatUint(d, 10) + " blocks"
}

func round3(f float64) float64 {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return 0
	}
	return math.Round(f*1000) / 1000
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
