package access

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/braidrpc/braid/internal/metric"
)

// Results of a request's key check, as braid_auth_requests_total's result
// label.
const (
	resultOK          = "ok"          // a valid key
	resultAnonymous   = "anonymous"   // no key, where none is required
	resultMissing     = "missing"     // no key, where one is required
	resultUnknown     = "unknown"     // a key braid does not know
	resultRevoked     = "revoked"     // a revoked key
	resultForbidden   = "forbidden"   // a valid key, not for this network
	resultUnavailable = "unavailable" // the key store could not be read yet
)

// metrics are the access collectors. A nil *metrics records nothing. The
// key label is a key's configured name ("" without one), never the key.
type metrics struct {
	auth     *prometheus.CounterVec
	rejected *prometheus.CounterVec
	credits  *prometheus.CounterVec
	local    prometheus.Gauge
	waiting  *prometheus.GaugeVec
	slotsMax *prometheus.GaugeVec
	keys     *prometheus.GaugeVec
}

func newMetrics(reg prometheus.Registerer) *metrics {
	if reg == nil {
		return nil
	}
	return &metrics{
		auth: metric.MustRegister(reg, prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "braid", Name: "auth_requests_total",
			Help: "Requests (HTTP requests, WebSocket upgrades, and messages on a connection whose key was revoked) by the result of their key check (ok, anonymous, missing, unknown, revoked, forbidden, unavailable) and key name.",
		}, []string{"result", "key"})),
		rejected: metric.MustRegister(reg, prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "braid", Name: "limit_rejections_total",
			Help: "Requests or calls refused by a limit (rps, quota, client_rps, client_quota, concurrency, method, batch), by key name (\"\" without a key).",
		}, []string{"limit", "key"})),
		credits: metric.MustRegister(reg, prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "braid", Name: "credits_total",
			Help: "Credits (method weights) charged against daily quotas, by key name (\"\" without a key).",
		}, []string{"key"})),
		local: metric.MustRegister(reg, prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: "braid", Name: "limits_local",
			Help: "1 while limits are counted by each replica alone because Redis is unreachable (a cluster may then allow up to N times a limit).",
		})),
		waiting: metric.MustRegister(reg, prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: "braid", Name: "admission_waiting",
			Help: "Calls waiting for one of the network's fair admission slots (auth.max_inflight, or derived), or for their key's own max_inflight.",
		}, []string{"network"})),
		slotsMax: metric.MustRegister(reg, prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: "braid", Name: "admission_slots",
			Help: "Calls each network runs at once for callers, shared fairly among them: auth.max_inflight, or derived from the upstreams' rps budgets (0: fair admission off).",
		}, []string{"network"})),
		keys: metric.MustRegister(reg, prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: "braid", Name: "api_keys",
			Help: "API keys braid holds, by source (config, file, redis) and state (active, revoked). braid never deletes a stored key, so a drop of a store's sum is keys lost.",
		}, []string{"source", "state"})),
	}
}

func (m *metrics) setKeys(source, state string, n float64) {
	if m != nil {
		m.keys.WithLabelValues(source, state).Set(n)
	}
}

func (m *metrics) authResult(result, key string) {
	if m != nil {
		m.auth.WithLabelValues(result, key).Inc()
	}
}

func (m *metrics) rejection(limit, key string) {
	if m != nil {
		m.rejected.WithLabelValues(limit, key).Inc()
	}
}

func (m *metrics) charged(key string, credits int64) {
	if m != nil && credits > 0 {
		m.credits.WithLabelValues(key).Add(float64(credits))
	}
}

func (m *metrics) setLocal(on bool) {
	if m == nil {
		return
	}
	if on {
		m.local.Set(1)
	} else {
		m.local.Set(0)
	}
}

func (m *metrics) slots(network string, n int) {
	if m != nil {
		m.slotsMax.WithLabelValues(network).Set(float64(n))
	}
}

func (m *metrics) waitingDelta(network string, d float64) {
	if m != nil {
		m.waiting.WithLabelValues(network).Add(d)
	}
}
