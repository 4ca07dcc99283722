package plan

import (
	"fmt"
	"maps"
	"slices"

	"github.com/braidrpc/braid/internal/config"
)

// QuorumEligible are the reads that are quorum reads by default when a
// network sets quorum.k: their answers, pinned to one block, must be the
// same on every honest node.
var QuorumEligible = []string{
	"eth_call", "eth_estimateGas", "eth_getBalance", "eth_getCode", "eth_getStorageAt",
	"eth_getTransactionCount", "eth_getProof", "eth_getLogs", "eth_getTransactionReceipt",
	"eth_getBlockByNumber", "eth_getBlockByHash", "eth_getTransactionByHash",
}

// QuorumGroups are the method groups a quorum.methods entry may name.
var QuorumGroups = []string{ClassState, ClassCall, ClassBlock, ClassTx, ClassLogs}

// Quorum is the quorum policy of one method.
type Quorum struct {
	// K distinct operators must agree (1: an ordinary read).
	K int
	// Ignore are object keys left out of the comparison.
	Ignore []string
}

// QuorumPolicy resolves a network's quorum config per method.
type QuorumPolicy struct {
	k       int
	methods map[string]config.MethodQuorum
	groups  map[string]config.MethodQuorum
}

// NewQuorumPolicy checks q's method entries and returns its policy. An
// entry must name a method braid may forward as an ordinary read, or a
// method group.
func NewQuorumPolicy(q config.Quorum) (*QuorumPolicy, error) {
	p := &QuorumPolicy{k: max(q.K, 1), methods: map[string]config.MethodQuorum{}, groups: map[string]config.MethodQuorum{}}
	for _, name := range slices.Sorted(maps.Keys(q.Methods)) {
		mq := q.Methods[name]
		if slices.Contains(QuorumGroups, name) {
			p.groups[name] = mq
			continue
		}
		if spec := Lookup(name); spec != nil && spec.Kind != Forward {
			return nil, fmt.Errorf("quorum.methods: %s is a %s call, not a read braid can compare across operators", name, spec.Kind)
		}
		if name == ClassWrite || name == ClassOther {
			return nil, fmt.Errorf("quorum.methods: %q is not a group quorum applies to; groups are %v", name, QuorumGroups)
		}
		p.methods[name] = mq
	}
	return p, nil
}

// For returns the quorum policy of method: its own entry, else its
// group's, else the network's k for the default eligible methods. A
// method with no entry that is not eligible by default gets K 1.
func (p *QuorumPolicy) For(method string) Quorum {
	if p == nil || p.k == 1 && len(p.methods) == 0 && len(p.groups) == 0 {
		return Quorum{K: 1}
	}
	q := Quorum{K: 1}
	eligible := slices.Contains(QuorumEligible, method)
	if eligible {
		q.K = p.k
	}
	spec := Lookup(method)
	if g, ok := p.groups[ClassOf(method)]; ok && (eligible || spec != nil && spec.Kind == Forward) {
		if g.K > 0 {
			q.K = g.K
		} else if !eligible {
			q.K = p.k
		}
		q.Ignore = g.IgnoreFields
	}
	if m, ok := p.methods[method]; ok {
		q.K = p.k
		if m.K > 0 {
			q.K = m.K
		}
		if m.IgnoreFields != nil {
			q.Ignore = m.IgnoreFields
		}
	}
	return q
}

// Methods lists every method with a quorum above 1 among the known and
// explicitly named methods, for reports.
func (p *QuorumPolicy) Methods() map[string]int {
	out := map[string]int{}
	names := slices.Collect(maps.Keys(p.methods))
	for name := range methods {
		names = append(names, name)
	}
	for _, name := range names {
		if q := p.For(name); q.K > 1 {
			out[name] = q.K
		}
	}
	return out
}
