package gateway

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/braidrpc/braid/internal/cache"
	"github.com/braidrpc/braid/internal/evm"
	"github.com/braidrpc/braid/internal/plan"
)

// Metrics are the request-level collectors. A nil *Metrics records nothing.
type Metrics struct {
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
	errors   *prometheus.CounterVec
	sends    *prometheus.CounterVec
	stream   *prometheus.HistogramVec
	cache    *prometheus.CounterVec
	stores   *prometheus.CounterVec
	behind   *prometheus.GaugeVec
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
		sends: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "braid", Name: "broadcast_total",
			Help: "Transactions sent to each operator, by network, operator and result (accepted, refused: the node said no, failed: no answer).",
		}, []string{"network", "operator", "result"}),
		stream: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: "braid", Name: "stream_delay_seconds",
			Help:    "Time from a new served tip to its block going out to subscribers and filters (fetching its header, any missing ancestors and, when wanted, logs), by network.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"network"}),
		cache: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "braid", Name: "cache_requests_total",
			Help: "Cacheable calls by network, method and result (hit: answered from the cache; miss: fetched).",
		}, []string{"network", "method", "result"}),
		stores: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "braid", Name: "cache_stores_total",
			Help: "Answers put in the cache, by network and lifetime (final: cannot change; tip: only while its block is the served tip).",
		}, []string{"network", "lifetime"}),
		behind: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: "braid", Name: "replica_behind_blocks",
			Help: "How far this replica's served tip trails the highest tip any replica published through Redis, by network (0: it leads or is level).",
		}, []string{"network"}),
		evmTrips: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "braid", Name: "evm_round_trips_total",
			Help: "Upstream round trips of calls run on the local EVM (strict mode), by network, method and kind (access_list: the prefetch hint, proofs: a batch of proofs and code, code, block_hashes; misses: those made on demand after the prefetch).",
		}, []string{"network", "method", "kind"}),
		evmState: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "braid", Name: "evm_state_proven_total",
			Help: "State proven for calls on the local EVM (strict mode), by network and kind (accounts, slots, code_bytes).",
		}, []string{"network", "kind"}),
	}
	reg.MustRegister(m.requests, m.duration, m.errors, m.sends, m.stream, m.cache, m.stores, m.behind, m.evmTrips, m.evmState)
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

func (m *Metrics) broadcast(network, operator, result string) {
	if m == nil {
		return
	}
	m.sends.WithLabelValues(network, operator, result).Inc()
}

// streamDelay returns the observer of the network's block stream delay,
// or nil.
func (m *Metrics) streamDelay(network string) func(time.Duration) {
	if m == nil {
		return nil
	}
	h := m.stream.WithLabelValues(network)
	return func(d time.Duration) { h.Observe(d.Seconds()) }
}

func (m *Metrics) cacheLookup(network, method string, hit bool) {
	if m == nil {
		return
	}
	r := "miss"
	if hit {
		r = "hit"
	}
	m.cache.WithLabelValues(network, plan.MethodLabel(method), r).Inc()
}

func (m *Metrics) cacheStore(network string, life plan.Lifetime) {
	if m == nil {
		return
	}
	m.stores.WithLabelValues(network, life.String()).Inc()
}

// registerCacheMetrics exposes the memory cache's size and evictions.
func registerCacheMetrics(reg prometheus.Registerer, mem *cache.Memory) {
	reg.MustRegister(
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Namespace: "braid", Name: "cache_bytes",
			Help: "Bytes the in-memory answer cache holds (keys, answers and per-entry bookkeeping).",
		}, func() float64 { return float64(mem.Stats().Bytes) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Namespace: "braid", Name: "cache_entries",
			Help: "Answers the in-memory cache holds.",
		}, func() float64 { return float64(mem.Stats().Entries) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Namespace: "braid", Name: "cache_evictions_total",
			Help: "Answers dropped from the in-memory cache to make room.",
		}, func() float64 { return float64(mem.Stats().Evictions) }),
	)
}

func (m *Metrics) replicaBehind(network string, blocks uint64) {
	if m == nil {
		return
	}
	m.behind.WithLabelValues(network).Set(float64(blocks))
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
