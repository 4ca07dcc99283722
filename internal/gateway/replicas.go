package gateway

import (
	"github.com/braidrpc/braid/internal/replica"
)

// ReplicaStatus is what /status shows about the replicas sharing state.
type ReplicaStatus = replica.Status

func (n *Network) replicaTips() []replica.Tip {
	if n.share == nil {
		return nil
	}
	return n.share.Tips()
}

// newSync is the network's state shared with the other replicas.
func (n *Network) newSync(link *replica.Link, members *replica.Members, behind func(uint64)) *replica.Sync {
	return replica.NewSync(link, members, replica.SyncOptions{
		Network:  n.Name,
		Tip:      n.head.Tip,
		Budgets:  n.budgets,
		Standing: n.operators,
		Clock:    n.clock,
		Behind:   behind,
	})
}

// budgets are the upstreams' rate budgets, by upstream name.
func (n *Network) budgets() map[string]replica.Budget {
	ups := n.Upstreams()
	out := make(map[string]replica.Budget, len(ups))
	for _, u := range ups {
		out[u.Name] = u.Budget()
	}
	return out
}
