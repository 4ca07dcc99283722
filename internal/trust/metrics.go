package trust

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/braidrpc/braid/internal/plan"
)

// Metrics are the verified reader's collectors. A nil *Metrics records
// nothing.
type Metrics struct {
	failures *prometheus.CounterVec
}

// NewMetrics registers the verified reader's collectors on reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{failures: prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "braid", Name: "verify_failures_total",
		Help: "Answers that failed verification against a trusted header (each one a strike), by network, method and operator.",
	}, []string{"network", "method", "operator"})}
	reg.MustRegister(m.failures)
	return m
}

func (m *Metrics) failure(network, method, operator string) {
	if m != nil {
		m.failures.WithLabelValues(network, plan.MethodLabel(method), operator).Inc()
	}
}
