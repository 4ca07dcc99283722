package route

import "github.com/prometheus/client_golang/prometheus"

// Metrics are the routing collectors. A nil *Metrics records nothing.
type Metrics struct {
	hedges  *prometheus.CounterVec
	retries *prometheus.CounterVec
	sends   *prometheus.CounterVec
}

// NewMetrics registers the routing collectors on reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		hedges: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "braid", Name: "hedges_total",
			Help: "Hedged attempts sent because the first upstream was slow, by network and whether the hedge's answer won.",
		}, []string{"network", "result"}),
		retries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "braid", Name: "retries_total",
			Help: "Attempts beyond the first for one call (failover and retry rounds), by network.",
		}, []string{"network"}),
	}
	m.sends = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "braid", Name: "broadcast_total",
		Help: "Transactions sent to each operator, by network, operator and result (accepted, refused: the node said no, failed: no answer).",
	}, []string{"network", "operator", "result"})
	reg.MustRegister(m.hedges, m.retries, m.sends)
	return m
}

func (m *Metrics) hedge(network, result string) {
	if m != nil {
		m.hedges.WithLabelValues(network, result).Inc()
	}
}

func (m *Metrics) retry(network string) {
	if m != nil {
		m.retries.WithLabelValues(network).Inc()
	}
}

func (m *Metrics) broadcast(network, operator, result string) {
	if m != nil {
		m.sends.WithLabelValues(network, operator, result).Inc()
	}
}
