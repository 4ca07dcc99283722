package head

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/braidrpc/braid/internal/block"
	"github.com/braidrpc/braid/internal/metric"
	"github.com/braidrpc/braid/internal/upstream"
)

// metrics are the head collectors. A nil *metrics records nothing.
type metrics struct {
	head    *prometheus.GaugeVec
	lagG    *prometheus.GaugeVec
	block   *prometheus.GaugeVec
	polls   *prometheus.CounterVec
	changes *prometheus.CounterVec
	tipAge  *prometheus.GaugeVec
	highest *prometheus.GaugeVec
	stalled *prometheus.GaugeVec
}

// newMetrics registers the collectors on reg (nil: no metrics). Trackers
// of several networks share one registry: a collector already registered
// is reused.
func newMetrics(reg prometheus.Registerer) *metrics {
	if reg == nil {
		return nil
	}
	return &metrics{
		head: metric.MustRegister(reg, prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: "braid", Subsystem: "upstream", Name: "head_block",
			Help: "Block number of each upstream's last reported head, by tag (latest, safe, finalized).",
		}, []string{"network", "upstream", "tag"})),
		lagG: metric.MustRegister(reg, prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: "braid", Subsystem: "upstream", Name: "lag_blocks",
			Help: "How many blocks each upstream's latest is behind the served tip.",
		}, []string{"network", "upstream"})),
		block: metric.MustRegister(reg, prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: "braid", Name: "served_block",
			Help: "Block number of the served tip, by tag (latest, safe, finalized).",
		}, []string{"network", "tag"})),
		polls: metric.MustRegister(reg, prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "braid", Name: "head_polls_total",
			Help: "Head polls of upstreams, by outcome (ok, error, skipped_budget).",
		}, []string{"network", "upstream", "outcome"})),
		changes: metric.MustRegister(reg, prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "braid", Name: "served_tip_changes_total",
			Help: "Changes of the served latest block, by kind (advance, reorg).",
		}, []string{"network", "kind"})),
		tipAge: metric.MustRegister(reg, prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: "braid", Name: "tip_age_seconds",
			Help: "Seconds since the served latest block last changed (before the first tip: since start), updated every poll interval.",
		}, []string{"network"})),
		highest: metric.MustRegister(reg, prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: "braid", Name: "highest_head_block",
			Help: "The highest latest block any usable upstream reports.",
		}, []string{"network"})),
		stalled: metric.MustRegister(reg, prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: "braid", Name: "tip_stalled",
			Help: "1 while the served tip cannot advance: the highest head has been above it for head.stall_after with the tip not moving.",
		}, []string{"network"})),
	}
}

func (m *metrics) heads(network string, u *upstream.Upstream, h Heads) {
	if m == nil {
		return
	}
	m.head.WithLabelValues(network, u.Name, "latest").Set(float64(h.Latest.Number))
	setKnown(m.head.WithLabelValues(network, u.Name, "safe"), h.Safe)
	setKnown(m.head.WithLabelValues(network, u.Name, "finalized"), h.Finalized)
}

func setKnown(g prometheus.Gauge, b block.Block) {
	if !b.IsZero() {
		g.Set(float64(b.Number))
	}
}

func (m *metrics) lag(network string, u *upstream.Upstream, lag uint64, known bool) {
	if m == nil || !known {
		return
	}
	m.lagG.WithLabelValues(network, u.Name).Set(float64(lag))
}

func (m *metrics) served(network string, tip block.Tip) {
	if m == nil {
		return
	}
	setKnown(m.block.WithLabelValues(network, "latest"), tip.Latest)
	setKnown(m.block.WithLabelValues(network, "safe"), tip.Safe)
	setKnown(m.block.WithLabelValues(network, "finalized"), tip.Finalized)
}

func (m *metrics) poll(network string, u *upstream.Upstream, outcome string) {
	if m == nil {
		return
	}
	m.polls.WithLabelValues(network, u.Name, outcome).Inc()
}

func (m *metrics) change(network, kind string) {
	if m == nil {
		return
	}
	m.changes.WithLabelValues(network, kind).Inc()
}

func (m *metrics) progress(network string, p Progress) {
	if m == nil {
		return
	}
	m.tipAge.WithLabelValues(network).Set(p.TipAge.Seconds())
	if p.HighestKnown {
		m.highest.WithLabelValues(network).Set(float64(p.Highest))
	}
	stalled := 0.0
	if p.Stalled {
		stalled = 1
	}
	m.stalled.WithLabelValues(network).Set(stalled)
}
