package beacon

import (
	"errors"
	"fmt"
	"math"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/braidrpc/braid/internal/metric"
)

// metrics are one client's collectors. A nil *metrics records nothing.
// Clients of several networks share a registry: the vectors are shared,
// the per-network collector (head age, readiness) is the client's own.
type metrics struct {
	reg     prometheus.Registerer
	updates *prometheus.CounterVec
	own     *clientCollector
	network string
}

func newMetrics(reg prometheus.Registerer, c *Client) (*metrics, error) {
	if reg == nil {
		return nil, nil
	}
	m := &metrics{reg: reg, network: c.spec.Name}
	var err error
	if m.updates, err = metric.Register(reg, prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "braid", Subsystem: "beacon", Name: "updates_total",
		Help: "Signed updates from beacon APIs by kind (optimistic, finality) and result (accepted, duplicate, old, low_signers, bad_signature, bad_proof, future, stale, rejected).",
	}, []string{"network", "kind", "result"})); err != nil {
		return nil, fmt.Errorf("beacon: %w", err)
	}
	m.own = &clientCollector{c: c, labels: prometheus.Labels{"network": c.spec.Name}}
	m.own.init()
	if err := reg.Register(m.own); err != nil {
		return nil, fmt.Errorf("beacon: metrics for network %s: %w", c.spec.Name, err)
	}
	return m, nil
}

func (m *metrics) update(kind, result string) {
	if m != nil {
		m.updates.WithLabelValues(m.network, kind, result).Inc()
	}
}

func (m *metrics) unregister() {
	if m != nil {
		m.reg.Unregister(m.own)
	}
}

// clientCollector computes the head's age, readiness and each endpoint's
// reachability at scrape time.
type clientCollector struct {
	c      *Client
	labels prometheus.Labels
	age    *prometheus.Desc
	ready  *prometheus.Desc
	slot   *prometheus.Desc
	up     *prometheus.Desc
	why    *prometheus.Desc
}

// notReadyReasons are the values of braid_beacon_not_ready's reason label,
// each with the error it stands for (checked in this order).
var notReadyReasons = []struct {
	label string
	err   error
}{
	{"checkpoint_too_old", ErrCheckpointTooOld},
	{"stopped", ErrStopped},
	{"no_endpoint", ErrNoEndpoint},
	{"bootstrapping", ErrBootstrapping},
	{"no_head", ErrNoHead},
	{"stale_head", ErrStaleHead},
}

// notReadyReason is the reason label of a Ready error ("" when ready);
// "stopped" for a fatal error of another kind.
func notReadyReason(err error) string {
	if err == nil {
		return ""
	}
	for _, r := range notReadyReasons {
		if errors.Is(err, r.err) {
			return r.label
		}
	}
	return "stopped"
}

func (cc *clientCollector) init() {
	cc.age = prometheus.NewDesc("braid_beacon_head_age_seconds",
		"Age of the light client's latest signed head (now − its slot's start); +Inf before the first head.", nil, cc.labels)
	cc.ready = prometheus.NewDesc("braid_beacon_ready",
		"1 when the light client has a fresh signed head and a reachable beacon API, else 0.", nil, cc.labels)
	cc.slot = prometheus.NewDesc("braid_beacon_head_slot", "Slot of the latest signed head.", nil, cc.labels)
	// Reachability, not registration: go-ethereum's scheduler keeps an
	// API that answers 503 or refuses connections registered.
	cc.up = prometheus.NewDesc("braid_beacon_endpoint_up",
		"1 while a beacon API is reachable (its event stream open) and not quarantined, else 0.", []string{"endpoint"}, cc.labels)
	cc.why = prometheus.NewDesc("braid_beacon_not_ready",
		"1 for the reason the light client is not ready (checkpoint_too_old, stopped, no_endpoint, bootstrapping, no_head, stale_head), 0 for the others; all 0 when ready.", []string{"reason"}, cc.labels)
}

func (cc *clientCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- cc.age
	ch <- cc.ready
	ch <- cc.slot
	ch <- cc.up
	ch <- cc.why
}

func (cc *clientCollector) Collect(ch chan<- prometheus.Metric) {
	h, err := cc.c.Head()
	age, slot := math.Inf(1), 0.0
	if h.Slot != 0 || h.BlockHash != ([32]byte{}) {
		age, slot = h.Age(cc.c.clock.Now()).Seconds(), float64(h.Slot)
	}
	ready := 0.0
	if err == nil {
		ready = 1
	}
	why := notReadyReason(err)
	for _, r := range notReadyReasons {
		v := 0.0
		if r.label == why {
			v = 1
		}
		ch <- prometheus.MustNewConstMetric(cc.why, prometheus.GaugeValue, v, r.label)
	}
	ch <- prometheus.MustNewConstMetric(cc.age, prometheus.GaugeValue, age)
	ch <- prometheus.MustNewConstMetric(cc.ready, prometheus.GaugeValue, ready)
	ch <- prometheus.MustNewConstMetric(cc.slot, prometheus.GaugeValue, slot)
	for _, ep := range cc.c.eps {
		up := 0.0
		if ep.status().Up {
			up = 1
		}
		ch <- prometheus.MustNewConstMetric(cc.up, prometheus.GaugeValue, up, ep.name)
	}
}
