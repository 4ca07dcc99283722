package ledger

import (
	"context"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/braidrpc/braid/internal/history"
	"github.com/braidrpc/braid/internal/peers"
)

// heldEntry is what the ledger knows of a block this node holds: its
// number, parts, and how many other peers hold it (weighed by standing)
// as last counted.
type heldEntry struct {
	Number  uint64        `json:"n"`
	Parts   history.Parts `json:"p"`
	Copies  float64       `json:"c"` // others' copies, weighed by standing
	Raw     int           `json:"r"` // holders found, unweighed
	Sampled time.Time     `json:"s"` // zero: never counted
	pos     int           // index in heldSet.list
}

// heldSet is the blocks this node holds (from the store's events), with a
// list for picking one at random.
type heldSet struct {
	m     map[common.Hash]*heldEntry
	list  []common.Hash
	dirty map[common.Hash]bool
	gone  map[common.Hash]bool
}

func newHeldSet() heldSet {
	return heldSet{m: map[common.Hash]*heldEntry{}, dirty: map[common.Hash]bool{}, gone: map[common.Hash]bool{}}
}

// put records a held block, keeping what is known of its rarity; past
// limit blocks, new ones are not tracked (they price as UnknownCopies).
func (h *heldSet) put(hash common.Hash, number uint64, parts history.Parts, limit int) *heldEntry {
	if e := h.m[hash]; e != nil {
		e.Number, e.Parts = number, parts
		h.dirty[hash] = true
		return e
	}
	if len(h.m) >= limit {
		return nil
	}
	e := &heldEntry{Number: number, Parts: parts, pos: len(h.list)}
	h.m[hash] = e
	h.list = append(h.list, hash)
	h.dirty[hash] = true
	delete(h.gone, hash)
	return e
}

// remove forgets a block no longer held.
func (h *heldSet) remove(hash common.Hash) {
	e := h.m[hash]
	if e == nil {
		return
	}
	last := h.list[len(h.list)-1]
	h.list[e.pos] = last
	h.m[last].pos = e.pos
	h.list = h.list[:len(h.list)-1]
	delete(h.m, hash)
	delete(h.dirty, hash)
	h.gone[hash] = true
}

// counted sets a held block's count of other holders.
func (h *heldSet) counted(hash common.Hash, copies float64, raw int, now time.Time) {
	if e := h.m[hash]; e != nil {
		e.Copies, e.Raw, e.Sampled = copies, raw, now
		h.dirty[hash] = true
	}
}

// pick returns up to n held blocks to count, the least recently counted
// (never counted first) of 4n picked at random, or of all when there are
// no more.
func (h *heldSet) pick(n int, rnd *rand.Rand) []common.Hash {
	if len(h.list) == 0 {
		return nil
	}
	var cands []common.Hash
	if len(h.list) <= 4*n {
		cands = slices.Clone(h.list)
	} else {
		seen := map[common.Hash]bool{}
		for range 4 * n {
			hash := h.list[rnd.IntN(len(h.list))]
			if !seen[hash] {
				seen[hash] = true
				cands = append(cands, hash)
			}
		}
	}
	slices.SortStableFunc(cands, func(a, b common.Hash) int { return h.m[a].Sampled.Compare(h.m[b].Sampled) })
	return cands[:min(n, len(cands))]
}

// foundSize bounds the rarity counts kept of content fetched (not held).
const foundSize = 4096

// foundSet keeps the weighed holder counts of the latest fetches, so a
// delivery is priced by the rarity its fetch saw, in a ring of at most
// size. It grows as it fills: a ledger that fetches little (most, in the
// simulation's thousands) does not pay for the whole ring.
type foundSet struct {
	m    map[common.Hash]float64
	ring []common.Hash
	size int
	next int
}

func newFoundSet(size int) foundSet {
	return foundSet{m: map[common.Hash]float64{}, size: size}
}

func (f *foundSet) put(hash common.Hash, copies float64) {
	if _, ok := f.m[hash]; !ok {
		if len(f.ring) < f.size {
			f.ring = append(f.ring, hash)
		} else {
			delete(f.m, f.ring[f.next])
			f.ring[f.next] = hash
			f.next = (f.next + 1) % len(f.ring)
		}
	}
	f.m[hash] = copies
}

func (f *foundSet) get(hash common.Hash) (float64, bool) {
	c, ok := f.m[hash]
	return c, ok
}

// copiesIn is the copies of delivered content: the weighed holders its
// fetch found (the deliverer among them), else this node's own count plus
// itself, else the holders the transfer says, else UnknownCopies. l.mu
// must be held.
func (l *Ledger) copiesIn(t peers.Transfer) float64 {
	if c, ok := l.found.get(t.Key.Hash); ok {
		return c
	}
	if e := l.held.m[t.Key.Hash]; e != nil && !e.Sampled.IsZero() {
		return e.Copies + 1
	}
	if t.Holders > 0 {
		return float64(t.Holders)
	}
	return l.cfg.UnknownCopies
}

// copiesOut is the copies of content this node holds: its last count of
// other holders plus itself, else UnknownCopies. l.mu must be held.
func (l *Ledger) copiesOut(hash common.Hash) float64 {
	if c, ok := l.keptCopies(hash); ok {
		return c
	}
	return l.cfg.UnknownCopies
}

// OnStored adapts history.Options.Notify (beside peers.Node.OnStored): the
// ledger tracks what the store holds, to count its holders and value it.
func (l *Ledger) OnStored(ev history.Event) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if ev.Parts == 0 {
		l.held.remove(ev.Hash)
		return
	}
	fresh := l.held.m[ev.Hash] == nil
	e := l.held.put(ev.Hash, ev.Number, ev.Parts, l.cfg.MaxHeld)
	if c, ok := l.found.get(ev.Hash); fresh && e != nil && ok {
		e.Copies, e.Sampled = c, l.now() // the fetch that brought it counted its other holders
	}
}

// Hold sets what the store holds (history.Store.Items, after a restart):
// blocks not in items are forgotten, counts of the others kept.
func (l *Ledger) Hold(items []history.Item) {
	l.mu.Lock()
	defer l.mu.Unlock()
	keep := make(map[common.Hash]bool, len(items))
	for _, it := range items {
		keep[it.Hash] = true
		l.held.put(it.Hash, it.Number, it.Parts, l.cfg.MaxHeld)
	}
	for _, hash := range slices.Clone(l.held.list) {
		if !keep[hash] {
			l.held.remove(hash)
		}
	}
}

// kindOf is the kind of a held block to count holders of: its most
// complete part.
func kindOf(p history.Parts) peers.Kind {
	switch {
	case p&history.ReceiptsPart != 0:
		return peers.Receipts
	case p&history.BodyPart != 0:
		return peers.Body
	}
	return peers.Header
}

// SampleOnce counts the holders of up to SampleBatch held blocks (those
// counted longest ago first) with net's DHT search, weighing each holder
// by its standing, and remembers them as claims to audit. It returns how
// many blocks it counted.
func (l *Ledger) SampleOnce(ctx context.Context, net Network) int {
	type job struct {
		hash   common.Hash
		number uint64
		parts  history.Parts
	}
	l.mu.Lock()
	var jobs []job
	for _, h := range l.held.pick(l.cfg.SampleBatch, l.rnd) {
		e := l.held.m[h]
		jobs = append(jobs, job{h, e.Number, e.Parts})
	}
	l.mu.Unlock()
	head, known := l.headNow()
	done := 0
	for _, j := range jobs {
		if ctx.Err() != nil {
			break
		}
		key := peers.Key{Kind: kindOf(j.parts), Hash: j.hash}
		holders, err := net.FindHolders(ctx, key)
		if err != nil {
			l.log.Debug("counting holders", "key", key.String(), "err", err)
			continue
		}
		now := l.now()
		l.mu.Lock()
		copies := l.observe(key, depthAge(j.number, head, known), ids(holders), now, nil)
		l.held.counted(j.hash, copies, len(holders), now)
		l.mu.Unlock()
		done++
	}
	l.metrics.sampled(done)
	return done
}

func ids(infos []peer.AddrInfo) []peer.ID {
	out := make([]peer.ID, len(infos))
	for i, ai := range infos {
		out[i] = ai.ID
	}
	return out
}

// Keeper is the history.Keeper that keeps what is worth most: a block's
// value is its price per byte, age factor × rarity factor, by this node's
// last count of its other holders. With the store full, new and common
// content goes first, and new content worth less than everything it would
// displace is refused: the store drifts to the old and rare.
type Keeper struct{ l *Ledger }

var _ history.Keeper = Keeper{}

// Keeper returns the ledger's history.Keeper (history.Options.Keeper).
func (l *Ledger) Keeper() Keeper { return Keeper{l} }

// Value is the block's price per byte. An old block whose holders were
// never counted (by SampleOnce, or the fetch that brought it) is valued
// as the only copy until they are: the keeper must not drop what may be
// the last copy on a guess, and the next count (least recently counted
// first) tells. A new block (less than AgeDepth deep) cannot be the last
// copy — the providers still serve it — so uncounted it is valued at
// UnknownCopies (×2 by default, below any old block's ×5). Valued as the
// only copy (×8, above an old block held by five or more), every block a
// gateway stored while serving clients pushed an old copy out until it
// was counted, and with stores of a few blocks such blocks took most of
// every store (issue 16, the simulation at 10,000 peers). Value takes
// the ledger's lock (never the store's) and calls Options.Head, which
// must not call the store.
func (k Keeper) Value(it history.Item, _ time.Time) float64 {
	head, known := k.l.headNow()
	k.l.mu.Lock()
	copies, counted := k.l.keptCopies(it.Hash)
	k.l.mu.Unlock()
	age := depthAge(it.Number, head, known)
	if !counted {
		copies = 1
		if !k.l.old(age) {
			copies = k.l.cfg.UnknownCopies
		}
	}
	return ageFactor(&k.l.cfg, age) * rarityFactor(&k.l.cfg, copies)
}

// keptCopies is the copies of a held block by this node's last count of
// its other holders plus itself, or by the fetch that brought it; false
// when they were never counted. l.mu must be held.
func (l *Ledger) keptCopies(hash common.Hash) (float64, bool) {
	if e := l.held.m[hash]; e != nil && !e.Sampled.IsZero() {
		return e.Copies + 1, true
	}
	if c, ok := l.found.get(hash); ok {
		return c + 1, true
	}
	return 0, false
}
