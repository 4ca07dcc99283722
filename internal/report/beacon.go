package report

import (
	"fmt"

	"github.com/braidrpc/braid/internal/config"
	"github.com/braidrpc/braid/internal/plan"
)

// beaconIntegrity is the integrity coefficient with trust: beacon under
// verify: strict. The trusted head is the one the sync committee signed,
// and every strict answer is proven against it, so no set of operators
// can make a strict answer wrong: only the sync committee can (a
// supermajority of its 512 members signing a forged head). Methods strict
// mode serves unchecked (verify.allow_unverified) still rest on quorum.
func beaconIntegrity(v config.Verify, q Quorum, policy *plan.QuorumPolicy, ops int) Integrity {
	in := Integrity{Value: ops + 1, Unbounded: true, ReadsOutsideQuorum: 1}
	var unchecked []string
	for _, method := range plan.QuorumEligible {
		if !plan.ServedUnchecked(v, method) {
			continue
		}
		unchecked = append(unchecked, method)
		k := policy.For(method).K
		if q.OnDispute == config.OnDisputeMajority && k > 1 {
			k = min(k, majorityOf(ops))
		}
		in.Value, in.Unbounded = min(in.Value, k), false
	}
	in.Note = "trust beacon + verify strict: no set of operators can make a strict answer wrong, only the sync committee can (342 of its 512 members signing a forged head)"
	if len(unchecked) > 0 {
		in.Note += fmt.Sprintf("; %s served unverified rest on quorum", list(unchecked, 3, false))
	}
	in.Note += "; fee suggestions (eth_gasPrice, …) rest on one operator"
	return in
}

// beaconAvailability: with trust: beacon the tip needs no agreement, so
// reads stop only when no operator is left to give the signed block (or
// when no beacon API is reachable, which no operator count shows).
func beaconAvailability(a Availability, ops int) Availability {
	a.Reads = ops
	a.Min = a.Reads
	if a.QuorumReads != nil {
		a.Min = min(a.Min, *a.QuorumReads)
	}
	a.Min = min(a.Min, a.Transactions)
	return a
}
