package report

import (
	"fmt"
	"strings"
	"time"

	"github.com/braidrpc/braid/internal/config"
	"github.com/braidrpc/braid/internal/plan"
)

// Live share warnings need this many reads in the window, so that a quiet
// gateway does not warn about the one read it served.
const (
	shareWarnMinRequests = 20
	shareWarnThreshold   = 0.8
)

// outsideQuorumExamples are reads no default quorum covers, named in the
// integrity note when the policy leaves them at k 1.
var outsideQuorumExamples = []string{"eth_gasPrice", "eth_feeHistory", "eth_maxPriorityFeePerGas"}

// minOperators is head.min_operators resolved for n operators: 0 means a
// majority.
func minOperators(m, n int) int {
	if m <= 0 {
		return majorityOf(n)
	}
	return m
}

// majorityOf is the smallest strict majority of n operators.
func majorityOf(n int) int { return n/2 + 1 }

// availabilityOf computes the availability figures for n operators, a tip
// needing m of them, and quorum q.
func availabilityOf(n, m int, q Quorum) Availability {
	// Losing n-m+1 operators leaves fewer than m to agree on the tip, so
	// reads of "latest" stall.
	a := Availability{
		Reads:        max(0, min(n, n-m+1)),
		Transactions: n, // every operator gets each transaction; one suffices
	}
	a.Min = min(a.Reads, a.Transactions)
	if q.KMax > 1 {
		qr := a.Reads
		if q.OnShortfall != config.OnShortfallBestEffort {
			qr = max(0, min(n-q.KMax+1, a.Reads))
		}
		a.QuorumReads = &qr
		a.Min = min(a.Min, qr)
	}
	return a
}

// integrityOf computes the integrity coefficient of quorum q, resolved by
// policy, on a network of ops operators. It is the smallest quorum of a
// default quorum read: that many colluding operators agreeing on a wrong
// answer make braid serve it. With on_dispute "majority" a dispute asks
// every operator and a strict majority of them decides it, so a majority
// of the operators suffices even when k is larger.
func integrityOf(q Quorum, policy *plan.QuorumPolicy, ops int) Integrity {
	in := Integrity{Value: q.KMin, ReadsOutsideQuorum: 1}
	if outvote := majorityOf(ops); q.OnDispute == config.OnDisputeMajority && q.KMax > 1 && outvote < q.KMin {
		in.Value = outvote
		in.Note = fmt.Sprintf("with on_dispute majority, %d colluding operators outvote the other %d in a dispute, below k %d; methods outside quorum (%s) rest on one operator",
			outvote, ops-outvote, q.KMin, list(examples(policy), 2, true))
		return in
	}
	outside := examples(policy)
	switch {
	case q.KMax <= 1:
		in.Note = "a single operator decides every answer"
	case q.KMin <= 1:
		var single []string
		for _, m := range plan.QuorumEligible {
			if policy.For(m).K <= 1 {
				single = append(single, m)
			}
		}
		in.Note = fmt.Sprintf("a single operator decides %s; other quorum reads need up to %d operators to agree",
			list(single, 3, false), q.KMax)
	default:
		k := fmt.Sprint(q.KMin)
		if q.KMax > q.KMin {
			k = fmt.Sprintf("%d to %d", q.KMin, q.KMax)
		}
		in.Note = fmt.Sprintf("%s operators must agree on quorum reads; methods outside quorum (%s) rest on one operator",
			k, list(outside, 2, true))
	}
	return in
}

// verifiedIntegrity is the integrity coefficient in strict mode. A lie
// from any number of operators fails its proof, so the only thing left to
// attack is the trusted head: the m operators whose agreement makes a
// block the served tip can make braid trust a forged one. Quorum reads
// strict mode serves unchecked (verify.allow_unverified) rest on their k.
func verifiedIntegrity(v config.Verify, q Quorum, policy *plan.QuorumPolicy, m, ops int) Integrity {
	in := Integrity{Value: m, ReadsOutsideQuorum: 1}
	var unchecked []string
	for _, method := range plan.QuorumEligible {
		if plan.ServedUnchecked(v, method) {
			unchecked = append(unchecked, method)
			k := policy.For(method).K
			if q.OnDispute == config.OnDisputeMajority && k > 1 {
				k = min(k, majorityOf(ops)) // a strict majority outvotes k
			}
			in.Value = min(in.Value, k)
		}
	}
	in.Note = fmt.Sprintf("verify strict: a lie from any number of operators fails its proof; only the trusted head is left to attack, and %d colluding operators (head.min_operators) can make braid trust a forged head", m)
	if len(unchecked) > 0 {
		in.Note += fmt.Sprintf("; %s served unverified rest on quorum", list(unchecked, 3, false))
	}
	in.Note += "; priority fee suggestions (eth_gasPrice, …) are the operators' median, the base fee is proven"
	return in
}

// examples returns outsideQuorumExamples the policy leaves at k 1.
func examples(policy *plan.QuorumPolicy) []string {
	var out []string
	for _, m := range outsideQuorumExamples {
		if policy.For(m).K <= 1 {
			out = append(out, m)
		}
	}
	return out
}

// list joins at most n of names, ending with "…" when some are left out
// or more is set (the names are examples).
func list(names []string, n int, more bool) string {
	if len(names) > n {
		names, more = names[:n], true
	}
	s := strings.Join(names, ", ")
	if more && s != "" {
		s += ", "
	}
	if more {
		s += "…"
	}
	return s
}

// warnings lists, in plain words, each weakness of r that applies.
func warnings(n *config.Network, r *Network, live *Live) []string {
	w := []string{}
	add := func(format string, args ...any) { w = append(w, fmt.Sprintf(format, args...)) }
	ops, q := len(r.Operators), r.Quorum
	bestEffort := q.OnShortfall == config.OnShortfallBestEffort

	w = append(w, n.Warnings()...) // what config finds suspicious (the same URL twice)
	w = append(w, beaconWarnings(n, r.BeaconAPIs)...)
	if ops == 1 {
		add("all upstreams are run by one operator (%s): its outage or its lie reaches every client", r.Operators[0].Name)
	}
	if q.KMax > ops {
		if bestEffort {
			add("quorum k=%d exceeds the number of operators (%d): quorum reads are only ever best-effort", q.KMax, ops)
		} else {
			add("quorum k=%d exceeds the number of operators (%d): quorum reads always fail", q.KMax, ops)
		}
	}
	if q.KMax <= 1 && ops > 1 && !(n.Trust.Beacon() && n.Verify.Strict()) {
		add("no quorum: any one operator can return a wrong answer (set quorum.k)")
	}
	if minOperators(n.Head.MinOperators, ops) == 1 && ops > 1 && !n.Trust.Beacon() {
		add("head.min_operators is 1: any one operator can move the served tip")
	}
	if bestEffort && q.KMax > 1 {
		add("on_shortfall is best_effort: when operators fail, answers may rest on fewer than k operators")
	}
	if ops > 1 {
		upstreams := 0 // distinct endpoints
		for _, op := range r.Operators {
			upstreams += len(op.Upstreams)
		}
		for _, op := range r.Operators {
			if 2*len(op.Upstreams) > upstreams {
				add("operator %s runs %d of %d upstreams", op.Name, len(op.Upstreams), upstreams)
			}
		}
	}
	if live == nil {
		return w
	}
	if r.Requests >= shareWarnMinRequests && ops > 1 {
		for _, op := range r.Operators {
			if op.Share >= shareWarnThreshold {
				add("operator %s served %.0f %% of reads in the %s", op.Name, 100*op.Share, windowPhrase(live.Window))
			}
		}
	}
	for _, op := range r.Operators {
		if op.QuarantinedUntil != nil {
			add("operator %s is quarantined until %s (lost disputes)", op.Name, clock(*op.QuarantinedUntil, live.Now))
		}
	}
	return w
}

// windowPhrase names a window after "the": "last hour", "last 5m".
func windowPhrase(d time.Duration) string {
	switch d {
	case 0:
		return "window"
	case time.Minute:
		return "last minute"
	case time.Hour:
		return "last hour"
	case 24 * time.Hour:
		return "last day"
	}
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return "last " + s
}

// clock formats t in UTC as a time of day, with the date when t is not
// within a day of now.
func clock(t, now time.Time) string {
	t = t.UTC()
	if !now.IsZero() && t.Sub(now) >= 24*time.Hour {
		return t.Format("2006-01-02 15:04:05 UTC")
	}
	return t.Format("15:04:05 UTC")
}
