package server

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/braidrpc/braid/internal/metric"
)

// Reasons a WebSocket connection ends, as braid_ws_disconnects_total's
// reason label.
const (
	reasonClient       = "client"        // the client closed or went away
	reasonSlowConsumer = "slow_consumer" // the send queue overflowed or a write timed out
	reasonTooBig       = "too_big"       // a message over MaxMessageBytes
	reasonPingTimeout  = "ping_timeout"  // no pong within PingTimeout
	reasonShutdown     = "shutdown"      // CloseWebSockets
	reasonError        = "error"         // anything else (protocol or I/O error)
)

var disconnectReasons = []string{reasonClient, reasonSlowConsumer, reasonTooBig, reasonPingTimeout, reasonShutdown, reasonError}

// wsMetrics are the WebSocket endpoint's collectors. A nil *wsMetrics
// records nothing.
type wsMetrics struct {
	conns       prometheus.Gauge
	subs        prometheus.Gauge
	messages    *prometheus.CounterVec
	disconnects *prometheus.CounterVec
}

// newWSMetrics registers the WebSocket collectors on reg (nil: none). A
// second Server on the same registry shares the first one's collectors.
func newWSMetrics(reg prometheus.Registerer) *wsMetrics {
	if reg == nil {
		return nil
	}
	m := &wsMetrics{
		conns: metric.MustRegister(reg, prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: "braid", Name: "ws_connections",
			Help: "Open WebSocket connections.",
		})),
		subs: metric.MustRegister(reg, prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: "braid", Name: "ws_subscriptions",
			Help: "Active eth_subscribe subscriptions over WebSocket.",
		})),
		messages: metric.MustRegister(reg, prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "braid", Name: "ws_messages_total",
			Help: "WebSocket messages by direction (in: read from clients, out: answers and notifications written).",
		}, []string{"direction"})),
		disconnects: metric.MustRegister(reg, prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "braid", Name: "ws_disconnects_total",
			Help: "Closed WebSocket connections by reason (client, slow_consumer, too_big, ping_timeout, shutdown, error).",
		}, []string{"reason"})),
	}
	// Every series exists from the start, so a rate over it is never
	// missing its first increase.
	for _, d := range []string{"in", "out"} {
		m.messages.WithLabelValues(d)
	}
	for _, r := range disconnectReasons {
		m.disconnects.WithLabelValues(r)
	}
	return m
}

func (m *wsMetrics) opened() {
	if m != nil {
		m.conns.Inc()
	}
}

func (m *wsMetrics) closed(reason string) {
	if m != nil {
		m.conns.Dec()
		m.disconnects.WithLabelValues(reason).Inc()
	}
}

func (m *wsMetrics) subscribed(delta int) {
	if m != nil {
		m.subs.Add(float64(delta))
	}
}

func (m *wsMetrics) message(direction string) {
	if m != nil {
		m.messages.WithLabelValues(direction).Inc()
	}
}
