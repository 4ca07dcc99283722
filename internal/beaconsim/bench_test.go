package beaconsim

import (
	"syscall"
	"testing"
	"time"

	"github.com/braidrpc/braid/internal/clock"
	"github.com/ethereum/go-ethereum/common"
)

// BenchmarkAddBlock is the simulator's cost per head: build the beacon
// block and its proofs, sign it with the full committee (one BLS signature
// by the sum of the 512 keys), announce it.
func BenchmarkAddBlock(b *testing.B) {
	clk := clock.NewFake(time.Unix(1_700_000_000, 0))
	sim, err := New(Config{Clock: clk})
	if err != nil {
		b.Fatal(err)
	}
	sim.NewAPI()
	parent := common.Hash{}
	var ru0, ru1 syscall.Rusage
	b.ResetTimer()
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru0)
	for n := range b.N {
		h := execHeader(uint64(n+1), parent)
		if _, err := sim.AddBlock(h); err != nil {
			b.Fatal(err)
		}
		parent = h.Hash()
		clk.Advance(sim.SlotDuration())
	}
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru1)
	cpu := ru1.Utime.Nano() + ru1.Stime.Nano() - ru0.Utime.Nano() - ru0.Stime.Nano()
	b.ReportMetric(float64(cpu)/1e6/float64(b.N), "cpu-ms/block")
}
