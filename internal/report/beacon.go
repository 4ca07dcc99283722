package report

import (
	"fmt"
	"net/url"
	"strings"
	"time"

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

// beaconAPINames labels beacon APIs as logs and status do: the configured
// name, else scheme://host — never the URL's path, query or user info,
// which may hold a key.
func beaconAPINames(apis []config.BeaconAPI) []string {
	out := make([]string, 0, len(apis))
	for _, a := range apis {
		name := strings.TrimSpace(a.Name)
		if name == "" {
			name = "(invalid URL)"
			if u, err := url.Parse(a.URL); err == nil && u.Host != "" {
				name = u.Scheme + "://" + u.Host
			}
		}
		out = append(out, name)
	}
	return out
}

// beaconWarnings are the weaknesses of a trust: beacon setup that no
// coefficient shows: the beacon APIs are a dependency of their own (with
// none reachable braid is not ready, whatever the operators), a signed tip
// protects answers only under verify: strict, and without data_dir the
// checkpoint ages until a restart refuses it.
func beaconWarnings(n *config.Network, apis []string) []string {
	if !n.Trust.Beacon() {
		return nil
	}
	var w []string
	add := func(format string, args ...any) { w = append(w, fmt.Sprintf(format, args...)) }
	if len(apis) == 1 {
		add("one beacon API (%s): while it is down or quarantined braid is not ready on this network; list two or more, run by different providers", apis[0])
	}
	hosts := map[string]int{}
	for i, a := range n.Trust.BeaconAPIs {
		u, err := url.Parse(a.URL)
		if err != nil || u.Host == "" {
			continue
		}
		host := strings.ToLower(u.Hostname())
		if j, seen := hosts[host]; seen {
			add("beacon APIs %s and %s are on one host: one outage stops both", apis[j], apis[i])
			continue
		}
		hosts[host] = i
	}
	if !n.Verify.Strict() {
		add("trust beacon without verify strict: the served tip is the one the sync committee signed, but answers are the operators' unchecked word (set verify.mode: strict)")
	}
	if strings.TrimSpace(n.Trust.DataDir) == "" {
		maxAge := time.Duration(n.Trust.CheckpointMaxAge)
		if maxAge == 0 {
			maxAge = time.Duration(config.DefaultCheckpointMaxAge)
		}
		add("trust.data_dir is not set: the light client's progress is not kept, so every start bootstraps from trust.checkpoint (or the preset's) and is refused once that is older than checkpoint_max_age (%s); set data_dir", config.Days(maxAge))
	}
	return w
}
