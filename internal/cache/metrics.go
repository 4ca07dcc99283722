package cache

import "github.com/prometheus/client_golang/prometheus"

// Metrics are the answer cache's collectors. A nil *Metrics records
// nothing.
type Metrics struct {
	lookups *prometheus.CounterVec
	stores  *prometheus.CounterVec
}

// NewMetrics registers the answer cache's collectors on reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		lookups: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "braid", Name: "cache_requests_total",
			Help: "Cacheable calls by network, method and result (hit: answered from the cache; miss: fetched).",
		}, []string{"network", "method", "result"}),
		stores: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "braid", Name: "cache_stores_total",
			Help: "Answers put in the cache, by network and lifetime (final: cannot change; tip: only while its block is the served tip).",
		}, []string{"network", "lifetime"}),
	}
	reg.MustRegister(m.lookups, m.stores)
	return m
}

// Lookup counts one lookup of a cacheable call (method: its metric label).
func (m *Metrics) Lookup(network, method string, hit bool) {
	if m == nil {
		return
	}
	r := "miss"
	if hit {
		r = "hit"
	}
	m.lookups.WithLabelValues(network, method, r).Inc()
}

// Stored counts one answer put in the cache for lifetime.
func (m *Metrics) Stored(network, lifetime string) {
	if m != nil {
		m.stores.WithLabelValues(network, lifetime).Inc()
	}
}

// RegisterMemory exposes mem's size and evictions on reg.
func RegisterMemory(reg prometheus.Registerer, mem *Memory) {
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
