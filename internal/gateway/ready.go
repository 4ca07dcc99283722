package gateway

import (
	"fmt"
	"time"
)

// NetworkReadiness is one network's line in /readyz.
type NetworkReadiness struct {
	Ready bool `json:"ready"`
	// Tip is the served latest block number; null before the first.
	Tip *uint64 `json:"tip"`
	// TipAgeSeconds is how long the served tip has not moved.
	TipAgeSeconds float64 `json:"tip_age_seconds"`
	// HighestHead is the highest latest block a usable upstream reports.
	HighestHead *uint64 `json:"highest_head,omitempty"`
	Problem     string  `json:"problem,omitempty"`
}

// Ready reports, per network, whether braid can serve it now: a usable
// upstream, a served tip, and a tip that is not stalled (head.stall_after).
// It is what load balancers and readiness probes should ask; Health is
// the weaker liveness view (an upstream is usable).
func (g *Gateway) Ready() (ok bool, report map[string]NetworkReadiness) {
	_, health := g.Health()
	ok = true
	report = make(map[string]NetworkReadiness, len(g.networks))
	for _, n := range g.networks {
		r := n.readiness(health[n.Name])
		ok = ok && r.Ready
		report[n.Name] = r
	}
	return ok, report
}

func (n *Network) readiness(h NetworkHealth) NetworkReadiness {
	tip := n.head.Tip()
	p := n.head.Progress()
	r := NetworkReadiness{TipAgeSeconds: round3(p.TipAge.Seconds())}
	if tip.Known {
		num := tip.Latest.Number
		r.Tip = &num
	}
	if p.HighestKnown {
		hi := p.Highest
		r.HighestHead = &hi
	}
	// Each case is one reason the network cannot serve now; a tip that
	// comes from the beacon light client (trust: beacon) adds its own
	// (no reachable beacon API, a refused checkpoint, a stale signed
	// head, or a head no provider serves): never a fallback to operators.
	switch {
	case h.Problem != "":
		r.Problem = h.Problem
	case n.beacon != nil && n.beacon.Problem() != "":
		r.Problem = n.beacon.Problem()
	case !tip.Known:
		r.Problem = "no served tip yet: " + p.Reason
	case p.Stalled:
		r.Problem = fmt.Sprintf("served tip %d cannot advance (unchanged for %s, highest head %d): %s",
			tip.Latest.Number, p.TipAge.Round(time.Second), p.Highest, p.Reason)
	default:
		r.Ready = true
	}
	return r
}
