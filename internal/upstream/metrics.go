package upstream

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the per-upstream collectors. A nil *Metrics records nothing.
type Metrics struct {
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
	state    *prometheus.GaugeVec
	cond     *prometheus.GaugeVec
}

// NewMetrics registers the upstream collectors on reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "braid", Subsystem: "upstream", Name: "requests_total",
			Help: "Attempts sent to upstreams, by outcome (ok, rpc_error, transport, timeout, http_status, throttled, bad_response, cancelled).",
		}, []string{"network", "upstream", "operator", "outcome"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: "braid", Subsystem: "upstream", Name: "request_duration_seconds",
			Help:    "Latency of upstream attempts that got an answer.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"network", "upstream"}),
		state: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: "braid", Subsystem: "upstream", Name: "state",
			Help: "1 for the upstream's current state (unverified, ready, quarantined), 0 for the others.",
		}, []string{"network", "upstream", "operator", "state"}),
	}
	m.cond = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Namespace: "braid", Subsystem: "upstream", Name: "condition",
		Help: "1 for the upstream's current condition (healthy, degraded, lagging, broken, throttled, quarantined, unverified), 0 for the others.",
	}, []string{"network", "upstream", "operator", "condition"})
	reg.MustRegister(m.requests, m.duration, m.state, m.cond)
	return m
}

// answered are one upstream's collectors for the attempts that got an
// answer (every call's outcome on the hot path), looked up once: a
// WithLabelValues hashes and checks each label value on every call.
type answered struct {
	ok, rpcError prometheus.Counter
	duration     prometheus.Observer
}

func (m *Metrics) answered(u *Upstream) answered {
	if m == nil {
		return answered{}
	}
	return answered{
		ok:       m.requests.WithLabelValues(u.Network, u.Name, u.Operator, "ok"),
		rpcError: m.requests.WithLabelValues(u.Network, u.Name, u.Operator, "rpc_error"),
		duration: m.duration.WithLabelValues(u.Network, u.Name),
	}
}

// Observe records one attempt's outcome; latency is recorded for answers.
func (m *Metrics) Observe(u *Upstream, outcome string, latency time.Duration) {
	if m == nil {
		return
	}
	switch a := u.answered; {
	case outcome == "ok" && a.ok != nil:
		a.ok.Inc()
		a.duration.Observe(latency.Seconds())
	case outcome == "rpc_error" && a.rpcError != nil:
		a.rpcError.Inc()
		a.duration.Observe(latency.Seconds())
	default:
		m.requests.WithLabelValues(u.Network, u.Name, u.Operator, outcome).Inc()
		if outcome == "ok" || outcome == "rpc_error" {
			m.duration.WithLabelValues(u.Network, u.Name).Observe(latency.Seconds())
		}
	}
}

func (m *Metrics) setState(u *Upstream, s State) {
	if m == nil {
		return
	}
	for _, st := range []State{Unverified, Ready, Quarantined} {
		v := 0.0
		if st == s {
			v = 1
		}
		m.state.WithLabelValues(u.Network, u.Name, u.Operator, st.String()).Set(v)
	}
}

func (m *Metrics) setCondition(u *Upstream, c Condition) {
	if m == nil {
		return
	}
	for _, x := range Conditions {
		v := 0.0
		if x == c {
			v = 1
		}
		m.cond.WithLabelValues(u.Network, u.Name, u.Operator, string(x)).Set(v)
	}
}
