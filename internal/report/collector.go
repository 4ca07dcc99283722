package report

import (
	"github.com/prometheus/client_golang/prometheus"
)

// centralizationCollector exposes the centralization report's
// coefficients as gauges, built (by build, the same report as
// /status/centralization) each time Prometheus scrapes, so that alerts
// can compare them with the network's require section.
type centralizationCollector struct {
	build        func() *Report
	availability *prometheus.Desc
	integrity    *prometheus.Desc
	required     *prometheus.Desc
	hhi          *prometheus.Desc
}

var _ prometheus.Collector = (*centralizationCollector)(nil)

// NewCollector is the collector of the reports build returns.
func NewCollector(build func() *Report) prometheus.Collector {
	return &centralizationCollector{
		build: build,
		availability: prometheus.NewDesc("braid_centralization_availability",
			"Availability coefficient: the fewest operators whose loss stops some kind of call, by network.",
			[]string{"network"}, nil),
		integrity: prometheus.NewDesc("braid_centralization_integrity",
			"Integrity coefficient: the fewest colluding operators that can make braid answer a quorum read wrongly, by network.",
			[]string{"network"}, nil),
		required: prometheus.NewDesc("braid_centralization_required",
			"The network's require section, by network and coefficient (availability, integrity); absent when not required.",
			[]string{"network", "coefficient"}, nil),
		hhi: prometheus.NewDesc("braid_centralization_hhi",
			"Herfindahl-Hirschman index of the operators' shares of the reads served in the last hour (0-10000; 10000: one operator served all), by network.",
			[]string{"network"}, nil),
	}
}

func (c *centralizationCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.availability
	ch <- c.integrity
	ch <- c.required
	ch <- c.hhi
}

func (c *centralizationCollector) Collect(ch chan<- prometheus.Metric) {
	for _, n := range c.build().Networks {
		ch <- prometheus.MustNewConstMetric(c.availability, prometheus.GaugeValue, float64(n.Availability.Min), n.Name)
		ch <- prometheus.MustNewConstMetric(c.integrity, prometheus.GaugeValue, float64(n.Integrity.Value), n.Name)
		ch <- prometheus.MustNewConstMetric(c.hhi, prometheus.GaugeValue, n.HHI, n.Name)
		if v := n.Require.Availability; v > 0 {
			ch <- prometheus.MustNewConstMetric(c.required, prometheus.GaugeValue, float64(v), n.Name, "availability")
		}
		if v := n.Require.Integrity; v > 0 {
			ch <- prometheus.MustNewConstMetric(c.required, prometheus.GaugeValue, float64(v), n.Name, "integrity")
		}
	}
}
