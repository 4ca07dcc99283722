package gateway

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/braidrpc/braid/internal/plan"
)

// Metrics are the request-level collectors: what clients asked and got.
// Each stage keeps its own (route, quorum, operator, trust, strict, cache,
// stream, replica, upstream). A nil *Metrics records nothing.
type Metrics struct {
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
	errors   *prometheus.CounterVec
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
	reg.MustRegister(m.requests, m.duration, m.errors)
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
