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
