package ledger

import (
	"context"
	"errors"
	"testing"

	"github.com/ethereum/go-ethereum/common"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/braidrpc/braid/internal/history"
	"github.com/braidrpc/braid/internal/peers"
	"github.com/braidrpc/braid/internal/verify"
)

// putSynth stores block n of the synthetic chain whole.
func putSynth(s *history.Store, n uint64) error {
	return s.PutBlockRLP(synthHeader(n), content(peers.Body, n), content(peers.Receipts, n), verify.ReceiptsStorage, history.NotCanonical)
}

// openKept opens a history store of room for about blocks synthetic
// blocks, kept by l's Keeper and telling l what it holds.
func openKept(t *testing.T, l *Ledger, blocks int) *history.Store {
	t.Helper()
	probe, err := history.Open(t.TempDir(), history.Options{MaxBytes: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	if err := putSynth(probe, 1); err != nil {
		t.Fatal(err)
	}
	per := probe.Size()
	probe.Close()
	s, err := history.Open(t.TempDir(), history.Options{MaxBytes: per*int64(blocks) + per/2, Keeper: l.Keeper(), Notify: l.OnStored})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// TestKeeperPrefersOldAndRare: a history store kept by the ledger's
// Keeper, full, evicts new content for old, common old content for rare,
// and refuses new content worth less than everything it would displace.
func TestKeeperPrefersOldAndRare(t *testing.T) {
	e := newEnv(t, Config{})
	l := e.l
	s := openKept(t, l, 4)
	newBlocks := []uint64{testHead - 1, testHead - 2, testHead - 3, testHead - 4}
	for _, n := range newBlocks {
		if err := putSynth(s, n); err != nil {
			t.Fatal(err)
		}
	}
	// Old content whose fetch found one other holder: 2 copies once kept.
	oldRare := func(n uint64) {
		t.Helper()
		l.Rank(key(peers.Receipts, n), e.age(n), []peer.ID{id(1)})
		if err := putSynth(s, n); err != nil {
			t.Fatalf("old block %d: %v", n, err)
		}
	}
	for _, n := range []uint64{100, 101, 102, 103} {
		oldRare(n)
	}
	for _, n := range newBlocks {
		if s.Has(synthHeader(n).Hash(), history.HeaderPart) {
			t.Fatalf("new block %d kept over old content", n)
		}
	}
	// New content now costs more room than it is worth.
	if err := putSynth(s, testHead-10); !errors.Is(err, history.ErrFull) {
		t.Fatalf("new block into a store of old content: %v", err)
	}
	// Block 100 turns out common (ten holders): it goes first.
	l.Rank(key(peers.Receipts, 100), e.age(100), ids10())
	if got := l.Keeper().Value(history.Item{Hash: synthHeader(100).Hash(), Number: 100}, e.clk.Now()); got != 5 {
		t.Fatalf("old common block valued %v, want 5", got)
	}
	oldRare(200)
	if s.Has(synthHeader(100).Hash(), history.HeaderPart) || !s.Has(synthHeader(101).Hash(), history.HeaderPart) {
		t.Fatal("the common old block was not the one evicted")
	}
	if av := l.Availability(); av.Buckets[3].Blocks != 4 || av.Buckets[3].Counted != 4 || av.Buckets[3].MeanCopies != 2 {
		t.Fatalf("availability %+v", av.Buckets)
	}
}

// TestSampleOnce: the holders of held blocks are counted, weighed by
// standing, and remembered as claims; the least recently counted go
// first.
func TestSampleOnce(t *testing.T) {
	e := newEnv(t, Config{SampleBatch: 2})
	l := e.l
	net := newFakeNet(l)
	for _, n := range []uint64{10, 11, 12} {
		l.OnStored(history.Event{Hash: synthHeader(n).Hash(), Number: n, Parts: history.AllParts})
	}
	net.advertise(10, id(1), id(2))
	net.advertise(11, id(1))
	net.advertise(12)
	l.recordAudit(Audit{Peer: id(2), Outcome: Missing}) // weighs 1/3
	if n := l.SampleOnce(context.Background(), net); n != 2 {
		t.Fatalf("counted %d", n)
	}
	if n := l.SampleOnce(context.Background(), net); n != 2 {
		t.Fatalf("counted %d", n)
	}
	l.mu.Lock()
	got := map[uint64]float64{}
	for _, e := range l.held.m {
		if e.Sampled.IsZero() {
			l.mu.Unlock()
			t.Fatalf("block %d never counted after two rounds", e.Number)
		}
		got[e.Number] = e.Copies
	}
	l.mu.Unlock()
	if got[10] != 1+1.0/3 || got[11] != 1 || got[12] != 0 {
		t.Fatalf("copies %v", got)
	}
	if s, _ := l.Peer(id(1)); s.Claims != 2 {
		t.Fatalf("claims %+v", s)
	}
	if av := l.Availability(); av.Buckets[3].Alone != 1 || av.Buckets[3].BelowTarget != 3 {
		t.Fatalf("availability %+v", av.Buckets[3])
	}
	l.OnStored(history.Event{Hash: synthHeader(12).Hash(), Number: 12})
	l.Hold([]history.Item{{Hash: synthHeader(10).Hash(), Number: 10, Parts: history.AllParts}})
	if av := l.Availability(); av.Buckets[3].Blocks != 1 {
		t.Fatalf("after eviction and Hold: %+v", av.Buckets[3])
	}
}

// TestRepairOnce: old blocks held by fewer than TargetCopies (weighed)
// are filled, those held widely are not, and after the store refuses one
// as worth too little, blocks worth no more are not fetched.
func TestRepairOnce(t *testing.T) {
	e := newEnv(t, Config{RepairBatch: 1, RepairFrom: 5000})
	l := e.l
	net := newFakeNet(l)
	last := uint64(testHead - 128)
	for n := uint64(5000); n <= last; n++ {
		if n%2 == 0 {
			net.advertise(n, ids10()...)
		} else {
			net.advertise(n, id(1))
		}
	}
	var filled []uint64
	full := false
	fill := func(_ context.Context, n uint64, hash common.Hash) error {
		if hash != synthHeader(n).Hash() {
			t.Fatalf("fill of %d with hash %s", n, hash)
		}
		if full {
			return history.ErrFull
		}
		filled = append(filled, n)
		return nil
	}
	var looked, rare int
	for range 40 {
		r := l.RepairOnce(context.Background(), net, synthHeaders{}, fill)
		looked += r.Looked
		rare += r.Rare
	}
	if looked != 40 || rare == 0 || rare == 40 || len(filled) != rare {
		t.Fatalf("looked %d, rare %d, filled %v", looked, rare, filled)
	}
	for _, n := range filled {
		if n%2 == 0 || n < 5000 || n > last {
			t.Fatalf("filled %d", n)
		}
	}
	full = true
	var fulls, tried int
	for range 40 {
		r := l.RepairOnce(context.Background(), net, synthHeaders{}, fill)
		if r.Full {
			fulls++
		}
		tried += r.Rare
	}
	if fulls != 1 || tried < 2 {
		t.Fatalf("after a refusal: %d refusals in %d rare", fulls, tried)
	}
}

// TestKeeperUncountedIsTheOnlyCopy: an old block whose holders were never
// counted is kept as if it were the only copy (it may be), over old
// content known to be common; a new one (the providers still serve it) is
// valued at UnknownCopies, below old content however common, so blocks
// stored while serving clients do not push old copies out before they are
// counted; once counted common a block goes first.
func TestKeeperUncountedIsTheOnlyCopy(t *testing.T) {
	e := newEnv(t, Config{})
	l := e.l
	k := l.Keeper()
	item := func(n uint64) history.Item { return history.Item{Hash: synthHeader(n).Hash(), Number: n} }
	l.Rank(key(peers.Receipts, 100), e.age(100), ids10()) // old, ten others: common
	oldCommon := k.Value(item(100), e.clk.Now())
	oldFresh := k.Value(item(200), e.clk.Now())     // old, never counted
	fresh := k.Value(item(testHead-1), e.clk.Now()) // new, never counted
	if oldCommon != 5 || oldFresh != 40 || fresh != 2 {
		t.Fatalf("old common %v, old uncounted %v, new uncounted %v: want 5, 40 and 2", oldCommon, oldFresh, fresh)
	}
	l.OnStored(history.Event{Hash: item(testHead - 1).Hash, Number: testHead - 1, Parts: history.AllParts})
	l.mu.Lock()
	l.held.counted(item(testHead-1).Hash, 9, 9, e.clk.Now())
	l.mu.Unlock()
	if got := k.Value(item(testHead-1), e.clk.Now()); got != 1 {
		t.Fatalf("new block counted common: %v, want 1", got)
	}
}
