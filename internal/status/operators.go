package status

import (
	"time"

	"github.com/braidrpc/braid/internal/config"
	"github.com/braidrpc/braid/internal/head"
	"github.com/braidrpc/braid/internal/operator"
	"github.com/braidrpc/braid/internal/plan"
	"github.com/braidrpc/braid/internal/report"
	"github.com/braidrpc/braid/internal/upstream"
)

// Standing is the operators' standing (operator.Standing).
type Standing interface {
	Strikes(operator string) int
	Quarantined() map[string]time.Time
}

var _ Standing = (*operator.Standing)(nil)

// OperatorsOf is the standing of every operator nc names, in its order.
func OperatorsOf(nc *config.Network, s Standing) []Operator {
	quarantined := s.Quarantined()
	var out []Operator
	for _, op := range nc.Operators() {
		o := Operator{Name: op, Strikes: s.Strikes(op), MaxStrikes: nc.Strikes.Max}
		for _, u := range nc.Upstreams {
			if u.Operator == op {
				o.Upstreams++
			}
		}
		if until, ok := quarantined[op]; ok {
			until = until.UTC()
			o.QuarantinedUntil = &until
		}
		out = append(out, o)
	}
	return out
}

// QuorumOf is a network's quorum policy (q validated).
func QuorumOf(q config.Quorum) Quorum {
	qp, _ := plan.NewQuorumPolicy(q) // checked when the network was built
	return Quorum{K: q.K, OnDispute: q.OnDispute, OnShortfall: q.OnShortfall, Methods: qp.Methods()}
}

// SetProgress fills in how the served tip keeps up.
func (ns *Network) SetProgress(p head.Progress) {
	ns.TipAgeSeconds = Round3(p.TipAge.Seconds())
	ns.Stalled = p.Stalled
	if p.HighestKnown {
		ns.HighestHead = &p.Highest
	}
	if p.Stalled {
		ns.StallReason = p.Reason
	}
}

// Shares are the reads each operator served lately (operator.Standing).
type Shares interface {
	Reads() map[string]uint64
	Quarantined() map[string]time.Time
}

var _ Shares = (*operator.Standing)(nil)

// CentralizationOf is network nc's centralization report with live
// figures: which operators served the reads of the last
// operator.ShareWindow, which of ups are usable, which operators are
// quarantined, at now.
func CentralizationOf(nc *config.Network, s Shares, ups []*upstream.Upstream, now time.Time) (*report.Network, error) {
	live := &report.Live{Window: operator.ShareWindow, Served: s.Reads(), Usable: map[string]int{},
		Quarantined: s.Quarantined(), Now: now}
	for _, u := range ups {
		if u.Usable() {
			live.Usable[u.Operator]++
		}
	}
	return report.Build(nc, live)
}
