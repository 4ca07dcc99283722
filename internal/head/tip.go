package head

import (
	"github.com/braidrpc/braid/internal/block"

	"bytes"
	"slices"

	"github.com/ethereum/go-ethereum/common"
)

// window is how many block numbers below its highest block an upstream's
// view keeps (and how far back the served chain is remembered).
const window = 512

// entry is one block an upstream holds; parent is zero when unknown.
type entry struct{ hash, parent common.Hash }

// chainView is the blocks one upstream is known to hold, by number: from
// each report its latest, safe and finalized blocks and their parents.
type chainView map[uint64]entry

type reportedBlock struct {
	n            uint64
	hash, parent common.Hash
}

func reportBlocks(h Heads) []reportedBlock {
	out := make([]reportedBlock, 0, 6)
	for _, b := range []block.Block{h.Latest, h.Safe, h.Finalized} {
		if b.Hash == (common.Hash{}) {
			continue
		}
		out = append(out, reportedBlock{b.Number, b.Hash, b.ParentHash})
		if b.Number > 0 && b.ParentHash != (common.Hash{}) {
			out = append(out, reportedBlock{n: b.Number - 1, hash: b.ParentHash})
		}
	}
	return out
}

// record adds the blocks of h. If one of them contradicts a block the view
// holds, the upstream reorged: its blocks from the lowest contradicted
// number up are dropped first, and that number is returned.
func (v chainView) record(h Heads) (reorgAt uint64, reorged bool) {
	blocks := reportBlocks(h)
	for _, b := range blocks {
		if e, ok := v[b.n]; ok && e.hash != b.hash && (!reorged || b.n < reorgAt) {
			reorgAt, reorged = b.n, true
		}
	}
	if reorged {
		for n := range v {
			if n >= reorgAt {
				delete(v, n)
			}
		}
	}
	for _, b := range blocks {
		e := v[b.n]
		if e.hash != b.hash {
			e = entry{hash: b.hash}
		}
		if b.parent != (common.Hash{}) {
			e.parent = b.parent
		}
		v[b.n] = e
	}
	var top uint64
	for n := range v {
		top = max(top, n)
	}
	if top > window {
		keep := func(n uint64) bool { // the reported safe and finalized blocks stay
			for _, b := range blocks {
				if b.n == n {
					return true
				}
			}
			return false
		}
		for n := range v {
			if n < top-window && !keep(n) {
				delete(v, n)
			}
		}
	}
	return reorgAt, reorged
}

// tag selects which reported head a vote is about.
type tag int

const (
	tagLatest tag = iota
	tagSafe
	tagFinalized
)

func (g tag) of(h Heads) block.Block {
	switch g {
	case tagSafe:
		return h.Safe
	case tagFinalized:
		return h.Finalized
	}
	return h.Latest
}

// voters are the usable upstreams that have reported, grouped by operator.
type voters [][]*upState

func (t *Tracker) votersLocked() voters {
	idx := map[string]int{}
	var v voters
	for _, u := range t.ups {
		st := t.states[u]
		if !st.reported || !u.Usable() {
			continue
		}
		i, ok := idx[u.Operator]
		if !ok {
			i = len(v)
			idx[u.Operator] = i
			v = append(v, nil)
		}
		v[i] = append(v[i], st)
	}
	return v
}

// vouches reports whether st holds (n, h) and, for safe and finalized,
// itself reports that tag at n or above (holding a block is not calling it
// final).
func (st *upState) vouches(g tag, n uint64, h common.Hash) bool {
	if e, ok := st.view[n]; !ok || e.hash != h {
		return false
	}
	if g == tagLatest {
		return true
	}
	b := g.of(st.heads)
	return !b.IsZero() && b.Number >= n
}

// counts returns, per hash at number n, how many operators vouch for it.
// An operator counts once per hash however many upstreams it has.
func (v voters) counts(g tag, n uint64) map[common.Hash]int {
	c := map[common.Hash]int{}
	for _, op := range v {
		var seen []common.Hash
		for _, st := range op {
			e, ok := st.view[n]
			if !ok || slices.Contains(seen, e.hash) || !st.vouches(g, n, e.hash) {
				continue
			}
			seen = append(seen, e.hash)
			c[e.hash]++
		}
	}
	return c
}

// numbers are the candidate numbers for g, highest first: every block
// number held for latest, the reported numbers for safe and finalized.
func (v voters) numbers(g tag) []uint64 {
	set := map[uint64]struct{}{}
	for _, op := range v {
		for _, st := range op {
			if g == tagLatest {
				for n := range st.view {
					set[n] = struct{}{}
				}
			} else if b := g.of(st.heads); !b.IsZero() {
				set[b.Number] = struct{}{}
			}
		}
	}
	out := make([]uint64, 0, len(set))
	for n := range set {
		out = append(out, n)
	}
	slices.SortFunc(out, func(a, b uint64) int { return -cmpUint(a, b) })
	return out
}

func cmpUint(a, b uint64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// pick returns the highest block among numbers that at least k operators
// vouch for, and how many do. At one number the block already served
// (prefer) wins a tie, then the most operators, then the lower hash.
func (v voters) pick(g tag, numbers []uint64, k int, prefer block.Block) (block.Block, int, bool) {
	for _, n := range numbers {
		c := v.counts(g, n)
		var best common.Hash
		bestN := 0
		if n == prefer.Number && c[prefer.Hash] >= k {
			best, bestN = prefer.Hash, c[prefer.Hash]
		} else {
			for h, cnt := range c {
				if cnt >= k && (cnt > bestN || cnt == bestN && bytes.Compare(h[:], best[:]) < 0) {
					best, bestN = h, cnt
				}
			}
		}
		if bestN > 0 {
			return block.Block{Number: n, Hash: best, ParentHash: v.parentOf(n, best)}, bestN, true
		}
	}
	return block.Block{}, 0, false
}

// parentOf is the parent hash of (n, h) as its holders know it.
func (v voters) parentOf(n uint64, h common.Hash) common.Hash {
	var fallback common.Hash
	for _, op := range v {
		for _, st := range op {
			e, ok := st.view[n]
			if !ok || e.hash != h {
				continue
			}
			if e.parent != (common.Hash{}) {
				return e.parent
			}
			if p, ok := st.view[n-1]; ok && n > 0 && fallback == (common.Hash{}) {
				fallback = p.hash
			}
		}
	}
	return fallback
}

// contradictors counts the operators holding, at some number from lo up
// to the served block cur, a block other than the one braid served there.
func (v voters) contradictors(lo uint64, cur block.Block, served map[uint64]common.Hash) int {
	hi := cur.Number
	if hi >= window && lo < hi-window {
		lo = hi - window
	}
	count := 0
	for _, op := range v {
	operator:
		for _, st := range op {
			for m := lo; m <= hi; m++ {
				e, ok := st.view[m]
				s, known := served[m]
				if m == cur.Number {
					s, known = cur.Hash, true
				}
				if ok && known && s != e.hash {
					count++
					break operator
				}
			}
		}
	}
	return count
}

// agreedAt is the hash the given views hold at n, if they hold one and
// do not disagree.
func agreedAt(views []chainView, n uint64) (common.Hash, bool) {
	var h common.Hash
	found := false
	for _, view := range views {
		e, ok := view[n]
		if !ok {
			continue
		}
		if found && e.hash != h {
			return common.Hash{}, false
		}
		h, found = e.hash, true
	}
	return h, found
}

const (
	kindFirst   = "first"
	kindAdvance = "advance"
	kindReorg   = "reorg"
)

// tipChange describes one recomputation of the served tip.
type tipChange struct {
	old, new     block.Tip
	kind         string       // how Latest changed: "" (it did not), first, advance or reorg
	operators    int          // operators vouching for the new Latest
	finConflict  *block.Block // a finalized block K operators vouch for that contradicts the served one
	finOperators int
}

func (c tipChange) changed() bool { return c.old != c.new }

// recomputeLocked derives the served tip from the upstreams' views. Every
// decision is taken against the chain served so far; only then is the
// served chain updated.
func (t *Tracker) recomputeLocked() tipChange {
	v := t.votersLocked()
	old := t.tip
	ch := tipChange{old: old, new: old}

	latest, n, ok := v.pick(tagLatest, v.numbers(tagLatest), t.k, old.Latest)
	if ok && latest.Hash != old.Latest.Hash {
		switch {
		case !old.Known:
			ch.kind = kindFirst
		case latest.Number > old.Latest.Number:
			ch.kind = kindAdvance
		case latest.Number == old.Latest.Number:
			ch.kind = kindReorg // K operators hold another block at the served height
		case v.contradictors(latest.Number, old.Latest, t.served) >= t.k:
			ch.kind = kindReorg // back, because K operators contradict the served chain
		}
		if ch.kind != "" {
			ch.new.Latest, ch.new.Known, ch.operators = latest, true, n
		}
	}

	if b, _, ok := v.pick(tagSafe, v.numbers(tagSafe), t.k, old.Safe); ok && b.Hash != old.Safe.Hash {
		if old.Safe.IsZero() || b.Number >= old.Safe.Number ||
			v.contradictors(b.Number, old.Safe, t.served) >= t.k {
			ch.new.Safe = b
		}
	}

	if b, n, ok := v.pick(tagFinalized, v.numbers(tagFinalized), t.k, old.Finalized); ok && b.Hash != old.Finalized.Hash {
		switch {
		case old.Finalized.IsZero() || b.Number > old.Finalized.Number:
			ch.new.Finalized = b
		case b.Number == old.Finalized.Number && b != t.finWarned:
			t.finWarned = b
			ch.finConflict, ch.finOperators = &b, n
		}
	}

	if ch.kind != "" && t.fillServed(v, latest) && ch.kind == kindAdvance {
		ch.kind = kindReorg // higher, but not a descendant of what was served
	}
	if ch.new != old {
		ch.new.Seq = old.Seq + 1
	}
	t.tip = ch.new
	return ch
}

// fillServed records b as served, with the ancestry its holders agree on
// down to where it joins the chain served before. It reports whether that
// rewrote anything served before (b does not extend the old chain).
func (t *Tracker) fillServed(v voters, b block.Block) (rewrote bool) {
	for n := range t.served {
		if n > b.Number {
			delete(t.served, n)
			rewrote = true
		}
	}
	if h, ok := t.served[b.Number]; ok && h != b.Hash {
		rewrote = true
	}
	t.served[b.Number] = b.Hash

	var views []chainView
	for _, op := range v {
		for _, st := range op {
			if e, ok := st.view[b.Number]; ok && e.hash == b.Hash {
				views = append(views, st.view)
			}
		}
	}
	var floor uint64
	if b.Number > window {
		floor = b.Number - window
	}
	for n := b.Number; n > floor; n-- {
		h, ok := agreedAt(views, n-1)
		if n == b.Number && b.ParentHash != (common.Hash{}) {
			h, ok = b.ParentHash, true
		}
		if !ok {
			continue
		}
		if old, known := t.served[n-1]; known {
			if old == h {
				break // joined the chain served before
			}
			rewrote = true
		}
		t.served[n-1] = h
	}
	for n := range t.served {
		if n < floor {
			delete(t.served, n)
		}
	}
	return rewrote
}
