package peers

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics are a node's collectors. A nil *metrics records nothing.
type metrics struct {
	reg        prometheus.Registerer
	registered []prometheus.Collector

	transfers *prometheus.CounterVec
	bytes     *prometheus.CounterVec
	bans      prometheus.Counter
}

// newMetrics registers a node's collectors on reg; peers, keys and
// records are read when scraped. A registry that already holds them (a
// second node) is an error.
func newMetrics(reg prometheus.Registerer, peers, keys, records func() float64) (*metrics, error) {
	if reg == nil {
		return nil, nil
	}
	m := &metrics{
		reg: reg,
		transfers: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "braid", Name: "peer_transfers_total",
			Help: "Content exchanges with peers, by direction (in: fetched, out: served), kind (header, body, receipts) and result (verified, lie, not_held, refused, failed, served).",
		}, []string{"direction", "kind", "result"}),
		bytes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "braid", Name: "peer_bytes_total",
			Help: "Payload bytes of content exchanged with peers, by direction (in: fetched and verified, out: served).",
		}, []string{"direction"}),
		bans: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: "braid", Name: "peer_bans_total",
			Help: "Peers disconnected and refused for a while for abuse (floods, lies, malformed or oversized frames).",
		}),
	}
	for _, c := range []prometheus.Collector{m.transfers, m.bytes, m.bans,
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Namespace: "braid", Name: "peers",
			Help: "Peers connected now.",
		}, peers),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Namespace: "braid", Name: "peer_provided_keys",
			Help: "Content keys this node announces in the DHT (and announces again before their records expire).",
		}, keys),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Namespace: "braid", Name: "peer_dht_record_bytes",
			Help: "Bytes of DHT provider records this node keeps for other peers (bounded by limits).",
		}, records),
	} {
		if err := reg.Register(c); err != nil {
			m.unregister()
			return nil, fmt.Errorf("peers: metrics (one registry takes one node): %w", err)
		}
		m.registered = append(m.registered, c)
	}
	// Every label value exists from the start, so rate() sees a zero.
	for _, d := range []Direction{In, Out} {
		m.bytes.WithLabelValues(d.String())
	}
	return m, nil
}

// unregister removes the collectors, so a node started again on the same
// registry can register its own.
func (m *metrics) unregister() {
	if m == nil {
		return
	}
	for _, c := range m.registered {
		m.reg.Unregister(c)
	}
	m.registered = nil
}

func (m *metrics) transfer(t Transfer) {
	if m == nil {
		return
	}
	m.transfers.WithLabelValues(t.Direction.String(), t.Key.Kind.String(), t.Result.String()).Inc()
	if t.Result == Verified || t.Result == Served {
		m.bytes.WithLabelValues(t.Direction.String()).Add(float64(t.Bytes))
	}
}

func (m *metrics) ban() {
	if m == nil {
		return
	}
	m.bans.Inc()
}
