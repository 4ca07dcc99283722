package beaconsim

import (
	"testing"

	"github.com/ethereum/go-ethereum/beacon/params"
)

// TestPruneKeepsCheckpointsAndUpdates: old blocks go, but finalized
// checkpoints (bootstrap roots) and each period's update block stay.
func TestPruneKeepsCheckpointsAndUpdates(t *testing.T) {
	f := newFixture(t, Config{StartSlot: params.SyncPeriodLength - 2*params.EpochLength})
	f.sim.retain = 8
	f.feed(t, 4*params.EpochLength)
	f.sim.mu.Lock()
	n, byRoot := len(f.sim.blocks), len(f.sim.byRoot)
	anchor := f.sim.blocks[0]
	update := f.sim.updates[0]
	f.sim.mu.Unlock()
	if n > 2*8+len(f.sim.checkpoint)+2 || n != byRoot {
		t.Fatalf("%d blocks kept (%d by root) of %d fed", n, byRoot, 4*params.EpochLength)
	}
	cp, _ := f.sim.Checkpoint()
	for _, root := range [][32]byte{anchor.root, cp, update.root} {
		if get(t, f.srv.URL+"/eth/v1/beacon/light_client/bootstrap/0x"+hexOf(root[:])) == "" {
			t.Fatal("empty bootstrap")
		}
		f.sim.mu.Lock()
		_, ok := f.sim.byRoot[root]
		f.sim.mu.Unlock()
		if !ok {
			t.Fatalf("block %x was pruned", root)
		}
	}
	if body := get(t, f.srv.URL+"/eth/v1/beacon/light_client/updates?start_period=0&count=1"); len(body) < 1000 {
		t.Fatalf("period 0 update: %s", body)
	}
}

func hexOf(b []byte) string {
	const digits = "0123456789abcdef"
	out := make([]byte, 2*len(b))
	for i, c := range b {
		out[2*i], out[2*i+1] = digits[c>>4], digits[c&15]
	}
	return string(out)
}
