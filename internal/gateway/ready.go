package gateway

import "github.com/braidrpc/braid/internal/status"

// NetworkHealth is one network's line in /healthz; NetworkReadiness its
// line in /readyz.
type (
	NetworkHealth    = status.Health
	NetworkReadiness = status.Readiness
)

// Health reports, per network, whether it has a usable upstream, and for
// those without, why not.
func (g *Gateway) Health() (ok bool, report map[string]NetworkHealth) {
	ok = true
	report = make(map[string]NetworkHealth, len(g.networks))
	for _, n := range g.networks {
		h := status.HealthOf(n.Upstreams())
		ok = ok && h.Usable > 0
		report[n.Name] = h
	}
	return ok, report
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
		// A tip from the beacon light client (trust: beacon) adds its own
		// reasons (no reachable beacon API, a refused checkpoint, a stale
		// signed head, or a head no provider serves).
		var why string
		if n.beacon != nil {
			why = n.beacon.Problem()
		}
		r := status.ReadinessOf(health[n.Name], n.head.Tip(), n.head.Progress(), why)
		ok = ok && r.Ready
		report[n.Name] = r
	}
	return ok, report
}
