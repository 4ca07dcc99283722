package beacon_test

import (
	"testing"

	"github.com/ethereum/go-ethereum/beacon/params"
	"github.com/ethereum/go-ethereum/beacon/types"

	"github.com/braidrpc/braid/internal/beacon"
)

// BenchmarkPeriodGrowth: what a long-running light client keeps per sync
// committee period (8192 slots, about 27 hours). go-ethereum's committee
// chain keeps the committee, its root and the committee update of every
// period since the checkpoint and prunes none; braid keeps it in memory.
// Each iteration moves the clock a whole period on and feeds a head there,
// which the client follows only after syncing the new period's committee.
// It reports the store's growth per period and its size at the end; the
// rest of the client's memory (the latest heads, a few deserialized
// committees in go-ethereum's cache) does not grow with time
// (BenchmarkHeadLatency measures it).
func BenchmarkPeriodGrowth(b *testing.B) {
	h := newHarness(b, options{})
	cfg := h.config()
	cfg.Registerer = nil
	c := h.start(cfg)
	h.nextSlot()
	h.waitHead(c, h.feed())
	store0 := beacon.StoreBytes(c)
	first := types.SyncPeriod(h.sim.CurrentSlot())
	b.ResetTimer()
	for range b.N {
		h.clk.Advance(params.SyncPeriodLength * h.sim.SlotDuration())
		fed := h.feed()
		h.progress("the head a period on", fed, serves(c, fed))
	}
	b.StopTimer()
	periods := types.SyncPeriod(h.sim.CurrentSlot()) - first
	if periods != uint64(b.N) {
		b.Fatalf("crossed %d periods in %d iterations", periods, b.N)
	}
	store := beacon.StoreBytes(c)
	b.ReportMetric(float64(store-store0)/float64(b.N)/1024, "store-KB/period")
	b.ReportMetric(float64(store)/1024, "store-KB")
}
