package simulation

import (
	"context"
	"math/big"
	mrand "math/rand"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/braidrpc/braid/internal/clock"
	"github.com/braidrpc/braid/internal/history"
	"github.com/braidrpc/braid/internal/ledger"
)

// epoch is the simulated chain's start.
var epoch = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// world is one run of one regime.
type world struct {
	p      Params
	regime Regime
	cfg    ledger.Config // the ledger's, per regime
	rnd    *rand.Rand
	zrnd   *mrand.Rand // Zipf draws (math/rand has the generator)
	clk    *clock.Fake
	ctx    context.Context

	headers []*types.Header
	hashes  []common.Hash // the headers' hashes (Hash hashes each time)
	byHash  map[common.Hash]uint64
	holders []holderSet // advertisers per block
	nodes   []*node
	byID    map[peer.ID]*node
	leaves  []int // steps at which archival peers leave, by archival index
	step    int

	win   window // counts since the last observation
	total window // counts over the run
}

// newWorld builds the world of regime r at step 0: the chain of
// InitialBlocks, archival peers holding all of it, the others empty.
func newWorld(ctx context.Context, p Params, r Regime) (*world, error) {
	w := &world{p: p, regime: r, ctx: ctx, clk: clock.NewFake(epoch),
		rnd:  rand.New(rand.NewPCG(p.Seed, uint64(r)+1)),
		zrnd: mrand.New(mrand.NewSource(int64(p.Seed)*7 + int64(r))),
		byID: map[peer.ID]*node{}, byHash: map[common.Hash]uint64{}}
	w.cfg = regimeConfig(p, r)
	if err := w.cfg.Validate(); err != nil {
		return nil, err
	}
	for range p.InitialBlocks {
		w.addBlock()
	}
	counts := roleCounts(p)
	slot := 0
	for role := range roles {
		for range counts[role] {
			n, err := w.newNode(slot, 0, role)
			if err != nil {
				return nil, err
			}
			w.nodes = append(w.nodes, n)
			slot++
		}
	}
	for _, n := range w.nodes {
		switch n.role {
		case Archival:
			for b := range w.headers {
				w.keep(n, uint64(b))
			}
		case Liar, Fake:
			w.advertise(n)
		}
	}
	a := counts[Archival]
	for i := range a {
		from, to := p.ArchivalLeaveFrom*float64(p.Steps), p.ArchivalLeaveTo*float64(p.Steps)
		w.leaves = append(w.leaves, int(from+(to-from)*float64(i+1)/float64(a)))
	}
	return w, nil
}

// regimeConfig is the ledger's configuration in regime r.
func regimeConfig(p Params, r Regime) ledger.Config {
	c := p.Ledger
	if r == TitForTat { // reciprocity only: every byte is worth the same
		c.AgeMultiplier, c.RarityCap = 1, 1
	}
	return c.WithDefaults()
}

// roleCounts splits the peers into roles (at least one archival peer).
func roleCounts(p Params) [roles]int {
	var c [roles]int
	c[Archival] = max(1, int(p.Archival*float64(p.Peers)+0.5))
	c[FreeRider] = int(p.FreeRiders * float64(p.Peers))
	c[Liar] = int(p.Liars * float64(p.Peers))
	c[Fake] = int(p.Fakes * float64(p.Peers))
	c[Normal] = p.Peers - c[Archival] - c[FreeRider] - c[Liar] - c[Fake]
	return c
}

// storeLimit is a normal peer's store, in blocks.
func (w *world) storeLimit() int {
	return max(1, int(w.p.StoreShare*float64(w.p.InitialBlocks+w.p.Steps)))
}

// newNode makes the gen-th peer of slot: its ledger (not in regime None)
// and store.
func (w *world) newNode(slot, gen int, role Role) (*node, error) {
	n := &node{slot: slot, gen: gen, id: peerID(slot, gen), role: role, online: true}
	if w.regime != None {
		cfg := w.cfg
		cfg.Capacity = w.p.Capacity
		if role == Archival {
			cfg.Capacity = w.p.ArchivalCapacity
		}
		l, err := ledger.New(ledger.Options{Config: cfg, Clock: w.clk, Head: w.head,
			Rand: rand.New(rand.NewPCG(w.p.Seed, uint64(slot)<<20|uint64(gen)<<4|uint64(w.regime)))})
		if err != nil {
			return nil, err
		}
		n.led = l
	}
	var keeper history.Keeper = history.LRU{}
	if w.regime == Braid && n.led != nil {
		keeper = n.led.Keeper()
	}
	switch role {
	case Normal:
		n.store = newStore(w.storeLimit(), keeper)
	case Archival:
		n.store = newStore(0, keeper)
	}
	w.byID[n.id] = n
	return n, nil
}

// head is the tip's number (the ledgers' Options.Head).
func (w *world) head() (uint64, bool) { return uint64(len(w.headers) - 1), true }

// addBlock appends a block to the chain.
func (w *world) addBlock() {
	n := uint64(len(w.headers))
	h := &types.Header{Number: new(big.Int).SetUint64(n), Difficulty: big.NewInt(0), GasLimit: 30_000_000,
		Time: uint64(epoch.Unix()) + 12*n, TxHash: types.EmptyTxsHash, ReceiptHash: types.EmptyReceiptsHash,
		UncleHash: types.EmptyUncleHash, Root: types.EmptyRootHash, Extra: []byte("braid-sim")}
	w.headers = append(w.headers, h)
	w.hashes = append(w.hashes, h.Hash())
	w.byHash[w.hashes[n]] = n
	w.holders = append(w.holders, holderSet{})
}

// keep offers block b to n's store, keeping the advertisements and n's
// ledger in step with what it holds.
func (w *world) keep(n *node, b uint64) bool {
	if n.store == nil {
		return false
	}
	hash := w.hashes[b]
	kept, evicted, did := n.store.put(b, hash, w.p.BlockBytes, w.clk.Now())
	if did {
		w.holders[evicted].remove(n.slot)
		if n.led != nil {
			n.led.OnStored(history.Event{Hash: w.hashes[evicted], Number: evicted})
		}
	}
	if kept {
		w.holders[b].add(n.slot)
		if n.led != nil {
			n.led.OnStored(history.Event{Hash: hash, Number: b, Parts: history.AllParts})
		}
	}
	return kept
}

// advertise makes a liar or fake claim a store's worth of random old
// blocks.
func (w *world) advertise(n *node) {
	for _, b := range n.advertised {
		w.holders[b].remove(n.slot)
	}
	n.advertised = n.advertised[:0]
	last := len(w.headers) - 1 - int(w.cfg.AgeDepth)
	for range w.storeLimit() {
		b := uint64(w.rnd.IntN(last + 1))
		n.advertised = append(n.advertised, b)
		w.holders[b].add(n.slot)
	}
}

// leave takes n out for good: its advertisements go (the DHT records
// expire); a normal or adversarial peer is replaced by a fresh one.
func (w *world) leave(n *node) error {
	if n.store != nil {
		for _, b := range n.store.sortedKeys() {
			w.holders[b].remove(n.slot)
		}
	}
	for _, b := range n.advertised {
		w.holders[b].remove(n.slot)
	}
	delete(w.byID, n.id)
	if n.led != nil {
		n.led.Close()
	}
	if n.role == Archival {
		n.gone, n.online, n.store = true, false, nil
		return nil
	}
	fresh, err := w.newNode(n.slot, n.gen+1, n.role)
	if err != nil {
		return err
	}
	w.nodes[n.slot] = fresh
	if fresh.role == Liar || fresh.role == Fake {
		w.advertise(fresh)
	}
	return nil
}

// churn takes peers offline and back, archival peers out on schedule,
// and replaces the peers that leave.
func (w *world) churn() error {
	arch := 0
	for _, n := range slices.Clone(w.nodes) {
		if n.role == Archival {
			if !n.gone && w.step >= w.leaves[arch] {
				if err := w.leave(n); err != nil {
					return err
				}
			}
			arch++
			continue
		}
		if w.rnd.Float64() < w.p.LeaveRate {
			if err := w.leave(n); err != nil {
				return err
			}
			continue
		}
		switch {
		case n.online && w.rnd.Float64() < w.p.OfflineRate:
			n.online = false
		case !n.online && w.rnd.Float64() < w.p.OnlineRate:
			n.online = true
		}
	}
	return nil
}

// newBlock grows the chain: archival peers keep it, and a share of the
// online normal peers is offered it (verified while serving clients).
func (w *world) newBlock() {
	w.addBlock()
	b := uint64(len(w.headers) - 1)
	for _, n := range w.nodes {
		if !n.online || n.gone {
			continue
		}
		if n.role == Archival || (n.role == Normal && w.rnd.Float64() < w.p.NewBlockShare) {
			w.keep(n, b)
		}
	}
}

// close releases the ledgers.
func (w *world) close() {
	for _, n := range w.nodes {
		if n.led != nil {
			n.led.Close()
		}
	}
}
