package head

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/braidrpc/braid/internal/block"
	"github.com/braidrpc/braid/internal/clock"
)

func TestOnTipIsCalledOncePerChangeOutsideTheLock(t *testing.T) {
	ups := newUpstreams(t, "a", "b", "c")
	var got []block.Tip
	var tr *Tracker
	tr = New("test", ups, Options{OnTip: func(tip block.Tip) {
		if tr.Tip() != tip { // would deadlock if called under the lock
			t.Errorf("OnTip(%+v) but Tip() = %+v", tip, tr.Tip())
		}
		got = append(got, tip)
	}})
	steps := []step{
		obsL(0, blk(100, 0)),
		obsL(1, blk(100, 0)), // → 100
		obsL(2, blk(100, 0)), // no change
		obsL(0, blk(101, 0)),
		obsL(1, blk(101, 0)), // → 101
		obs(2, withTags(blk(101, 0), blk(99, 0), block.Block{})),
		obs(0, withTags(blk(101, 0), blk(99, 0), blk(98, 0))), // → safe 99
		obs(1, withTags(blk(101, 0), blk(99, 0), blk(98, 0))), // → finalized 98
		obsL(0, child(101, 1, 0)), obsL(1, child(101, 1, 0)),  // → reorg at 101
		obsL(0, child(101, 1, 0)), obsL(2, child(101, 1, 0)), // no change
		obsL(2, blk(102, 1)), obsL(1, blk(102, 1)), // → 102
		obsL(0, blk(102, 1)), obsL(0, blk(102, 1)), // no change
		obs(0, withTags(blk(102, 1), blk(99, 0), blk(98, 0))), // no change
		obsL(2, blk(103, 1)),                                    // no change
		obs(2, Heads{Safe: blk(99, 0)}),                         // ignored: no latest
		obsL(1, block.Block{Number: 1, ParentHash: hash(0, 0)}), // ignored: no hash
		obsL(1, blk(103, 1)),                                    // → 103
	}
	for _, s := range steps {
		tr.Observe(ups[s.up], s.h)
	}
	want := []block.Block{blk(100, 0), blk(101, 0), blk(101, 0), blk(101, 0), child(101, 1, 0), blk(102, 1), blk(103, 1)}
	if len(got) != len(want) {
		t.Fatalf("OnTip called %d times, want %d: %+v", len(got), len(want), got)
	}
	for i, tip := range got {
		checkBlock(t, "latest", tip.Latest, want[i])
	}
	checkBlock(t, "safe after safe change", got[2].Safe, blk(99, 0))
	checkBlock(t, "finalized after finalized change", got[3].Finalized, blk(98, 0))
}

func TestHeadsAndLag(t *testing.T) {
	ups := newUpstreams(t, "a", "b", "c")
	fake := clock.NewFake(time.Unix(1000, 0))
	tr := New("test", ups, Options{Clock: fake})
	if _, ok := tr.Heads(ups[0]); ok {
		t.Fatal("heads known before any report")
	}
	if _, known := tr.Lag(ups[0]); known {
		t.Fatal("lag known before any report")
	}
	tr.Observe(ups[0], latest(blk(105, 0)))
	if _, known := tr.Lag(ups[0]); known {
		t.Fatal("lag known before the tip")
	}
	tr.Observe(ups[1], latest(blk(105, 0)))
	tr.Observe(ups[2], latest(blk(100, 0)))
	h, ok := tr.Heads(ups[2])
	if !ok || h.Latest != blk(100, 0) || !h.UpdatedAt.Equal(fake.Now()) {
		t.Fatalf("Heads = %+v, %v", h, ok)
	}
	for i, want := range []uint64{0, 0, 5} {
		if lag, known := tr.Lag(ups[i]); !known || lag != want {
			t.Errorf("Lag(u%d) = %d, %v; want %d", i, lag, known, want)
		}
	}
	tr.Observe(ups[2], latest(blk(107, 0))) // ahead of the tip
	if lag, known := tr.Lag(ups[2]); !known || lag != 0 {
		t.Errorf("Lag of an upstream ahead = %d, %v; want 0", lag, known)
	}
}

func TestViewDropsReorgedBlocksAndStaysBounded(t *testing.T) {
	v := chainView{}
	for n := uint64(1); n <= 100; n++ {
		if _, reorged := v.record(latest(blk(n, 0))); reorged {
			t.Fatalf("reorg reported at %d on a straight chain", n)
		}
	}
	// A stale report (lower, same chain) keeps the higher blocks.
	v.record(latest(blk(90, 0)))
	if v[100].hash != hash(100, 0) {
		t.Fatal("a stale report dropped blocks")
	}
	at, reorged := v.record(latest(child(98, 1, 0)))
	if !reorged || at != 98 {
		t.Fatalf("reorg = %v at %d, want at 98", reorged, at)
	}
	if _, ok := v[99]; ok {
		t.Fatal("blocks above the reorg kept")
	}
	if v[98].hash != hash(98, 1) || v[97].hash != hash(97, 0) || v[98].parent != hash(97, 0) {
		t.Fatalf("view after reorg: 98=%v 97=%v", v[98], v[97])
	}

	v = chainView{}
	for n := uint64(1); n <= 3000; n++ {
		v.record(withTags(blk(n, 0), blk(n-n%32, 0), blk(1000, 0)))
	}
	if len(v) > window+8 {
		t.Fatalf("view holds %d blocks, want about %d", len(v), window)
	}
	if _, ok := v[1000]; !ok {
		t.Fatal("the reported finalized block was pruned")
	}
}

func TestBlockJSON(t *testing.T) {
	b := child(0x1b4, 1, 0)
	raw, err := json.Marshal(b)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"number":"0x1b4","hash":"` + b.Hash.Hex() + `","parentHash":"` + b.ParentHash.Hex() + `"}`
	if string(raw) != want {
		t.Fatalf("Marshal = %s, want %s", raw, want)
	}
	var back block.Block
	if err := json.Unmarshal([]byte(blockJSONText(b)), &back); err != nil || back != b {
		t.Fatalf("Unmarshal = %+v, %v", back, err)
	}
	for _, bad := range []string{`{"number":"0x1"}`, `{"number":"1","hash":"0x00","parentHash":"0x00"}`, `[]`,
		`{"number":"0x1","hash":"0x0000000000000000000000000000000000000000000000000000000000000000","parentHash":"` + b.ParentHash.Hex() + `"}`} {
		if err := json.Unmarshal([]byte(bad), &back); err == nil {
			t.Errorf("Unmarshal(%s) accepted", bad)
		}
	}
}

func TestMetricsShareARegistryAcrossNetworks(t *testing.T) {
	ups := newUpstreams(t, "a")
	reg := prometheus.NewRegistry()
	one := New("one", ups, Options{Registry: reg})
	two := New("two", ups, Options{Registry: reg}) // must not panic
	one.Observe(ups[0], withTags(blk(5, 0), blk(4, 0), blk(3, 0)))
	two.Observe(ups[0], latest(blk(9, 0)))
	for _, c := range []struct {
		name   string
		labels map[string]string
		want   float64
	}{
		{"braid_served_block", map[string]string{"network": "one", "tag": "finalized"}, 3},
		{"braid_served_block", map[string]string{"network": "two", "tag": "latest"}, 9},
		{"braid_upstream_head_block", map[string]string{"network": "one", "upstream": "u0", "tag": "safe"}, 4},
		{"braid_upstream_lag_blocks", map[string]string{"network": "two", "upstream": "u0"}, 0},
		{"braid_served_tip_changes_total", map[string]string{"network": "one", "kind": "advance"}, 1},
	} {
		if got := metricValue(t, reg, c.name, c.labels); got != c.want {
			t.Errorf("%s%v = %v, want %v", c.name, c.labels, got, c.want)
		}
	}
}

// TestKnownClosesAfterTheFirstTipIsHandedOn: waiting on Known, a caller
// finds the first tip already given to OnTip (the block stream, in braid).
func TestKnownClosesAfterTheFirstTipIsHandedOn(t *testing.T) {
	for _, withOnTip := range []bool{true, false} {
		ups := newUpstreams(t, "a", "b")
		var handed []block.Tip
		opts := Options{}
		if withOnTip {
			opts.OnTip = func(tip block.Tip) { handed = append(handed, tip) }
		}
		tr := New("test", ups, opts)
		tr.Observe(ups[0], latest(blk(5, 0)))
		select {
		case <-tr.Known():
			t.Fatal("Known closed before any tip")
		default:
		}
		tr.Observe(ups[1], latest(blk(5, 0)))
		select {
		case <-tr.Known():
		default:
			t.Fatalf("OnTip %v: Known not closed once the tip is known", withOnTip)
		}
		if withOnTip && (len(handed) != 1 || handed[0].Latest != blk(5, 0)) {
			t.Fatalf("OnTip got %+v", handed)
		}
	}
}
