package beacon_test

import (
	"testing"

	"github.com/ethereum/go-ethereum/beacon/params"
	"github.com/ethereum/go-ethereum/beacon/types"
)

// TestCrossesSyncCommitteePeriod: near a period's end the client fetches
// the committee update (the next committee, proven by the current one) and
// keeps following heads signed by the new committee.
func TestCrossesSyncCommitteePeriod(t *testing.T) {
	h := newHarness(t, options{startSlot: params.SyncPeriodLength - params.EpochLength})
	c := h.start(h.config())
	crossed := false
	for range params.EpochLength + 4 {
		h.nextSlot()
		fed := h.feed()
		h.waitHead(c, fed)
		crossed = crossed || types.SyncPeriod(fed.Slot) == 1
	}
	if !crossed {
		t.Fatal("the chain did not reach the next period")
	}
	if h.updates("optimistic", "bad_signature") != 0 {
		t.Fatal("a head of the new committee was judged forged")
	}
}
