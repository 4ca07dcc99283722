package history

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/rlp"

	"github.com/braidrpc/braid/internal/await"
	"github.com/braidrpc/braid/internal/verify"
)

// fakeSource serves synthetic blocks and counts what it serves.
type fakeSource struct {
	mu      sync.Mutex
	blocks  []*synthBlock
	served  int64
	asked   map[uint64]int    // body requests per block number
	lieOnce map[uint64][]byte // a body to send once instead of the real one
	maxSent int64
	agreed  bool // its headers are agreed by operators, not proven
}

func newFakeSource(blocks []*synthBlock) *fakeSource {
	return &fakeSource{blocks: blocks, asked: map[uint64]int{}, lieOnce: map[uint64][]byte{}}
}

func (s *fakeSource) Head(context.Context) (uint64, error) {
	return uint64(len(s.blocks) - 1), nil
}

func (s *fakeSource) CanonicalHeader(ctx context.Context, n uint64) (*types.Header, Provenance, error) {
	h, err := s.Header(ctx, n)
	if s.agreed {
		return h, Agreed, err
	}
	return h, Proven, err
}

func (s *fakeSource) Header(_ context.Context, n uint64) (*types.Header, error) {
	if n >= uint64(len(s.blocks)) {
		return nil, fmt.Errorf("no block %d", n)
	}
	raw, _ := rlp.EncodeToBytes(s.blocks[n].header)
	s.count(len(raw))
	return s.blocks[n].header, nil
}

func (s *fakeSource) Body(_ context.Context, _ common.Hash, n uint64) ([]byte, error) {
	s.mu.Lock()
	s.asked[n]++
	lie := s.lieOnce[n]
	delete(s.lieOnce, n)
	s.mu.Unlock()
	if lie != nil {
		s.count(len(lie))
		return lie, nil
	}
	raw, _ := rlp.EncodeToBytes(s.blocks[n].body)
	s.count(len(raw))
	return raw, nil
}

func (s *fakeSource) Receipts(_ context.Context, _ common.Hash, n uint64) ([]byte, verify.ReceiptsEncoding, error) {
	raw, _ := rlp.EncodeToBytes(s.blocks[n].receipts)
	s.count(len(raw))
	return raw, verify.ReceiptsConsensus, nil
}

func (s *fakeSource) count(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.served += int64(n)
	s.maxSent = max(s.maxSent, int64(n))
}

func (s *fakeSource) bytes() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.served
}

func (s *fakeSource) bodiesAsked(n uint64) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.asked[n]
}

func synthChain(t testing.TB, n int, preMergeUntil uint64) []*synthBlock {
	t.Helper()
	blocks := make([]*synthBlock, n)
	for i := range blocks {
		blocks[i] = makeBlock(t, uint64(i), i%5, byte(i), uint64(i) < preMergeUntil)
	}
	return blocks
}

// runFiller runs f in the background; stop cancels it and returns Run's
// error.
func runFiller(t testing.TB, f *Filler) (stop func() error, done <-chan error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	ch := make(chan error, 1)
	go func() { ch <- f.Run(ctx) }()
	t.Cleanup(cancel)
	return func() error { cancel(); return <-ch }, ch
}

// TestFillerStaysWithinItsBudget: with a fake clock moving in steps, the
// bytes fetched never exceed burst + rate×elapsed + one fetch, the filler
// waits on the clock when the budget is spent, and it fills the whole
// range in the end.
func TestFillerStaysWithinItsBudget(t *testing.T) {
	blocks := synthChain(t, 40, 0)
	src := newFakeSource(blocks)
	s, fake, _ := openStore(t, Options{MaxBytes: 64 << 20, Keep: KeepAll})
	const rate, burst = 2000, 1000
	f, err := NewFiller(s, src, FillerOptions{BytesPerSecond: rate, Burst: burst, Idle: time.Minute, Clock: fake})
	if err != nil {
		t.Fatal(err)
	}
	stop, _ := runFiller(t, f)
	start := fake.Now()
	for steps := 0; f.Progress().Next < uint64(len(blocks)); steps++ {
		if steps > 10000 {
			t.Fatalf("not filled after %d steps: %+v", steps, f.Progress())
		}
		// The filler has spent what it may and waits on the clock.
		await.Until(t, "the filler to wait on the clock", func() bool { return fake.Waiters() > 0 })
		elapsed := fake.Now().Sub(start).Seconds()
		if got, allowed := src.bytes(), int64(burst+rate*elapsed)+src.maxSent; got > allowed {
			t.Fatalf("%d bytes fetched after %.1fs, the budget allows %d", got, elapsed, allowed)
		}
		fake.Advance(250 * time.Millisecond)
	}
	if err := stop(); !errors.Is(err, context.Canceled) {
		t.Fatalf("Run: %v", err)
	}
	elapsed := fake.Now().Sub(start).Seconds()
	if p := f.Progress(); p.Blocks != uint64(len(blocks)) || p.Bytes != src.bytes() || p.Bytes < int64(rate*elapsed)/2 {
		t.Fatalf("progress %+v after %.1fs, %d bytes served", p, elapsed, src.bytes())
	}
	for _, b := range blocks {
		if !s.Has(b.hash(), AllParts) {
			t.Fatalf("block %d not filled", b.header.Number)
		}
		if h, _, _ := s.Canonical(b.header.Number.Uint64(), Agreed); h != b.hash() {
			t.Fatalf("block %d not canonical", b.header.Number)
		}
	}
	auditBytes(t, s)
}

// A fill whose source's headers were agreed by operators records its
// blocks as agreed: a strict lookup does not return them.
func TestFillerRecordsAgreedHeadersAsAgreed(t *testing.T) {
	blocks := synthChain(t, 6, 0)
	src := newFakeSource(blocks)
	src.agreed = true
	s, fake, _ := openStore(t, Options{MaxBytes: 64 << 20, Keep: KeepFrom(0)})
	f, err := NewFiller(s, src, FillerOptions{BytesPerSecond: 1 << 30, Clock: fake})
	if err != nil {
		t.Fatal(err)
	}
	stop, _ := runFiller(t, f)
	await.Until(t, "the range filled", func() bool { return f.Progress().Blocks == uint64(len(blocks)) })
	if err := stop(); !errors.Is(err, context.Canceled) && err != nil {
		t.Fatal(err)
	}
	for _, b := range blocks {
		n := b.header.Number.Uint64()
		if h, p, ok := s.Canonical(n, Agreed); !ok || h != b.hash() || p != Agreed {
			t.Fatalf("block %d: %s %v %v, want agreed canonical", n, h, p, ok)
		}
		if _, _, ok := s.Canonical(n, Proven); ok {
			t.Fatalf("block %d filled from agreed headers is trusted as proven", n)
		}
	}
}

// TestFillerResumesAfterRestart: progress survives closing the store; the
// next filler starts where the first stopped and asks for nothing before.
func TestFillerResumesAfterRestart(t *testing.T) {
	blocks := synthChain(t, 30, 0)
	src := newFakeSource(blocks)
	s, fake, dir := openStore(t, Options{MaxBytes: 64 << 20, Keep: KeepFrom(5)})
	f, err := NewFiller(s, src, FillerOptions{BytesPerSecond: 1 << 30, Clock: fake})
	if err != nil {
		t.Fatal(err)
	}
	stop, _ := runFiller(t, f)
	await.Until(t, "half the range filled", func() bool { return f.Progress().Next >= 15 })
	if err := stop(); !errors.Is(err, context.Canceled) {
		t.Fatal(err)
	}
	stopped := f.Progress().Next
	if src.bodiesAsked(4) != 0 {
		t.Fatal("filled below the keep range")
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	again, err := Open(dir, Options{MaxBytes: 64 << 20, Keep: KeepFrom(5), Clock: fake})
	if err != nil {
		t.Fatal(err)
	}
	defer again.Close()
	src2 := newFakeSource(blocks)
	f2, err := NewFiller(again, src2, FillerOptions{BytesPerSecond: 1 << 30, Clock: fake})
	if err != nil {
		t.Fatal(err)
	}
	if f2.Progress().Next != stopped {
		t.Fatalf("resumed at %d, stopped at %d", f2.Progress().Next, stopped)
	}
	stop2, _ := runFiller(t, f2)
	await.Until(t, "the range filled", func() bool { return f2.Progress().Next == uint64(len(blocks)) })
	if err := stop2(); !errors.Is(err, context.Canceled) {
		t.Fatal(err)
	}
	for n := range stopped {
		if src2.bodiesAsked(n) != 0 {
			t.Fatalf("the resumed filler fetched block %d again", n)
		}
	}
	for _, b := range blocks[5:] {
		if !again.Has(b.hash(), AllParts) {
			t.Fatalf("block %d missing", b.header.Number)
		}
	}
	// A different keep range starts over from its own start.
	f3, err := NewFiller(again, src2, FillerOptions{Keep: KeepFrom(2), BytesPerSecond: 1, Clock: fake})
	if err != nil || f3.Progress().Next != 2 {
		t.Fatalf("a new range resumed at %+v, %v", f3.Progress(), err)
	}
}

// TestFillerRejectsLiesAndAsksAgain: a body that does not match its header
// is not stored, is reported, and the block is filled on a later try.
func TestFillerRejectsLiesAndAsksAgain(t *testing.T) {
	blocks := synthChain(t, 8, 0)
	src := newFakeSource(blocks)
	src.lieOnce[3], _ = rlp.EncodeToBytes(blocks[4].body)
	s, fake, _ := openStore(t, Options{MaxBytes: 64 << 20, Keep: KeepAll})
	var mu sync.Mutex
	var rejected []uint64
	f, err := NewFiller(s, src, FillerOptions{BytesPerSecond: 1 << 30, Clock: fake, Idle: time.Second,
		OnReject: func(n uint64, err error) {
			var lie *verify.Error
			if errors.As(err, &lie) {
				mu.Lock()
				rejected = append(rejected, n)
				mu.Unlock()
			}
		}})
	if err != nil {
		t.Fatal(err)
	}
	stop, _ := runFiller(t, f)
	await.Until(t, "the lie rejected", func() bool { return f.Progress().Rejected == 1 })
	if s.Has(blocks[3].hash(), BodyPart) || f.Progress().Next != 3 {
		t.Fatalf("after the lie: progress %+v", f.Progress())
	}
	await.Until(t, "the filler to wait before asking again", func() bool { return fake.Waiters() > 0 })
	fake.Advance(time.Second)
	await.Until(t, "the range filled", func() bool { return f.Progress().Next == uint64(len(blocks)) })
	stop()
	mu.Lock()
	defer mu.Unlock()
	if len(rejected) != 1 || rejected[0] != 3 || src.bodiesAsked(3) != 2 {
		t.Fatalf("rejected %v, block 3 asked %d times", rejected, src.bodiesAsked(3))
	}
}

// TestFillerStopsAtTheMergeOrWhenFull: a pre-merge range ends at the first
// proof-of-stake block; a range larger than the store stops with ErrFull.
func TestFillerStopsAtTheMergeOrWhenFull(t *testing.T) {
	blocks := synthChain(t, 20, 12)
	t.Run("merge", func(t *testing.T) {
		src := newFakeSource(blocks)
		s, fake, _ := openStore(t, Options{MaxBytes: 64 << 20, Keep: KeepPreMerge})
		f, err := NewFiller(s, src, FillerOptions{BytesPerSecond: 1 << 30, Clock: fake})
		if err != nil {
			t.Fatal(err)
		}
		if err := f.Run(t.Context()); err != nil {
			t.Fatal(err)
		}
		if p := f.Progress(); !p.Done || p.Next != 12 || s.Has(blocks[12].hash(), HeaderPart) || !s.Has(blocks[11].hash(), AllParts) {
			t.Fatalf("progress %+v", p)
		}
		again, _ := NewFiller(s, src, FillerOptions{BytesPerSecond: 1, Clock: fake})
		if err := again.Run(t.Context()); err != nil || !again.Progress().Done {
			t.Fatalf("a finished range ran again: %v", err)
		}
	})
	t.Run("full", func(t *testing.T) {
		src := newFakeSource(blocks)
		s, fake, _ := openStore(t, Options{MaxBytes: 24 << 10, Keep: KeepAll})
		f, err := NewFiller(s, src, FillerOptions{BytesPerSecond: 1 << 30, Clock: fake})
		if err != nil {
			t.Fatal(err)
		}
		if err := f.Run(t.Context()); !errors.Is(err, ErrFull) {
			t.Fatalf("Run: %v", err)
		}
		if p := f.Progress(); !p.Full || p.Next == 0 || p.Next >= uint64(len(blocks)) {
			t.Fatalf("progress %+v", p)
		}
		auditBytes(t, s)
	})
	t.Run("nothing to keep", func(t *testing.T) {
		s, fake, _ := openStore(t, Options{MaxBytes: 1 << 20})
		f, err := NewFiller(s, newFakeSource(blocks), FillerOptions{BytesPerSecond: 1, Clock: fake})
		if err != nil || f.Run(t.Context()) != nil {
			t.Fatal("a filler without a range ran")
		}
		if _, err := NewFiller(s, newFakeSource(blocks), FillerOptions{}); err == nil {
			t.Fatal("a filler without a budget")
		}
	})
}
