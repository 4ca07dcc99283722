package ledger

import (
	"errors"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/braidrpc/braid/internal/peers"
)

// metrics are the ledger's braid_ledger_* metrics. A nil *metrics (no
// registerer) records nothing.
type metrics struct {
	reg        prometheus.Registerer
	cs         []prometheus.Collector
	buckets    []string
	credits    *prometheus.CounterVec
	bytes      *prometheus.CounterVec
	penalties  *prometheus.CounterVec
	audits     *prometheus.CounterVec
	admissions *prometheus.CounterVec
	samples    prometheus.Counter
	surveys    prometheus.Counter
	repairs    *prometheus.CounterVec
}

func newMetrics(reg prometheus.Registerer, l *Ledger) (*metrics, error) {
	m := &metrics{reg: reg, buckets: bucketNames(&l.cfg)}
	counter := func(name, help string, labels ...string) *prometheus.CounterVec {
		v := prometheus.NewCounterVec(prometheus.CounterOpts{Name: name, Help: help}, labels)
		m.cs = append(m.cs, v)
		return v
	}
	m.credits = counter("braid_ledger_credits_total",
		"Credits of content peers delivered to this node (in) and this node served them (out).", "direction")
	m.bytes = counter("braid_ledger_bytes_total",
		"Bytes of content delivered (in) and served (out), by age bucket (blocks below the tip).", "direction", "age")
	m.penalties = counter("braid_ledger_penalties_total", "Penalties charged to peers, by reason (lie, miss).", "reason")
	m.audits = counter("braid_ledger_audits_total",
		"Retention audits, by result (passed, missing, evicted, lied, unreachable, inconclusive).", "result")
	m.admissions = counter("braid_ledger_admissions_total",
		"Requests of peers by admission: served now, queued, refused for low standing, busy, timed out waiting.", "decision")
	m.repairs = counter("braid_ledger_repairs_total",
		"Old blocks looked at for repair, found below the target copies, filled, refused by a full store.", "result")
	m.samples = prometheus.NewCounter(prometheus.CounterOpts{Name: "braid_ledger_samples_total",
		Help: "Held blocks whose holders were counted in the DHT."})
	m.surveys = prometheus.NewCounter(prometheus.CounterOpts{Name: "braid_ledger_survey_samples_total",
		Help: "Blocks of the chain whose holders a history survey searched in the DHT."})
	m.cs = append(m.cs, m.samples, m.surveys,
		gauge("braid_ledger_peers", "Peers with an account.", func() float64 {
			l.mu.Lock()
			defer l.mu.Unlock()
			return float64(len(l.accounts))
		}),
		gauge("braid_ledger_debtors", "Peers whose debt is past the debt limit (served from spare capacity only).",
			func() float64 { return float64(l.debtors()) }),
		gauge("braid_ledger_serving", "Peer requests being served.", func() float64 { s, _ := l.Queue(); return float64(s) }),
		gauge("braid_ledger_waiting", "Peer requests waiting for a slot, in order of balance.",
			func() float64 { _, w := l.Queue(); return float64(w) }),
		&heldCollector{l: l})
	for _, c := range m.cs {
		if err := reg.Register(c); err != nil {
			m.unregister()
			return nil, errors.Join(errors.New("ledger: registering metrics (one registry takes one ledger)"), err)
		}
	}
	return m, nil
}

func gauge(name, help string, f func() float64) prometheus.Collector {
	return prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: name, Help: help}, f)
}

func (m *metrics) unregister() {
	if m == nil {
		return
	}
	for _, c := range m.cs {
		m.reg.Unregister(c)
	}
}

func (m *metrics) flow(d peers.Direction, bucket, bytes int, credits float64) {
	if m == nil {
		return
	}
	m.credits.WithLabelValues(d.String()).Add(credits)
	m.bytes.WithLabelValues(d.String(), m.buckets[bucket]).Add(float64(max(bytes, 0)))
}

func (m *metrics) penalty(reason string) {
	if m != nil {
		m.penalties.WithLabelValues(reason).Inc()
	}
}

func (m *metrics) audit(o Outcome) {
	if m != nil {
		m.audits.WithLabelValues(o.String()).Inc()
	}
}

func (m *metrics) admission(decision string) {
	if m != nil {
		m.admissions.WithLabelValues(decision).Inc()
	}
}

func (m *metrics) sampled(n int) {
	if m != nil {
		m.samples.Add(float64(n))
	}
}

func (m *metrics) surveyed(sv Survey) {
	if m == nil {
		return
	}
	for _, b := range sv.Buckets {
		m.surveys.Add(float64(b.Sampled))
	}
}

func (m *metrics) repair(r Repair) {
	if m == nil {
		return
	}
	m.repairs.WithLabelValues("looked").Add(float64(r.Looked))
	m.repairs.WithLabelValues("rare").Add(float64(r.Rare))
	m.repairs.WithLabelValues("filled").Add(float64(r.Filled))
	if r.Full {
		m.repairs.WithLabelValues("full").Inc()
	}
}

// heldCollector reports the availability of held content per age bucket,
// computed once per scrape.
type heldCollector struct{ l *Ledger }

var (
	heldBlocksDesc = prometheus.NewDesc("braid_ledger_held_blocks",
		"Blocks this node holds, by age bucket.", []string{"age"}, nil)
	heldCopiesDesc = prometheus.NewDesc("braid_ledger_held_copies",
		"Mean copies (holders found, weighed by standing, plus this node) of held blocks counted, by age bucket.", []string{"age"}, nil)
	heldAloneDesc = prometheus.NewDesc("braid_ledger_held_alone",
		"Held blocks no other peer in good standing holds, by age bucket.", []string{"age"}, nil)
	surveyHoldersDesc = prometheus.NewDesc("braid_ledger_history_holders",
		"Mean holders found in the DHT per sampled block of the chain, by age bucket, at the last history survey.", []string{"age"}, nil)
	surveyNoneDesc = prometheus.NewDesc("braid_ledger_history_unheld_ratio",
		"Share of the sampled blocks of the chain no peer was found holding, by age bucket, at the last history survey.", []string{"age"}, nil)
)

func (c *heldCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- heldBlocksDesc
	ch <- heldCopiesDesc
	ch <- heldAloneDesc
	ch <- surveyHoldersDesc
	ch <- surveyNoneDesc
}

func (c *heldCollector) Collect(ch chan<- prometheus.Metric) {
	for _, b := range c.l.Availability().Buckets {
		ch <- prometheus.MustNewConstMetric(heldBlocksDesc, prometheus.GaugeValue, float64(b.Blocks), b.Name)
		ch <- prometheus.MustNewConstMetric(heldCopiesDesc, prometheus.GaugeValue, b.MeanCopies, b.Name)
		ch <- prometheus.MustNewConstMetric(heldAloneDesc, prometheus.GaugeValue, float64(b.Alone), b.Name)
	}
	sv, ok := c.l.LastSurvey()
	if !ok {
		return
	}
	for _, b := range sv.Buckets {
		if b.Sampled == 0 {
			continue
		}
		ch <- prometheus.MustNewConstMetric(surveyHoldersDesc, prometheus.GaugeValue, b.MeanHolders, b.Name)
		ch <- prometheus.MustNewConstMetric(surveyNoneDesc, prometheus.GaugeValue, float64(b.None)/float64(b.Sampled), b.Name)
	}
}
