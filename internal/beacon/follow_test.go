package beacon_test

import (
	"errors"
	"testing"

	"github.com/braidrpc/braid/internal/beacon"
)

// TestFollowsEveryHead feeds execution blocks to the simulated beacon API
// and checks that each is the client's head before the clock leaves its
// slot, with its hash, number and the full committee's signatures.
func TestFollowsEveryHead(t *testing.T) {
	h := newHarness(t, options{})
	c := h.start(h.config())
	if err := c.Ready(); !errors.Is(err, beacon.ErrNotReady) {
		t.Fatalf("ready before any head: %v", err)
	}
	for range 12 {
		h.nextSlot()
		fed := h.feed()
		got := h.waitHead(c, fed)
		if got.Slot != fed.Slot || got.BeaconRoot != fed.Root || got.BlockNumber != fed.BlockNumber || got.Signers != 512 {
			t.Fatalf("head %+v, fed %+v", got, fed)
		}
		if !got.Received.Equal(h.clk.Now()) || got.Age(h.clk.Now()) < 0 || got.Age(h.clk.Now()) >= h.sim.SlotDuration() {
			t.Fatalf("head received %v, slot starts %v, now %v", got.Received, got.SlotTime, h.clk.Now())
		}
	}
	if err := c.Ready(); err != nil {
		t.Fatalf("not ready after following: %v", err)
	}
}
