package strict

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/braidrpc/braid/internal/evm"
)

// Metrics count what calls on the local EVM asked of the operators. A nil
// *Metrics records nothing.
type Metrics struct {
	evmTrips *prometheus.CounterVec
	evmState *prometheus.CounterVec
}

// NewMetrics registers the strict stage's collectors on reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		evmTrips: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "braid", Name: "evm_round_trips_total",
			Help: "Upstream round trips of calls run on the local EVM (strict mode), by network, method and kind (access_list: the prefetch hint, proofs: a round of proofs and code, one batch or several at once, code, block_hashes; misses: those made on demand after the prefetch; overlapped: those sent while another of the call's was in flight, costing no latency).",
		}, []string{"network", "method", "kind"}),
		evmState: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "braid", Name: "evm_state_proven_total",
			Help: "State proven for calls on the local EVM (strict mode), by network and kind (accounts, slots, code_bytes).",
		}, []string{"network", "kind"}),
	}
	reg.MustRegister(m.evmTrips, m.evmState)
	return m
}

// evmCall counts what a call on the local EVM asked of the operators.
func (m *Metrics) evmCall(network, method string, s evm.Stats) {
	if m == nil {
		return
	}
	for kind, v := range map[string]int{"access_list": s.AccessLists, "proofs": s.Batches, "code": s.Codes,
		"block_hashes": s.BlockHashes, "misses": s.Misses, "overlapped": s.Overlapped} {
		if v > 0 {
			m.evmTrips.WithLabelValues(network, method, kind).Add(float64(v))
		}
	}
	for kind, v := range map[string]int{"accounts": s.Accounts, "slots": s.Slots, "code_bytes": s.CodeBytes} {
		if v > 0 {
			m.evmState.WithLabelValues(network, kind).Add(float64(v))
		}
	}
}
