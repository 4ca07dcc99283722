package beacon_test

import (
	"testing"
	"time"

	"github.com/braidrpc/braid/internal/beacon"
)

// value returns a metric of the registry by name (first series), or -1.
func (h *harness) value(name string) float64 {
	h.t.Helper()
	mfs, err := h.reg.Gather()
	if err != nil {
		h.t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == name && len(mf.GetMetric()) > 0 {
			m := mf.GetMetric()[0]
			if m.GetGauge() != nil {
				return m.GetGauge().GetValue()
			}
			return m.GetCounter().GetValue()
		}
	}
	return -1
}

func TestMetrics(t *testing.T) {
	h := newHarness(t, options{})
	c := h.start(h.config())
	if got := h.value("braid_beacon_ready"); got != 0 {
		t.Fatalf("ready before a head = %v", got)
	}
	if got := h.notReady(); got != "bootstrapping" && got != "no_head" {
		t.Fatalf("not-ready reason before a head = %q", got)
	}
	for range 3 {
		h.nextSlot()
		h.waitHead(c, h.feed())
	}
	h.clk.Advance(5 * time.Second)
	if got := h.value("braid_beacon_head_age_seconds"); got != 5 {
		t.Errorf("head age = %v, want 5", got)
	}
	if got := h.value("braid_beacon_ready"); got != 1 {
		t.Errorf("ready = %v", got)
	}
	if got := h.notReady(); got != "" {
		t.Errorf("not-ready reason %q while ready", got)
	}
	if got := h.updates("optimistic", "accepted"); got < 3 {
		t.Errorf("accepted optimistic updates = %v", got)
	}
	if got := h.gauge("braid_beacon_endpoint_up", h.urls[0]); got != 1 {
		t.Errorf("endpoint_up = %v", got)
	}
	h.clk.Advance(beacon.DefaultMaxHeadAge)
	if got := h.value("braid_beacon_ready"); got != 0 {
		t.Errorf("ready with a stale head = %v", got)
	}
	if got := h.notReady(); got != "stale_head" {
		t.Errorf("not-ready reason with a stale head = %q", got)
	}
	// Closing unregisters the network's collectors; a new client of the
	// same network can register on the same registry.
	c.Close()
	if got := h.value("braid_beacon_head_age_seconds"); got != -1 {
		t.Errorf("head age still exported after Close: %v", got)
	}
	c2 := h.start(h.config())
	h.nextSlot()
	h.waitHead(c2, h.feed())
}

// notReady returns the reason braid_beacon_not_ready marks with 1 ("" for
// none), failing the test if several are.
func (h *harness) notReady() string {
	h.t.Helper()
	mfs, err := h.reg.Gather()
	if err != nil {
		h.t.Fatal(err)
	}
	var set []string
	for _, mf := range mfs {
		if mf.GetName() != "braid_beacon_not_ready" {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "reason" && m.GetGauge().GetValue() == 1 {
					set = append(set, l.GetValue())
				}
			}
		}
	}
	if len(set) > 1 {
		h.t.Fatalf("several not-ready reasons at once: %v", set)
	}
	if len(set) == 0 {
		return ""
	}
	return set[0]
}
