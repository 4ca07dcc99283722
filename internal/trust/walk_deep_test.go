package trust

import (
	"context"
	"errors"
	"math/big"
	"strings"
	"testing"

	"github.com/braidrpc/braid/internal/jsonrpc"
)

// A block beyond the last hop's window is walked to from the oldest block
// that window names (proven from the history contract's storage), not from
// the tip: with the window cut to 4 blocks and verify.parent_walk to 8, a
// block 10 below the head is answered (4 named + 6 walked), where a walk
// from the head (10 > 8) was refused; one 14 below (4 + 10) is still
// refused, naming why.
func TestWalkFromTheOldestNamedBlock(t *testing.T) {
	w := newWalkDevnet(t, 3, 24)
	ctx := context.Background()
	top := w.tip.Number.Uint64()
	r, _, l := w.reader(8, 4, 8)
	for _, num := range []uint64{top - 10, top - 12} {
		hash, err := r.CanonicalHash(ctx, num)
		if err != nil {
			t.Fatalf("block %d (%d below the head): %v", num, top-num, err)
		}
		want, err := w.ec.HeaderByNumber(ctx, new(big.Int).SetUint64(num))
		if err != nil {
			t.Fatal(err)
		}
		if hash != want.Hash() {
			t.Fatalf("hash of block %d = %s, the node's is %s", num, hash.Hex(), want.Hash().Hex())
		}
	}
	if struck := l.list(); len(struck) != 0 {
		t.Fatalf("honest providers struck: %v", struck)
	}
	r2, _, _ := w.reader(8, 4, 8)
	_, err := r2.CanonicalHash(ctx, top-14)
	var rpcErr *jsonrpc.Error
	if !errors.As(err, &rpcErr) || rpcErr.Code != jsonrpc.CodeUnverifiable || !strings.Contains(rpcErr.Message, "verify.parent_walk = 8") {
		t.Fatalf("block %d, 10 below the oldest named block with parent_walk 8: %v", top-14, err)
	}
}

// CanonicalBelow walks down from a header the caller holds as canonical
// (a history store's finalized record), records what it walked as
// canonical, and refuses beyond verify.parent_walk.
func TestCanonicalBelowAStoredHeader(t *testing.T) {
	chain := fakeChain(400)
	r, f, _ := walkReader(chain, 100, &walkOperator{name: "a"})
	ctx := context.Background()
	got, err := r.CanonicalBelow(ctx, chain[200], 150)
	if err != nil || got != chain[150].Hash() {
		t.Fatalf("block 150 below 200: %s, %v", got.Hex(), err)
	}
	trips := f.roundTrips()
	if h, ok := r.headers.Canonical(170); !ok || h != chain[170].Hash() {
		t.Fatalf("block 170 not recorded canonical after the walk")
	}
	if _, err := r.CanonicalBelow(ctx, chain[200], 50); err == nil {
		t.Fatal("a walk of 150 headers with parent_walk 100 was not refused")
	}
	if f.roundTrips() != trips {
		t.Fatal("a refused walk cost round trips")
	}
}
