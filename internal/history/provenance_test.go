package history

import (
	"errors"
	"testing"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/rlp"
)

// canonicalOf is the store's canonical hash of number at least least, and
// its provenance, as one comparable value.
type canonicalOf struct {
	hash common.Hash
	prov Provenance
	ok   bool
}

func lookup(s *Store, number uint64, least Provenance) canonicalOf {
	h, p, ok := s.Canonical(number, least)
	return canonicalOf{h, p, ok}
}

// A canonical decision keeps how it was made: an agreed record is not
// what a strict lookup (least Proven) returns; a proven decision upgrades
// it; an agreed decision never downgrades a proven record nor replaces
// another block's proven hash; a proven decision for another block does.
// The provenance survives a restart.
func TestCanonicalProvenanceRules(t *testing.T) {
	s, fake, dir := openStore(t, Options{MaxBytes: 8 << 20})
	a, b, c := makeBlock(t, 7, 2, 1, false), makeBlock(t, 7, 1, 2, false), makeBlock(t, 8, 1, 3, false)
	for _, blk := range []*synthBlock{a, b} {
		if err := s.PutHeader(blk.header); err != nil {
			t.Fatal(err)
		}
		if err := s.PutBody(blk.hash(), blk.body); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.SetCanonical(7, a.hash(), NotCanonical); err == nil {
		t.Fatal("SetCanonical took NotCanonical as a decision")
	}
	if err := s.SetCanonical(7, a.hash(), Agreed); err != nil {
		t.Fatal(err)
	}
	if got := lookup(s, 7, Proven); got.ok {
		t.Fatalf("a strict lookup returned the agreed record %+v", got)
	}
	if got, want := lookup(s, 7, Agreed), (canonicalOf{a.hash(), Agreed, true}); got != want {
		t.Fatalf("agreed lookup %+v, want %+v", got, want)
	}
	if got := lookup(s, 7, NotCanonical); got.hash != a.hash() || got.prov != Agreed {
		t.Fatalf("lookup with no least %+v", got)
	}
	if _, _, ok := s.TxLookup(a.body.Transactions[0].Hash()); !ok {
		t.Fatal("an agreed canonical block's transactions are not indexed")
	}

	// Proven upgrades, agreed does not downgrade.
	if err := s.SetCanonical(7, a.hash(), Proven); err != nil {
		t.Fatal(err)
	}
	if err := s.SetCanonical(7, a.hash(), Agreed); err != nil {
		t.Fatal(err)
	}
	if got, want := lookup(s, 7, Proven), (canonicalOf{a.hash(), Proven, true}); got != want {
		t.Fatalf("after the upgrade %+v, want %+v", got, want)
	}
	// An agreed decision for another block does not replace a proven one.
	if err := s.SetCanonical(7, b.hash(), Agreed); !errors.Is(err, ErrProvenCanonical) {
		t.Fatalf("agreed over proven: %v, want ErrProvenCanonical", err)
	}
	if err := s.PutBlock(b.header, b.body, b.receipts, Agreed); !errors.Is(err, ErrProvenCanonical) {
		t.Fatalf("agreed PutBlock over proven: %v, want ErrProvenCanonical", err)
	}
	if got := lookup(s, 7, Agreed); got.hash != a.hash() || got.prov != Proven {
		t.Fatalf("after refused agreed decisions %+v, want a's proven record", got)
	}
	// A proven decision for another block replaces it (a reorg).
	if err := s.SetCanonical(7, b.hash(), Proven); err != nil {
		t.Fatal(err)
	}
	if got, want := lookup(s, 7, Proven), (canonicalOf{b.hash(), Proven, true}); got != want {
		t.Fatalf("after the proven reorg %+v, want %+v", got, want)
	}
	// An agreed decision replaces an agreed one; PutBlock records it.
	if err := s.PutBlock(c.header, c.body, c.receipts, Agreed); err != nil {
		t.Fatal(err)
	}
	if err := s.PutBlock(c.header, c.body, c.receipts, Proven); err != nil {
		t.Fatal(err)
	}
	if got, want := lookup(s, 8, Proven), (canonicalOf{c.hash(), Proven, true}); got != want {
		t.Fatalf("PutBlock's upgrade %+v, want %+v", got, want)
	}
	auditBytes(t, s)

	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	again, err := Open(dir, Options{MaxBytes: 8 << 20, Clock: fake})
	if err != nil {
		t.Fatal(err)
	}
	defer again.Close()
	if got, want := lookup(again, 7, Proven), (canonicalOf{b.hash(), Proven, true}); got != want {
		t.Fatalf("after reopening %+v, want %+v", got, want)
	}
	if _, p, _ := again.Canonical(8, Agreed); p != Proven {
		t.Fatalf("block 8 reopened as %v", p)
	}
	auditBytes(t, again)
}

// oldRecord is the record as stores wrote it before provenance was kept.
type oldRecord struct {
	Number    uint64
	Parts     Parts
	PreMerge  bool
	Canonical bool
	Bytes     uint64
	Index     uint64
	Stored    uint64
	Used      uint64
	Reads     uint64
}

// A store written before provenance was kept still loads, whole: its
// canonical records read as agreed (nothing says they were proven), so a
// strict lookup does not return them until a proven decision upgrades
// them.
func TestOldFormatRecordLoads(t *testing.T) {
	s, fake, dir := openStore(t, Options{MaxBytes: 8 << 20})
	b := makeBlock(t, 5, 3, 4, false)
	if err := putBlock(t, s, b); err != nil {
		t.Fatal(err)
	}
	size := s.Size()
	s.mu.Lock()
	r := *s.items[b.hash()]
	s.mu.Unlock()
	old, err := rlp.EncodeToBytes(&oldRecord{Number: r.Number, Parts: r.Parts, PreMerge: r.PreMerge, Canonical: r.Canonical,
		Bytes: r.Bytes, Index: r.Index, Stored: r.Stored, Used: r.Used, Reads: r.Reads})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.kv.Put(recordKey(b.hash()), old); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	again, err := Open(dir, Options{MaxBytes: 8 << 20, Clock: fake})
	if err != nil {
		t.Fatal(err)
	}
	defer again.Close()
	if !again.Has(b.hash(), AllParts) || again.Size() != size {
		t.Fatalf("the old record did not load: has %v, size %d want %d", again.Has(b.hash(), AllParts), again.Size(), size)
	}
	if got, want := lookup(again, 5, Agreed), (canonicalOf{b.hash(), Agreed, true}); got != want {
		t.Fatalf("old canonical record %+v, want %+v", got, want)
	}
	if got := lookup(again, 5, Proven); got.ok {
		t.Fatalf("a strict lookup trusted an old record %+v", got)
	}
	if err := again.SetCanonical(5, b.hash(), Proven); err != nil {
		t.Fatal(err)
	}
	if got := lookup(again, 5, Proven); !got.ok || got.hash != b.hash() {
		t.Fatalf("after a proven decision %+v", got)
	}
	auditBytes(t, again)
}
