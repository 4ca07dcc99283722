// Package report owns the centralization report: it turns a network's
// config (and, when running, live figures) into numbers saying how
// centralized the access still is. Availability is the fewest operators
// whose loss stops service; integrity is the fewest colluding operators
// that can make braid answer wrongly; the HHI measures how concentrated the
// reads actually served were. The same values feed `braid check` (text or
// JSON) and the gateway's HTTP endpoint.
//
// A report names upstreams and operators, never upstream URLs: those often
// hold API keys.
package report

import (
	"fmt"
	"time"

	"github.com/braidrpc/braid/internal/config"
	"github.com/braidrpc/braid/internal/plan"
)

// Live is what a running gateway adds to a config-only report (nil for
// `braid check`).
type Live struct {
	// Window is the span the served counts cover (e.g. 1h).
	Window time.Duration
	// Served maps an operator to the reads it answered within Window.
	Served map[string]uint64
	// Usable maps an operator to its upstreams usable now.
	Usable map[string]int
	// Quarantined maps an operator to the time its quarantine ends.
	Quarantined map[string]time.Time
	// Now is the time the figures were taken.
	Now time.Time
}

// Report is the centralization report of every network of a config.
type Report struct {
	Networks []*Network `json:"networks"`
	// OK is true when every network meets its require section.
	OK bool `json:"ok"`
}

// New gathers nets into one report.
func New(nets []*Network) *Report {
	r := &Report{Networks: nets, OK: true}
	for _, n := range nets {
		r.OK = r.OK && n.OK
	}
	return r
}

// Network is the report of one network.
type Network struct {
	Name         string       `json:"name"`
	ChainID      uint64       `json:"chain_id"`
	Operators    []Operator   `json:"operators"`
	Quorum       Quorum       `json:"quorum"`
	Availability Availability `json:"availability"`
	Integrity    Integrity    `json:"integrity"`
	// Verify is the network's verify.mode ("off" or "strict").
	Verify string `json:"verify"`
	// Trust is where the served tip comes from: "operators" or "beacon".
	Trust string `json:"trust"`
	// BeaconAPIs names the beacon APIs of trust: beacon (their configured
	// names, else scheme://host: never a path, query or key).
	BeaconAPIs []string `json:"beacon_apis,omitempty"`
	// HHI is the Herfindahl–Hirschman index of the operators' shares of
	// served reads, in percent squared: 10000 when one operator served
	// every read, 10000/N when N operators served equally, 0 with no
	// reads.
	HHI float64 `json:"hhi"`
	// Requests is the total of reads served within Window.
	Requests uint64 `json:"requests"`
	// Window is the span Requests and the shares cover ("" without live
	// figures).
	Window string `json:"window,omitempty"`
	// History says who besides the providers holds old history.
	History  History  `json:"history"`
	Warnings []string `json:"warnings"`
	Require  Require  `json:"require"`
	// OK is true when every requirement is met.
	OK bool `json:"ok"`
}

// Operator is one distinct operator of a network.
type Operator struct {
	Name string `json:"name"`
	// Upstreams are the names of the operator's upstreams, in config
	// order.
	Upstreams []string `json:"upstreams"`
	// Usable is how many of them are usable now (live only).
	Usable *int `json:"usable,omitempty"`
	// Served is the reads the operator answered within the window, and
	// Share its part of all reads served (0..1).
	Served uint64  `json:"served"`
	Share  float64 `json:"share"`
	// QuarantinedUntil is set while the operator is quarantined (live
	// only).
	QuarantinedUntil *time.Time `json:"quarantined_until,omitempty"`
}

// Quorum summarises the network's quorum policy.
type Quorum struct {
	// K is the network's quorum.k.
	K int `json:"k"`
	// KMin and KMax are the smallest and largest quorum over the default
	// quorum reads and the methods given their own k.
	KMin int `json:"k_min"`
	KMax int `json:"k_max"`
	// Methods are the methods with a quorum above 1, and their k.
	Methods     map[string]int `json:"methods,omitempty"`
	OnDispute   string         `json:"on_dispute"`
	OnShortfall string         `json:"on_shortfall"`
}

// Availability counts operators whose loss stops service; each figure is
// the fewest operators that must fail for that kind of call to stop.
type Availability struct {
	// Reads stop when too few operators are left to agree on the tip.
	Reads int `json:"reads"`
	// QuorumReads stop when fewer than k operators (or too few for the
	// tip) are left. Nil when quorum is off; 0 means they never succeed.
	QuorumReads *int `json:"quorum_reads,omitempty"`
	// Transactions stop only when every operator is gone.
	Transactions int `json:"transactions"`
	// Min is the smallest of the above: the availability coefficient.
	Min int `json:"min"`
}

// Integrity counts colluding operators able to make braid answer wrongly.
type Integrity struct {
	// Value is the integrity coefficient: the fewest colluding operators
	// that can make braid return a wrong answer to a quorum read.
	Value int `json:"value"`
	// ReadsOutsideQuorum is the same figure for methods quorum does not
	// cover (gas price, fee history, …): one operator answers them.
	ReadsOutsideQuorum int `json:"reads_outside_quorum"`
	// Unbounded: no set of operators can make a verified answer wrong
	// (trust: beacon with verify: strict); Value is then the operators
	// plus one, and meets every requirement.
	Unbounded bool `json:"unbounded,omitempty"`
	// Note says it in words.
	Note string `json:"note"`
}

// Require is the network's require section and what of it is unmet.
type Require struct {
	Availability int      `json:"availability,omitempty"`
	Integrity    int      `json:"integrity,omitempty"`
	Unmet        []string `json:"unmet,omitempty"`
}

// Build reports on network n, adding live figures when live is not nil.
// It fails only when n's quorum policy is invalid.
func Build(n *config.Network, live *Live) (*Network, error) {
	policy, err := plan.NewQuorumPolicy(n.Quorum)
	if err != nil {
		return nil, fmt.Errorf("network %s: %w", n.Name, err)
	}
	r := &Network{
		Name:      n.Name,
		ChainID:   n.ChainID,
		Operators: operators(n, live),
		Quorum:    quorumOf(n.Quorum, policy),
		Trust:     config.TrustOperators,
		Warnings:  []string{},
	}
	opCount := len(r.Operators)
	r.Availability = availabilityOf(opCount, minOperators(n.Head.MinOperators, opCount), r.Quorum)
	r.Integrity = integrityOf(r.Quorum, policy, opCount)
	r.Verify = orDefault(n.Verify.Mode, config.VerifyOff)
	if n.Verify.Strict() {
		r.Integrity = verifiedIntegrity(n.Verify, r.Quorum, policy, minOperators(n.Head.MinOperators, opCount), opCount)
	}
	if n.Trust.Beacon() {
		r.Trust = config.TrustBeacon
		r.BeaconAPIs = beaconAPINames(n.Trust.BeaconAPIs)
		r.Availability = beaconAvailability(r.Availability, opCount)
		if n.Verify.Strict() {
			r.Integrity = beaconIntegrity(n.Verify, r.Quorum, policy, opCount)
		}
	}
	if live != nil {
		r.Window = windowString(live.Window)
		r.Requests, r.HHI = concentration(r.Operators)
	}
	r.History = historyOf(n)
	r.Warnings = warnings(n, r, live)
	r.Require, r.OK = require(n.Require, r)
	return r, nil
}

// operators lists n's distinct operators with their upstreams and, when
// live is set, their live figures. An upstream whose URL an earlier one
// has is that one's endpoint: it is counted once, under the earlier
// upstream's operator, and an operator with no endpoint of its own is not
// counted at all (config.Network.DistinctOperators).
func operators(n *config.Network, live *Live) []Operator {
	names := n.DistinctOperators()
	ops := make([]Operator, len(names))
	index := make(map[string]int, len(names))
	for i, name := range names {
		ops[i].Name = name
		index[name] = i
	}
	again := make(map[int]int) // a repeated upstream → the first with its URL
	for _, d := range n.SameEndpoints() {
		again[d.Again] = d.First
	}
	// alias maps an operator that is not counted to the one whose endpoint
	// its upstreams are, so that the reads they served count there.
	alias := make(map[string]string)
	for j, u := range n.Upstreams {
		first, repeated := again[j]
		if !repeated {
			op := &ops[index[u.Operator]]
			op.Upstreams = append(op.Upstreams, u.Name)
			continue
		}
		if _, counted := index[u.Operator]; !counted && alias[u.Operator] == "" {
			alias[u.Operator] = n.Upstreams[first].Operator
		}
	}
	if live == nil {
		return ops
	}
	served := make(map[string]uint64, len(live.Served))
	for name, v := range live.Served {
		if to, ok := alias[name]; ok {
			name = to
		}
		served[name] += v
	}
	var total uint64
	for i := range ops {
		op := &ops[i]
		usable := min(live.Usable[op.Name], len(op.Upstreams))
		op.Usable = &usable
		op.Served = served[op.Name]
		total += op.Served
		if until, ok := live.Quarantined[op.Name]; ok && (live.Now.IsZero() || until.After(live.Now)) {
			until := until.UTC()
			op.QuarantinedUntil = &until
		}
	}
	if total > 0 {
		for i := range ops {
			ops[i].Share = float64(ops[i].Served) / float64(total)
		}
	}
	return ops
}

// quorumOf summarises q as resolved by policy.
func quorumOf(q config.Quorum, policy *plan.QuorumPolicy) Quorum {
	out := Quorum{
		K:           max(q.K, 1),
		OnDispute:   orDefault(q.OnDispute, config.OnDisputeError),
		OnShortfall: orDefault(q.OnShortfall, config.OnShortfallError),
		Methods:     policy.Methods(),
	}
	for i, m := range plan.QuorumEligible {
		k := policy.For(m).K
		if i == 0 || k < out.KMin {
			out.KMin = k
		}
		out.KMax = max(out.KMax, k)
	}
	for _, k := range out.Methods {
		out.KMax = max(out.KMax, k)
	}
	if len(out.Methods) == 0 {
		out.Methods = nil // as JSON leaves it
	}
	return out
}

// concentration returns the reads served by ops and the HHI of their
// shares, computed from the counts so that even splits come out exact.
func concentration(ops []Operator) (requests uint64, hhi float64) {
	var squares float64
	for _, op := range ops {
		requests += op.Served
		squares += float64(op.Served) * float64(op.Served)
	}
	if requests == 0 {
		return 0, 0
	}
	total := float64(requests)
	return requests, 10000 * squares / (total * total)
}

// require checks the coefficients of r against req.
func require(req config.Require, r *Network) (Require, bool) {
	out := Require{Availability: req.Availability, Integrity: req.Integrity}
	if req.Availability > 0 && r.Availability.Min < req.Availability {
		out.Unmet = append(out.Unmet, fmt.Sprintf("availability %d is below the required %d", r.Availability.Min, req.Availability))
	}
	if req.Integrity > 0 && r.Integrity.Value < req.Integrity && !r.Integrity.Unbounded {
		out.Unmet = append(out.Unmet, fmt.Sprintf("integrity %d is below the required %d", r.Integrity.Value, req.Integrity))
	}
	return out, len(out.Unmet) == 0
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// windowString is d as a duration string, or "" when d is not set.
func windowString(d time.Duration) string {
	if d <= 0 {
		return ""
	}
	return d.String()
}
