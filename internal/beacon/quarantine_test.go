package beacon_test

import (
	"testing"
	"time"

	"github.com/braidrpc/braid/internal/await"
	"github.com/braidrpc/braid/internal/beaconsim"
)

// TestQuarantineEndsAndRepeats: a forger comes back when its quarantine
// ends (on the injected clock); forging again doubles the next one, and an
// endpoint that mends its ways is used again.
func TestQuarantineEndsAndRepeats(t *testing.T) {
	h := newHarness(t, options{apis: 2})
	h.apis[1].SetFaults(beaconsim.Faults{Forge: true})
	c := h.start(h.config())
	h.nextSlot()
	h.waitHead(c, h.feed())
	await.Until(t, "the first quarantine", func() bool { return endpoint(t, c, 1).Quarantined })
	first := endpoint(t, c, 1).QuarantinedUntil.Sub(h.clk.Now())
	if first <= 0 || first > time.Minute {
		t.Fatalf("first quarantine lasts %v", first)
	}
	// Heads keep coming from the honest endpoint while the clock passes the
	// quarantine; the forger is back and forges again.
	var second time.Duration
	await.Until(t, "the second, longer quarantine", func() bool {
		h.nextSlot()
		h.waitHead(c, h.feed())
		st := endpoint(t, c, 1)
		if st.Quarantined && st.QuarantinedUntil.Sub(h.clk.Now()) > time.Minute {
			second = st.QuarantinedUntil.Sub(h.clk.Now())
			return true
		}
		return false
	})
	if second > 2*time.Minute {
		t.Fatalf("second quarantine lasts %v", second)
	}
	h.apis[1].SetFaults(beaconsim.Faults{})
	h.apis[0].SetFaults(beaconsim.Faults{Down: true})
	h.clk.Advance(second)
	// The quarantine's end registers the endpoint again from a goroutine
	// of its own; an update it brings before that is dropped, and the
	// next would come only after the stream idled out, when the fed head
	// is too old to serve (the test failed so under load). So the block
	// is fed once the gate has seen the endpoint registered.
	await.Until(t, "the mended endpoint registered again", func() bool {
		return h.gauge("braid_beacon_endpoint_up", h.urls[1]) == 1
	})
	h.nextSlot()
	fed := h.feed()
	h.progress("the mended endpoint serving", fed, func() bool { return serves(c, fed)() && endpoint(t, c, 1).Up })
}
