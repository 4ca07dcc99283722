package head

import (
	"strings"
	"sync"
	"testing"

	"github.com/braidrpc/braid/internal/block"
)

// With External, operators agreeing on a block never make it the served
// tip; SetTip does, and OnTip hears every change in order.
func TestExternalTipIgnoresOperators(t *testing.T) {
	ups := newUpstreams(t, "a", "b", "c")
	var mu sync.Mutex
	var seen []block.Tip
	tr := New("test", ups, Options{External: true, OnTip: func(tip block.Tip) {
		mu.Lock()
		seen = append(seen, tip)
		mu.Unlock()
	}})
	for _, u := range ups {
		tr.Observe(u, latest(blk(10, 1))) // every operator on fork 1
	}
	if tip := tr.Tip(); tip.Known {
		t.Fatalf("operators set an external tip: %+v", tip)
	}
	if p := tr.Progress(); !strings.Contains(p.Reason, "trust: beacon") {
		t.Errorf("progress reason %q does not point at the light client", p.Reason)
	}
	if ok, why := tr.EnoughOperators(); !ok {
		t.Fatalf("EnoughOperators: %s", why)
	}

	fin := blk(2, 0)
	tr.SetTip(block.Tip{Latest: blk(9, 0), Safe: fin, Finalized: fin})
	tip := tr.Tip()
	if !tip.Known || tip.Latest != blk(9, 0) || tip.Finalized != fin || tip.Seq != 1 {
		t.Fatalf("tip = %+v", tip)
	}
	select {
	case <-tr.Known():
	default:
		t.Fatal("Known not closed after SetTip")
	}
	// Operators at 10 are not behind; one reporting 8 lags by 1.
	if lag, known := tr.Lag(ups[0]); !known || lag != 0 {
		t.Errorf("lag of an operator above the tip = %d, %v", lag, known)
	}
	tr.Observe(ups[1], latest(blk(8, 0)))
	if lag, known := tr.Lag(ups[1]); !known || lag != 1 {
		t.Errorf("lag = %d, %v; want 1", lag, known)
	}
	if tr.Tip().Latest != blk(9, 0) {
		t.Fatal("an operator's report moved the external tip")
	}

	tr.SetTip(block.Tip{Latest: blk(9, 0), Safe: fin, Finalized: fin}) // no change
	tr.SetTip(block.Tip{Latest: blk(10, 0), Safe: fin, Finalized: fin})
	tr.SetTip(block.Tip{Latest: child(10, 2, 0), Safe: fin, Finalized: fin}) // reorg at the same height
	mu.Lock()
	defer mu.Unlock()
	if len(seen) != 3 || seen[1].Latest != blk(10, 0) || seen[2].Latest.Hash != hash(10, 2) || seen[2].Seq != 3 {
		t.Fatalf("OnTip saw %+v", seen)
	}
}

// Without External, SetTip does nothing.
func TestSetTipNeedsExternal(t *testing.T) {
	tr := New("test", newUpstreams(t, "a"), Options{})
	tr.SetTip(block.Tip{Latest: blk(5, 0)})
	if tr.Tip().Known {
		t.Fatal("SetTip moved an operator-agreed tip")
	}
}
