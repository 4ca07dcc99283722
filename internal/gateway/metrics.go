package gateway

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/braidrpc/braid/internal/evm"
	"github.com/braidrpc/braid/internal/plan"
)

// Metrics are the request-level collectors: what clients asked and got.
// Each stage keeps its own (route, quorum, operator, trust, cache, stream,
// replica, upstream). A nil *Metrics records nothing.
type Metrics struct {
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
	errors   *prometheus.CounterVec
	evmTrips *prometheus.CounterVec
	evmState *prometheus.CounterVec
}

// NewMetrics registers the request collectors on reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "braid", Name: "requests_total",
			Help: "Client calls by network, method and outcome (ok, rpc_error: an upstream's error answer passed through, error: braid could not answer).",
		}, []string{"network", "method", "outcome"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: "braid", Name: "request_duration_seconds",
			Help:    "Time to answer a client call, by network and method.",
			Buckets: []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
		}, []string{"network", "method"}),
		errors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "braid", Name: "errors_total",
			Help: "Errors answered to clients, by network and kind (JSON-RPC code name).",
		}, []string{"network", "kind"}),
	}
	m.evmTrips = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "braid", Name: "evm_round_trips_total",
		Help: "Upstream round trips of calls run on the local EVM (strict mode), by network, method and kind (access_list: the prefetch hint, proofs: a batch of proofs and code, code, block_hashes; misses: those made on demand after the prefetch).",
	}, []string{"network", "method", "kind"})
	m.evmState = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "braid", Name: "evm_state_proven_total",
		Help: "State proven for calls on the local EVM (strict mode), by network and kind (accounts, slots, code_bytes).",
	}, []string{"network", "kind"})
	reg.MustRegister(m.requests, m.duration, m.errors, m.evmTrips, m.evmState)
	return m
}

func (m *Metrics) observe(network, method, outcome string, d time.Duration) {
	if m == nil {
		return
	}
	ml := plan.MethodLabel(method)
	m.requests.WithLabelValues(network, ml, outcome).Inc()
	m.duration.WithLabelValues(network, ml).Observe(d.Seconds())
}

// Error counts an error answer by kind.
func (m *Metrics) Error(network, kind string) {
	if m == nil {
		return
	}
	m.errors.WithLabelValues(network, kind).Inc()
}

// evmCall counts what a call on the local EVM asked of the operators.
func (m *Metrics) evmCall(network, method string, s evm.Stats) {
	if m == nil {
		return
	}
	for kind, v := range map[string]int{"access_list": s.AccessLists, "proofs": s.Batches, "code": s.Codes,
		"block_hashes": s.BlockHashes, "misses": s.Misses} {
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
