package stream

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the block stream's collectors. A nil *Metrics records
// nothing.
type Metrics struct {
	delay *prometheus.HistogramVec
}

// NewMetrics registers the block stream's collectors on reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{delay: prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Namespace: "braid", Name: "stream_delay_seconds",
		Help:    "Time from a new served tip to its block going out to subscribers and filters (fetching its header, any missing ancestors and, when wanted, logs), by network.",
		Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
	}, []string{"network"})}
	reg.MustRegister(m.delay)
	return m
}

// Delay returns the observer of network's stream delay (Options.Delay),
// or nil.
func (m *Metrics) Delay(network string) func(time.Duration) {
	if m == nil {
		return nil
	}
	h := m.delay.WithLabelValues(network)
	return func(d time.Duration) { h.Observe(d.Seconds()) }
}
