package beacon_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/braidrpc/braid/internal/await"
	"github.com/braidrpc/braid/internal/beacon"
	"github.com/braidrpc/braid/internal/beaconsim"
	"github.com/braidrpc/braid/internal/clock"
)

// TestStaleHeadMakesNotReady: once the latest signed head is older than
// max_head_age, the client is not ready, Head refuses it and watchers
// hear about it; a new head makes it ready again.
func TestStaleHeadMakesNotReady(t *testing.T) {
	h := newHarness(t, options{})
	c := h.start(h.config())
	h.nextSlot()
	fed := h.waitHead(c, h.feed())
	ch, cancel := c.Watch()
	defer cancel()
	drain(ch)

	h.apis[0].SetFaults(beaconsim.Faults{Stale: true}) // the API's head freezes
	for range int(beacon.DefaultMaxHeadAge/h.sim.SlotDuration()) + 1 {
		h.nextSlot()
		h.feed()
	}
	select {
	case <-ch:
	case <-time.After(waitTimeout):
		t.Fatal("no notification when the head turned stale")
	}
	got, err := c.Head()
	if !errors.Is(err, beacon.ErrStaleHead) || got.BlockHash != fed.BlockHash {
		t.Fatalf("Head() = %+v, %v; want the old head and ErrStaleHead", got, err)
	}
	if !strings.Contains(err.Error(), "max_head_age") {
		t.Errorf("error %q does not name the limit", err)
	}
	st := c.Status()
	if st.Ready || st.Head == nil || !st.Head.Stale {
		t.Fatalf("status %+v", st)
	}
	// The frozen stream went idle and was dropped; once the API recovers the
	// reconnect (back-off on the injected clock) brings the new head.
	h.apis[0].SetFaults(beaconsim.Faults{})
	h.nextSlot()
	next := h.feed()
	h.progress("the head after the API recovers", next, serves(c, next))
}

// TestOldHeadRefusedOnArrival: a signed head that is already older than
// max_head_age when it arrives is refused, not served.
func TestOldHeadRefusedOnArrival(t *testing.T) {
	h := newHarness(t, options{})
	h.nextSlot()
	h.feed()
	h.clk.Advance(2 * beacon.DefaultMaxHeadAge) // the chain stalls before the client starts
	c := h.start(h.config())
	await.Until(t, "the bootstrap", func() bool { return c.Status().Checkpoint.Bootstrapped })
	await.Until(t, "the stale refusal", func() bool { return h.updates("optimistic", "stale") > 0 })
	if _, err := c.Head(); !errors.Is(err, beacon.ErrNoHead) {
		t.Fatalf("a stale head was accepted: %v", err)
	}
	if err := c.Ready(); err == nil || !strings.Contains(err.Error(), "max_head_age") {
		t.Fatalf("ready error %v does not say the head is too old", err)
	}
}

// TestFutureHeadRefused: a head whose slot starts more than a slot after
// the client's clock is refused (the clock or the API is wrong).
func TestFutureHeadRefused(t *testing.T) {
	h := newHarness(t, options{})
	cfg := h.config()
	behind := clock.NewFake(h.clk.Now().Add(-5 * h.sim.SlotDuration()))
	cfg.Clock = behind
	c := h.start(cfg)
	h.nextSlot()
	h.feed()
	await.Until(t, "the future refusal", func() bool { return h.updates("optimistic", "future") > 0 })
	if _, err := c.Head(); err == nil {
		t.Fatal("a future head was accepted")
	}
	if st := endpoint(t, c, 0); !strings.Contains(st.LastError, "check the clock") || st.Quarantined {
		t.Fatalf("endpoint %+v", st)
	}
}

func drain(ch <-chan struct{}) {
	for {
		select {
		case <-ch:
		default:
			return
		}
	}
}
