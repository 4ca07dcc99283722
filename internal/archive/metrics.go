package archive

import (
	"sync"

	"github.com/prometheus/client_golang/prometheus"
)

// Registry is what a gateway's archives share of its metrics registry:
// the history collectors (registered once, with the first archive), and
// whether a peer node and a ledger took the registry (one registry takes
// one of each: peers.Options.Registerer, ledger.Options.Registerer). A nil
// Registry has no metrics.
type Registry struct {
	reg prometheus.Registerer

	mu       sync.Mutex
	metrics  *metrics
	node     bool
	ledger   bool
	archives []*Archive
}

// NewRegistry shares reg (nil: no metrics) among a gateway's archives.
func NewRegistry(reg prometheus.Registerer) *Registry { return &Registry{reg: reg} }

// metricsFor returns the history collectors, registering them on first use.
func (r *Registry) metricsFor() *metrics {
	if r == nil || r.reg == nil {
		return nil
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.metrics == nil {
		r.metrics = newMetrics(r.reg, r)
	}
	return r.metrics
}

// takeNode returns the registry for the first peer node that asks, nil
// after.
func (r *Registry) takeNode() prometheus.Registerer {
	if r == nil || r.reg == nil {
		return nil
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.node {
		return nil
	}
	r.node = true
	return r.reg
}

// takeLedger returns the registry for the first ledger that asks, nil
// after.
func (r *Registry) takeLedger() prometheus.Registerer {
	if r == nil || r.reg == nil {
		return nil
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.ledger {
		return nil
	}
	r.ledger = true
	return r.reg
}

// add lists an open archive for braid_history_store_bytes.
func (r *Registry) add(a *Archive) {
	if r == nil {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.archives = append(r.archives, a)
}

func (r *Registry) list() []*Archive {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]*Archive(nil), r.archives...)
}

// metrics are the history stage's collectors.
type metrics struct {
	requests *prometheus.CounterVec
}

func newMetrics(reg prometheus.Registerer, r *Registry) *metrics {
	m := &metrics{requests: prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "braid", Name: "history_requests_total",
		Help: "History calls (blocks, transactions, receipts, logs) by network, where the answer came from (provider, store, peer) and result (ok; unavailable: no provider, store or peer had it).",
	}, []string{"network", "source", "result"})}
	reg.MustRegister(m.requests, &storeBytes{r: r})
	return m
}

func (m *metrics) count(network, source, result string) {
	if m != nil {
		m.requests.WithLabelValues(network, source, result).Inc()
	}
}

// storeBytes reports each history store's accounted bytes at scrape time.
type storeBytes struct{ r *Registry }

var storeBytesDesc = prometheus.NewDesc("braid_history_store_bytes",
	"Bytes the history store accounts (keys, values, per-entry overhead), by network; never above peers.store.max_bytes.",
	[]string{"network"}, nil)

func (s *storeBytes) Describe(ch chan<- *prometheus.Desc) { ch <- storeBytesDesc }

func (s *storeBytes) Collect(ch chan<- prometheus.Metric) {
	for _, a := range s.r.list() {
		ch <- prometheus.MustNewConstMetric(storeBytesDesc, prometheus.GaugeValue, float64(a.store.Size()), a.network)
	}
}
