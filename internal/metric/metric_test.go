package metric

import (
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

func counter(help string) *prometheus.CounterVec {
	return prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "braid", Name: "things_total", Help: help}, []string{"network"})
}

func TestRegisterSharesTheFirstCollector(t *testing.T) {
	reg := prometheus.NewRegistry()
	a := MustRegister(reg, counter("Things."))
	b := MustRegister(reg, counter("Things."))
	if a != b {
		t.Fatal("the second registration did not return the first collector")
	}
	b.WithLabelValues("eth").Inc()
	var m dto.Metric
	if err := a.WithLabelValues("eth").Write(&m); err != nil {
		t.Fatal(err)
	}
	if got := m.GetCounter().GetValue(); got != 1 {
		t.Fatalf("shared counter = %v, want 1", got)
	}
}

func TestRegisterRefusesAConflict(t *testing.T) {
	reg := prometheus.NewRegistry()
	MustRegister(reg, counter("Things."))
	// The same name with other help text is not the same collector.
	if _, err := Register(reg, counter("Other things.")); err == nil {
		t.Fatal("a conflicting collector was accepted")
	}
	// The same description as a collector of another type.
	g := prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: "braid", Name: "things_total", Help: "Things."}, []string{"network"})
	if _, err := Register(reg, g); err == nil {
		t.Fatal("a collector of another type under a registered description was accepted")
	}
	defer func() {
		if recover() == nil {
			t.Fatal("MustRegister did not panic on a conflict")
		}
	}()
	MustRegister(reg, counter("Other things."))
}
