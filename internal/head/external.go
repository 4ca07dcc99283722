package head

import (
	"github.com/ethereum/go-ethereum/common"

	"github.com/braidrpc/braid/internal/block"
)

// SetTip serves tip, decided outside the tracker (Options.External: the
// head a beacon light client accepted), and tells OnTip as a change
// computed from the operators would. Operators' reports never move an
// external tip; they only say who holds it. It does nothing on a tracker
// without Options.External, or when tip has no latest block.
func (t *Tracker) SetTip(tip block.Tip) {
	if !t.external || tip.Latest.IsZero() {
		return
	}
	now := t.clock.Now()
	t.mu.Lock()
	old := t.tip
	tip.Known, tip.Seq = true, old.Seq
	ch := tipChange{old: old, new: tip}
	if tip.Latest.Hash != old.Latest.Hash {
		switch {
		case !old.Known:
			ch.kind = kindFirst
		case tip.Latest.Number > old.Latest.Number && t.extends(tip.Latest):
			ch.kind = kindAdvance
		default:
			ch.kind = kindReorg
		}
		t.markServed(tip.Latest)
		t.tipMovedLocked(now)
	}
	if ch.new != old {
		ch.new.Seq = old.Seq + 1
	}
	t.tip = ch.new
	t.servedLocked(ch, now)
	t.mu.Unlock()
	t.report(ch)
	t.flush()
}

// extends reports whether b builds on the chain served so far, as far as
// the tracker knows it (a parent it has not seen counts as extending).
func (t *Tracker) extends(b block.Block) bool {
	if b.Number == 0 || (b.ParentHash == common.Hash{}) {
		return true
	}
	prev, ok := t.served[b.Number-1]
	return !ok || prev == b.ParentHash
}

// markServed records b (and its parent) as the served chain, dropping
// what was served above it and what fell out of the window.
func (t *Tracker) markServed(b block.Block) {
	for n := range t.served {
		if n > b.Number || b.Number > window && n < b.Number-window {
			delete(t.served, n)
		}
	}
	t.served[b.Number] = b.Hash
	if b.Number > 0 && !(b.ParentHash == common.Hash{}) {
		t.served[b.Number-1] = b.ParentHash
	}
}
