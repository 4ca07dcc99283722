package operator

import "github.com/prometheus/client_golang/prometheus"

// Metrics are the operator-standing collectors. A nil *Metrics records
// nothing.
type Metrics struct {
	strikes     *prometheus.CounterVec
	quarantined *prometheus.GaugeVec
}

// NewMetrics registers the operator collectors on reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		strikes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "braid", Name: "operator_strikes_total",
			Help: "Strikes against operators whose answer lost a dispute, by network and operator.",
		}, []string{"network", "operator"}),
		quarantined: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: "braid", Name: "operator_quarantined",
			Help: "1 while an operator is quarantined for lost disputes, by network and operator.",
		}, []string{"network", "operator"}),
	}
	reg.MustRegister(m.strikes, m.quarantined)
	return m
}

func (m *Metrics) strike(network, operator string) {
	if m != nil {
		m.strikes.WithLabelValues(network, operator).Inc()
	}
}

func (m *Metrics) setQuarantined(network, operator string, on bool) {
	if m != nil {
		v := 0.0
		if on {
			v = 1
		}
		m.quarantined.WithLabelValues(network, operator).Set(v)
	}
}
