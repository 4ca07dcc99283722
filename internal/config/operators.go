package config

import (
	"fmt"
	"maps"
	"slices"
	"strings"
)

// validateOperatorCounts checks the settings that count operators against
// the network's distinct operators (DistinctOperators: one endpoint is one
// operator however often it is configured). More than there are means no
// block could be served or no quorum read ever answered, while `braid
// check` would report the integrity the setting promises.
func (n *Network) validateOperatorCounts(label string) []error {
	ops := n.DistinctOperators()
	if len(ops) == 0 {
		return nil // "no upstreams" or a missing operator is reported already
	}
	var errs []error
	have := operatorsPhrase(n, ops)
	if n.Head.MinOperators > len(ops) {
		errs = append(errs, fmt.Errorf("%s: head.min_operators is %d but the network has only %s: no block could ever be served",
			label, n.Head.MinOperators, have))
	}
	tooMany := func(key string, k int) {
		if k > len(ops) {
			errs = append(errs, fmt.Errorf("%s: %s is %d but the network has only %s: no quorum read could ever get %d to agree; lower it to at most %d, or add upstreams run by other operators",
				label, key, k, have, k, len(ops)))
		}
	}
	tooMany("quorum.k", n.Quorum.K)
	for _, name := range slices.Sorted(maps.Keys(n.Quorum.Methods)) {
		tooMany("quorum.methods."+name+".k", n.Quorum.Methods[name].K)
	}
	return errs
}

// operatorsPhrase is "2 operators (a, b)", saying so when upstreams with
// the same URL were counted once.
func operatorsPhrase(n *Network, ops []string) string {
	noun := "operators"
	if len(ops) == 1 {
		noun = "operator"
	}
	names := strings.Join(ops, ", ")
	if len(n.SameEndpoints()) > 0 && len(n.Operators()) > len(ops) {
		names += "; upstreams with the same URL count once"
	}
	return fmt.Sprintf("%d %s (%s)", len(ops), noun, names)
}
