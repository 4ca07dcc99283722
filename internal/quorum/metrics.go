package quorum

import "github.com/prometheus/client_golang/prometheus"

// Metrics are the quorum collectors. A nil *Metrics records nothing.
type Metrics struct {
	reads    *prometheus.CounterVec
	disputes *prometheus.CounterVec
}

// NewMetrics registers the quorum collectors on reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		reads: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "braid", Name: "quorum_reads_total",
			Help: "Quorum reads by network and decision: agreed, resolved (k agreed after a disagreement), majority, best_effort (fewer than k agreed), dispute (error) or shortfall (error).",
		}, []string{"network", "decision"}),
		disputes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "braid", Name: "quorum_disputes_total",
			Help: "Quorum reads whose operators gave different answers, by network and method.",
		}, []string{"network", "method"}),
	}
	reg.MustRegister(m.reads, m.disputes)
	return m
}

// Read counts one quorum read's decision.
func (m *Metrics) Read(network, decision string) {
	if m != nil {
		m.reads.WithLabelValues(network, decision).Inc()
	}
}

// Dispute counts one disagreement.
func (m *Metrics) Dispute(network, method string) {
	if m != nil {
		m.disputes.WithLabelValues(network, method).Inc()
	}
}
