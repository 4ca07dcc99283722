package archive

import (
	"context"
	"errors"
	"math/big"
	"testing"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"

	"github.com/braidrpc/braid/internal/block"
	"github.com/braidrpc/braid/internal/history"
)

// deepReader is a Reader over a chain of linked headers whose own trusted
// path (CanonicalHash) reaches no block below floor; CanonicalBelow walks
// at most walk headers down from a header it is given, as trust's does.
type deepReader struct {
	Reader
	chain []*types.Header
	floor uint64
	walk  uint64
	froms []uint64 // the headers CanonicalBelow was asked to walk from
}

func (r *deepReader) CanonicalHash(_ context.Context, number uint64) (common.Hash, error) {
	if number < r.floor {
		return common.Hash{}, errors.New("beyond the history contract and parent_walk")
	}
	return r.chain[number].Hash(), nil
}

func (r *deepReader) CanonicalBelow(_ context.Context, from *types.Header, number uint64) (common.Hash, error) {
	n := from.Number.Uint64()
	r.froms = append(r.froms, n)
	if from.Hash() != r.chain[n].Hash() || n <= number || n-number > r.walk {
		return common.Hash{}, errors.New("cannot walk")
	}
	return r.chain[number].Hash(), nil
}

func linkedHeaders(n int) []*types.Header {
	hs := make([]*types.Header, n)
	parent := common.Hash{}
	for i := range hs {
		hs[i] = &types.Header{ParentHash: parent, Number: big.NewInt(int64(i)), Difficulty: new(big.Int), GasLimit: 30_000_000}
		parent = hs[i].Hash()
	}
	return hs
}

// A finalized number below what the verified reader reaches is resolved by
// a walk down from the nearest finalized block the store holds as
// canonical (within parent_walk); without such a block, or above the
// finalized block, the reader's refusal stands.
func TestCanonicalBelowTheReaderFromTheStore(t *testing.T) {
	chain := linkedHeaders(100)
	s, err := history.Open(t.TempDir(), history.Options{MaxBytes: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	for _, n := range []int{40, 41, 95} {
		if err := s.PutHeader(chain[n]); err != nil {
			t.Fatal(err)
		}
		if err := s.SetCanonical(uint64(n), chain[n].Hash(), history.Proven); err != nil {
			t.Fatal(err)
		}
	}
	r := &deepReader{chain: chain, floor: 90, walk: 8}
	tip := block.Tip{Known: true, Latest: block.Block{Number: 99, Hash: chain[99].Hash()},
		Finalized: block.Block{Number: 97, Hash: chain[97].Hash()}}
	a := &Archive{store: s, reader: r, tip: func() block.Tip { return tip }, walk: 8}
	ctx := context.Background()

	got, err := a.trustedCanonical(ctx, 35)
	if err != nil || got != chain[35].Hash() {
		t.Fatalf("block 35: %s, %v; want %s", got.Hex(), err, chain[35].Hash().Hex())
	}
	if len(r.froms) != 1 || r.froms[0] != 40 {
		t.Fatalf("walked from %v, want the nearest stored canonical block, 40", r.froms)
	}
	// 30 is 10 below 40: beyond the walk; 60 has no stored block within 8 above.
	for _, n := range []uint64{30, 60} {
		if _, err := a.trustedCanonical(ctx, n); err == nil {
			t.Errorf("block %d resolved without a trusted block within parent_walk above it", n)
		}
	}
	// The reader's own answer when it has one.
	if got, err := a.trustedCanonical(ctx, 92); err != nil || got != chain[92].Hash() {
		t.Fatalf("block 92: %s, %v", got.Hex(), err)
	}
}
