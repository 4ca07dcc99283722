package replica

import "github.com/prometheus/client_golang/prometheus"

// Metrics are the replica sync's collectors. A nil *Metrics records
// nothing.
type Metrics struct {
	behind *prometheus.GaugeVec
}

// NewMetrics registers the replica sync's collectors on reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{behind: prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Namespace: "braid", Name: "replica_behind_blocks",
		Help: "How far this replica's served tip trails the highest tip any replica published through Redis, by network (0: it leads or is level).",
	}, []string{"network"})}
	reg.MustRegister(m.behind)
	return m
}

// Behind returns the recorder of network's lag behind the highest
// replica (SyncOptions.Behind), or nil.
func (m *Metrics) Behind(network string) func(blocks uint64) {
	if m == nil {
		return nil
	}
	g := m.behind.WithLabelValues(network)
	return func(blocks uint64) { g.Set(float64(blocks)) }
}
