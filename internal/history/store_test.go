package history

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/rlp"

	"github.com/braidrpc/braid/internal/verify"
)

// TestStoreHoldsEveryDevnetBlock stores every devnet block (typed values
// for some, raw RLP for others) and reads it all back byte for byte, with
// every transaction findable by hash.
func TestStoreHoldsEveryDevnetBlock(t *testing.T) {
	c := testChain(t)
	s, _, _ := openStore(t, Options{MaxBytes: 64 << 20})
	for i, b := range c.Blocks {
		if err := s.PutHeader(b.Header); err != nil {
			t.Fatal(err)
		}
		if i%2 == 0 {
			if err := s.PutBody(b.Hash(), b.Body); err != nil {
				t.Fatal(err)
			}
			if err := s.PutReceipts(b.Hash(), b.Receipts); err != nil {
				t.Fatal(err)
			}
		} else {
			if err := s.PutBodyRLP(b.Hash(), b.BodyRLP); err != nil {
				t.Fatal(err)
			}
			if err := s.PutReceiptsRLP(b.Hash(), b.ReceiptsRLP, verify.ReceiptsConsensus); err != nil {
				t.Fatal(err)
			}
		}
		if err := s.SetCanonical(b.Number(), b.Hash(), Proven); err != nil {
			t.Fatal(err)
		}
	}
	auditBytes(t, s)
	for _, b := range c.Blocks {
		checkStored(t, s, b.Hash(), b.HeaderRLP, b.BodyRLP, b.StorageRLP, b.ReceiptsRLP)
		if h, _, ok := s.Canonical(b.Number(), Agreed); !ok || h != b.Hash() {
			t.Fatalf("canonical %d = %s, %v", b.Number(), h, ok)
		}
		for i, tx := range b.Body.Transactions {
			got, loc, ok := s.TxLookup(tx.Hash())
			if !ok || got.Hash() != tx.Hash() || loc != (TxLocation{b.Hash(), b.Number(), uint64(i)}) {
				t.Fatalf("TxLookup(%s) = %v, %+v, %v", tx.Hash(), got, loc, ok)
			}
		}
	}
	if st := s.Stats(); st.Blocks != len(c.Blocks) || st.Bodies != st.Blocks || st.Receipts != st.Blocks {
		t.Fatalf("stats %+v", st)
	}
	if _, _, ok := s.TxLookup(common.Hash{1}); ok {
		t.Fatal("found an unknown transaction")
	}
}

// checkStored fails t unless the store holds the block's parts exactly.
func checkStored(t testing.TB, s *Store, hash common.Hash, header, body, storage, consensus []byte) {
	t.Helper()
	if raw, ok := s.HeaderRLP(hash); !ok || !bytes.Equal(raw, header) {
		t.Fatalf("header of %s: %v", hash, ok)
	}
	if raw, ok := s.BodyRLP(hash); !ok || !bytes.Equal(raw, body) {
		t.Fatalf("body of %s: %v", hash, ok)
	}
	if raw, ok := s.ReceiptsRLP(hash); !ok || !bytes.Equal(raw, storage) {
		t.Fatalf("receipts of %s: %v", hash, ok)
	}
	rs, ok := s.Receipts(hash)
	if !ok {
		t.Fatalf("no receipts for %s", hash)
	}
	if enc, _ := rlp.EncodeToBytes(rs); !bytes.Equal(enc, consensus) {
		t.Fatalf("receipts of %s do not re-encode to the consensus encoding", hash)
	}
	blk, ok := s.Block(hash)
	if !ok || blk.Header.Hash() != hash || blk.Body == nil || len(blk.Receipts) != len(blk.Body.Transactions) {
		t.Fatalf("Block(%s) = %+v, %v", hash, blk, ok)
	}
	if !s.Has(hash, AllParts) {
		t.Fatalf("Has(%s) is false", hash)
	}
}

// TestStoreStoresOnlyVerifiedContent: content needs its header (and
// receipts their body) stored first, and must match it.
func TestStoreStoresOnlyVerifiedContent(t *testing.T) {
	s, _, _ := openStore(t, Options{MaxBytes: 8 << 20})
	a, b := makeBlock(t, 10, 3, 1, false), makeBlock(t, 11, 2, 2, false)
	if err := s.PutBody(a.hash(), a.body); !errors.Is(err, ErrNoHeader) {
		t.Fatalf("body without header: %v", err)
	}
	if err := s.SetCanonical(10, a.hash(), Proven); !errors.Is(err, ErrNoHeader) {
		t.Fatalf("canonical without header: %v", err)
	}
	if err := s.PutHeader(a.header); err != nil {
		t.Fatal(err)
	}
	if err := s.PutReceipts(a.hash(), a.receipts); !errors.Is(err, ErrNoBody) {
		t.Fatalf("receipts without body: %v", err)
	}
	size := s.Size()
	var lie *verify.Error
	if err := s.PutBody(a.hash(), b.body); !errors.As(err, &lie) {
		t.Fatalf("another block's body: %v", err)
	}
	if err := s.PutBodyRLP(a.hash(), []byte{0xc0}); !errors.Is(err, verify.ErrMalformed) {
		t.Fatalf("malformed body: %v", err)
	}
	if s.Size() != size || s.Has(a.hash(), BodyPart) {
		t.Fatal("a rejected body changed the store")
	}
	if err := s.PutBody(a.hash(), a.body); err != nil {
		t.Fatal(err)
	}
	if err := s.PutReceipts(a.hash(), b.receipts); !errors.As(err, &lie) {
		t.Fatalf("another block's receipts: %v", err)
	}
	dropped := slices.Clone(a.receipts)[1:]
	if err := s.PutReceipts(a.hash(), dropped); !errors.As(err, &lie) {
		t.Fatalf("a receipt dropped: %v", err)
	}
	if s.Has(a.hash(), ReceiptsPart) {
		t.Fatal("rejected receipts were stored")
	}
	if err := s.SetCanonical(11, a.hash(), Proven); err == nil {
		t.Fatal("made a block canonical for another number")
	}
	auditBytes(t, s)
}

// TestStoreSurvivesRestart: content, canonical hashes, the tx index, the
// accounting and the read stamps are the same after a reopen.
func TestStoreSurvivesRestart(t *testing.T) {
	s, fake, dir := openStore(t, Options{MaxBytes: 8 << 20})
	var blocks []*synthBlock
	for n := range uint64(20) {
		b := makeBlock(t, n, int(n%4), byte(n), false)
		blocks = append(blocks, b)
		if err := putBlock(t, s, b); err != nil {
			t.Fatal(err)
		}
		fake.Advance(time.Second)
	}
	s.Header(blocks[3].hash()) // read last: its stamp must survive
	size, stats := s.Size(), s.Stats()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if _, ok := s.Header(blocks[0].hash()); ok {
		t.Fatal("read from a closed store")
	}
	if err := s.PutHeader(makeBlock(t, 99, 0, 9, false).header); !errors.Is(err, ErrClosed) {
		t.Fatalf("put on a closed store: %v", err)
	}
	again, err := Open(dir, Options{MaxBytes: 8 << 20, Clock: fake})
	if err != nil {
		t.Fatal(err)
	}
	defer again.Close()
	if again.Size() != size || again.Stats() != stats {
		t.Fatalf("after reopen: size %d stats %+v, before %d %+v", again.Size(), again.Stats(), size, stats)
	}
	auditBytes(t, again)
	for _, b := range blocks {
		raw, _ := rlp.EncodeToBytes(b.body)
		if got, ok := again.BodyRLP(b.hash()); !ok || !bytes.Equal(got, raw) {
			t.Fatalf("body of block %d lost", b.header.Number)
		}
		for i, tx := range b.body.Transactions {
			if _, loc, ok := again.TxLookup(tx.Hash()); !ok || loc.Index != uint64(i) {
				t.Fatalf("tx %s lost", tx.Hash())
			}
		}
	}
	again.mu.Lock()
	used := again.items[blocks[3].hash()].Used
	again.mu.Unlock()
	if want := uint64(fake.Now().UnixNano()); used != want {
		t.Fatalf("read stamp %d after reopen, want %d", used, want)
	}
}

// TestStoreBoundHoldsUnderFlood: many writers put far more than the bound;
// the accounted size never passes it, the oldest blocks go and the
// accounting matches the database.
func TestStoreBoundHoldsUnderFlood(t *testing.T) {
	const max = 256 << 10
	s, fake, _ := openStore(t, Options{MaxBytes: max})
	const writers, each = 4, 60
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				n := uint64(w*each + i)
				if err := putBlock(t, s, makeBlock(t, n, 1+int(n%6), byte(w), false)); err != nil {
					errs <- fmt.Errorf("block %d: %w", n, err)
					return
				}
				if size := s.Size(); size > max {
					errs <- fmt.Errorf("size %d over %d", size, max)
					return
				}
				fake.Advance(time.Millisecond)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	st := s.Stats()
	if st.Evicted == 0 || st.Blocks == 0 || st.Bytes > max {
		t.Fatalf("stats %+v", st)
	}
	auditBytes(t, s)
	t.Logf("%d blocks kept, %d evicted, %d of %d bytes", st.Blocks, st.Evicted, st.Bytes, max)
}

// byNumber is a Keeper that values a block by its number: the oldest go
// first (the opposite of LRU for a chain filled in order).
type byNumber struct{}

func (byNumber) Value(it Item, _ time.Time) float64 { return float64(it.Number) }

// TestEvictionFollowsTheKeeper: LRU by default (a block read recently
// survives), any Keeper's order when given, and a block the Keeper values
// below everything held is refused.
func TestEvictionFollowsTheKeeper(t *testing.T) {
	blocks := make([]*synthBlock, 40)
	for i := range blocks {
		blocks[i] = makeBlock(t, uint64(100-i), 2, byte(i), false) // numbers fall as they are stored
	}
	t.Run("lru", func(t *testing.T) {
		s, fake, _ := openStore(t, Options{MaxBytes: 48 << 10})
		for _, b := range blocks {
			if err := putBlock(t, s, b); err != nil {
				t.Fatal(err)
			}
			fake.Advance(time.Second)
			s.Body(blocks[0].hash()) // block 0 stays in use
		}
		if !s.Has(blocks[0].hash(), AllParts) {
			t.Fatal("the block read all along was evicted")
		}
		checkEvictedPrefix(t, s, blocks[1:])
		auditBytes(t, s)
	})
	t.Run("keeper", func(t *testing.T) {
		s, fake, _ := openStore(t, Options{MaxBytes: 48 << 10, Keeper: byNumber{}})
		for _, b := range blocks[:10] {
			if err := putBlock(t, s, b); err != nil {
				t.Fatal(err)
			}
			fake.Advance(time.Second)
		}
		// Lower numbers than everything held: worth less, refused once full.
		refused := 0
		for _, b := range blocks[10:] {
			if err := putBlock(t, s, b); errors.Is(err, ErrFull) {
				refused++
			} else if err != nil {
				t.Fatal(err)
			}
		}
		if refused == 0 {
			t.Fatal("the keeper's least valued blocks were all admitted")
		}
		for _, b := range blocks[:10] {
			if !s.Has(b.hash(), HeaderPart) {
				t.Fatalf("block %d, worth more than every newcomer, was evicted", b.header.Number)
			}
		}
		auditBytes(t, s)
	})
	t.Run("keeper order", func(t *testing.T) {
		// Numbers in a scrambled order: the keeper, not the order of
		// arrival, decides; what is left is the highest numbers seen.
		s, fake, _ := openStore(t, Options{MaxBytes: 48 << 10, Keeper: byNumber{}})
		var stored []uint64
		for i := range uint64(40) {
			n := (i * 17) % 41
			if err := putBlock(t, s, makeBlock(t, n, 2, byte(i), false)); err != nil && !errors.Is(err, ErrFull) {
				t.Fatal(err)
			}
			stored = append(stored, n)
			fake.Advance(time.Second)
		}
		items := s.Items()
		slices.Sort(stored)
		top := stored[len(stored)-len(items):]
		for i, it := range items {
			if it.Number != top[i] {
				t.Fatalf("held %v, want the highest numbers %v", items, top)
			}
		}
		if st := s.Stats(); st.Evicted == 0 {
			t.Fatalf("nothing evicted: %+v", st)
		}
		auditBytes(t, s)
	})
}

// checkEvictedPrefix fails t unless the blocks the store lost are a prefix
// of blocks (in the order they were stored) and it lost some.
func checkEvictedPrefix(t *testing.T, s *Store, blocks []*synthBlock) {
	t.Helper()
	gone := 0
	for gone < len(blocks) && !s.Has(blocks[gone].hash(), HeaderPart) {
		gone++
	}
	if gone == 0 {
		t.Fatal("nothing was evicted")
	}
	for _, b := range blocks[gone:] {
		if !s.Has(b.hash(), AllParts) {
			t.Fatalf("block %d evicted while an older one (stored before) survived", b.header.Number)
		}
	}
}

// TestKeepRangeIsExemptWithinTheBound: kept blocks are never evicted;
// when only kept blocks are left, new blocks are refused, not squeezed in.
func TestKeepRangeIsExemptWithinTheBound(t *testing.T) {
	s, fake, _ := openStore(t, Options{MaxBytes: 40 << 10, Keep: KeepFrom(1000)})
	var kept []*synthBlock
	for i := range uint64(6) {
		b := makeBlock(t, 1000+i, 2, byte(i), false)
		if err := putBlock(t, s, b); err != nil {
			t.Fatal(err)
		}
		kept = append(kept, b)
		fake.Advance(time.Second)
	}
	for i := range uint64(30) {
		if err := putBlock(t, s, makeBlock(t, i, 2, byte(i), false)); err != nil && !errors.Is(err, ErrFull) {
			t.Fatal(err)
		}
		fake.Advance(time.Second)
	}
	refused := 0
	for i := range uint64(40) {
		b := makeBlock(t, 2000+i, 2, byte(i), false)
		err := putBlock(t, s, b)
		if errors.Is(err, ErrFull) {
			refused++
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		kept = append(kept, b)
	}
	if refused == 0 {
		t.Fatal("kept blocks grew past the bound")
	}
	for _, b := range kept {
		if !s.Has(b.hash(), AllParts) {
			t.Fatalf("kept block %d was evicted", b.header.Number)
		}
	}
	st := s.Stats()
	if st.Kept != st.Blocks || st.Refused == 0 {
		t.Fatalf("stats %+v: unkept blocks left or nothing refused", st)
	}
	before := s.Size()
	if err := putBlock(t, s, makeBlock(t, 5, 1, 77, false)); !errors.Is(err, ErrFull) {
		t.Fatalf("an unkept block into a store full of kept ones: %v", err)
	}
	if s.Size() != before {
		t.Fatal("a refused write changed the size")
	}
	auditBytes(t, s)
}

// TestCanonicalReorg: a new canonical block for a number takes over the
// transaction index; the old block stays stored but no longer indexed.
func TestCanonicalReorg(t *testing.T) {
	s, _, _ := openStore(t, Options{MaxBytes: 8 << 20})
	a, b := makeBlock(t, 7, 3, 1, false), makeBlock(t, 7, 2, 2, false)
	for _, blk := range []*synthBlock{a, b} {
		if err := putBlock(t, s, blk); err != nil {
			t.Fatal(err)
		}
	}
	if h, _, _ := s.Canonical(7, Agreed); h != b.hash() {
		t.Fatalf("canonical 7 = %s, want the later block", h)
	}
	for _, tx := range a.body.Transactions {
		if _, _, ok := s.TxLookup(tx.Hash()); ok {
			t.Fatal("a transaction of the replaced block is still indexed")
		}
	}
	for _, tx := range b.body.Transactions {
		if _, loc, ok := s.TxLookup(tx.Hash()); !ok || loc.BlockHash != b.hash() {
			t.Fatal("a transaction of the canonical block is not indexed")
		}
	}
	if !s.Has(a.hash(), AllParts) {
		t.Fatal("the replaced block's content was dropped")
	}
	auditBytes(t, s)
	if err := s.SetCanonical(7, a.hash(), Proven); err != nil {
		t.Fatal(err)
	}
	if _, loc, ok := s.TxLookup(a.body.Transactions[0].Hash()); !ok || loc.BlockHash != a.hash() {
		t.Fatal("reorg back did not index the block again")
	}
	auditBytes(t, s)
}

func TestParseKeep(t *testing.T) {
	for in, want := range map[string]Keep{"": KeepNone, "none": KeepNone, "all": KeepAll, "pre-merge": KeepPreMerge,
		"from:5": KeepFrom(5), "from: 17": KeepFrom(17)} {
		got, err := ParseKeep(in)
		if err != nil || got != want {
			t.Fatalf("ParseKeep(%q) = %v, %v", in, got, err)
		}
		if again, _ := ParseKeep(got.String()); again != got {
			t.Fatalf("%q does not round-trip", in)
		}
	}
	for _, bad := range []string{"some", "from:", "from:-1", "from:x", "pre merge"} {
		if _, err := ParseKeep(bad); err == nil {
			t.Fatalf("ParseKeep(%q) accepted", bad)
		}
	}
	if !KeepPreMerge.Holds(5, true) || KeepPreMerge.Holds(5, false) || KeepFrom(3).Holds(2, true) || KeepNone.Holds(0, true) {
		t.Fatal("Holds")
	}
}

func TestOpenRejectsNoBound(t *testing.T) {
	if _, err := Open(t.TempDir(), Options{}); err == nil {
		t.Fatal("opened a store without a bound")
	}
}

// TestPutBlockWritesWholeBlocks: a whole block in one write equals the
// part-by-part puts, completes a block stored in part, and stores nothing
// of a block whose content does not match its header.
func TestPutBlockWritesWholeBlocks(t *testing.T) {
	c := testChain(t)
	whole, _, _ := openStore(t, Options{MaxBytes: 64 << 20})
	parts, _, _ := openStore(t, Options{MaxBytes: 64 << 20})
	for i, b := range c.Blocks {
		if i%3 == 1 { // stored in part first
			if err := whole.PutHeader(b.Header); err != nil {
				t.Fatal(err)
			}
			if err := whole.PutBodyRLP(b.Hash(), b.BodyRLP); err != nil {
				t.Fatal(err)
			}
		}
		var err error
		if i%2 == 0 {
			err = whole.PutBlockRLP(b.Header, b.BodyRLP, b.StorageRLP, verify.ReceiptsStorage, Proven)
		} else {
			err = whole.PutBlock(b.Header, b.Body, b.Receipts, Proven)
		}
		if err != nil {
			t.Fatal(err)
		}
		for _, step := range []error{parts.PutHeader(b.Header), parts.PutBody(b.Hash(), b.Body),
			parts.PutReceipts(b.Hash(), b.Receipts), parts.SetCanonical(b.Number(), b.Hash(), Proven)} {
			if step != nil {
				t.Fatal(step)
			}
		}
	}
	if whole.Size() != parts.Size() || whole.Stats() != parts.Stats() {
		t.Fatalf("whole blocks: %d bytes %+v; parts: %d bytes %+v", whole.Size(), whole.Stats(), parts.Size(), parts.Stats())
	}
	auditBytes(t, whole)
	for _, b := range c.Blocks {
		checkStored(t, whole, b.Hash(), b.HeaderRLP, b.BodyRLP, b.StorageRLP, b.ReceiptsRLP)
	}
	lying, _, _ := openStore(t, Options{MaxBytes: 64 << 20})
	b, other := c.Blocks[busiest(c)], c.Blocks[1]
	var lie *verify.Error
	if err := lying.PutBlockRLP(b.Header, other.BodyRLP, b.StorageRLP, verify.ReceiptsStorage, Proven); !errors.As(err, &lie) {
		t.Fatalf("another block's body: %v", err)
	}
	if err := lying.PutBlockRLP(b.Header, b.BodyRLP, other.StorageRLP, verify.ReceiptsStorage, Proven); !errors.As(err, &lie) {
		t.Fatalf("another block's receipts: %v", err)
	}
	if err := lying.PutBlock(b.Header, b.Body, other.Receipts, Proven); !errors.As(err, &lie) {
		t.Fatalf("another block's receipts: %v", err)
	}
	if lying.Size() != 0 || lying.Has(b.Hash(), HeaderPart) {
		t.Fatal("a rejected block left something behind")
	}
}

// TestReorgInAFullStore: making a block canonical in a full store demotes
// the block it replaces without evicting it in the same write, even when
// that block is the least recently used.
func TestReorgInAFullStore(t *testing.T) {
	s, fake, _ := openStore(t, Options{MaxBytes: 40 << 10})
	a := makeBlock(t, 7, 3, 1, false)
	if err := putBlock(t, s, a); err != nil {
		t.Fatal(err)
	}
	var others []*synthBlock
	for i := range uint64(40) { // fill the store, keeping a in use
		fake.Advance(time.Second)
		o := makeBlock(t, 100+i, 2, byte(i), false)
		if err := putBlock(t, s, o); err != nil {
			t.Fatal(err)
		}
		others = append(others, o)
		s.Header(a.hash())
	}
	fake.Advance(time.Second)
	for _, o := range others { // now a is the least recently used
		s.Header(o.hash())
	}
	b := makeBlock(t, 7, 3, 2, false)
	fake.Advance(time.Second)
	if err := s.PutBlock(b.header, b.body, b.receipts, Proven); err != nil {
		t.Fatal(err)
	}
	auditBytes(t, s)
	if h, _, _ := s.Canonical(7, Agreed); h != b.hash() {
		t.Fatal("the new block is not canonical")
	}
	if !s.Has(a.hash(), AllParts) {
		t.Fatal("the demoted block was evicted by the write that demoted it")
	}
}

// TestNotifyTellsWhatTheStoreHolds: replaying the events gives exactly the
// blocks Items lists, the callback may call the store, and evictions are
// told as Parts 0.
func TestNotifyTellsWhatTheStoreHolds(t *testing.T) {
	var mu sync.Mutex
	held := map[common.Hash]Parts{}
	evictions := 0
	var s *Store
	s, fake, _ := openStore(t, Options{MaxBytes: 48 << 10, Notify: func(e Event) {
		if e.Parts != 0 && !s.Has(e.Hash, e.Parts) { // calls the store: no deadlock
			t.Errorf("told of parts %d of %s the store does not hold", e.Parts, e.Hash)
		}
		mu.Lock()
		defer mu.Unlock()
		if e.Parts == 0 {
			delete(held, e.Hash)
			evictions++
			return
		}
		held[e.Hash] = e.Parts
	}})
	for i := range uint64(40) {
		if err := putBlock(t, s, makeBlock(t, i+1, 2, byte(i), false)); err != nil {
			t.Fatal(err)
		}
		fake.Advance(time.Second)
	}
	items := s.Items()
	mu.Lock()
	defer mu.Unlock()
	if evictions == 0 || len(items) != len(held) {
		t.Fatalf("%d evictions told, %d blocks told held, %d listed", evictions, len(held), len(items))
	}
	for i, it := range items {
		if held[it.Hash] != it.Parts || it.Parts != AllParts {
			t.Fatalf("block %d: told %d, holds %d", it.Number, held[it.Hash], it.Parts)
		}
		if i > 0 && items[i-1].Number > it.Number {
			t.Fatal("Items is not in block order")
		}
	}
}
