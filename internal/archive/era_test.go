package archive

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"testing"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/params"
	"github.com/ethereum/go-ethereum/rlp"

	"github.com/braidrpc/braid/internal/block"
	"github.com/braidrpc/braid/internal/ethjson"
	"github.com/braidrpc/braid/internal/history"
	"github.com/braidrpc/braid/internal/history/historytest"
)

// blindReader is a verified reader whose trusted path reaches no block:
// the providers' window and parent walks are far above.
type blindReader struct{ Reader }

var errBlind = errors.New("below the history contract's and parent_walk's reach")

func (blindReader) CanonicalHash(context.Context, uint64) (common.Hash, error) {
	return common.Hash{}, errBlind
}

func (blindReader) CanonicalBelow(context.Context, *types.Header, uint64) (common.Hash, error) {
	return common.Hash{}, errBlind
}

func (blindReader) PrunedHeader(context.Context, common.Hash) (*types.Header, error) {
	return nil, errBlind
}

// preMergeEra writes an era1 file of n linked, empty proof-of-work blocks
// at the start of epoch and returns their headers and the file's path.
func preMergeEra(t *testing.T, dir string, epoch, n int) ([]*types.Header, string) {
	t.Helper()
	body, _ := rlp.EncodeToBytes(&types.Body{})
	receipts, _ := rlp.EncodeToBytes(types.Receipts{})
	var hs []*types.Header
	var blocks []historytest.EraBlock
	parent, td := common.Hash{0x01}, big.NewInt(0)
	for i := range n {
		h := &types.Header{ParentHash: parent, UncleHash: types.EmptyUncleHash, TxHash: types.EmptyTxsHash,
			ReceiptHash: types.EmptyReceiptsHash, Number: big.NewInt(int64(epoch*historytest.EraEpochBlocks + i)),
			Difficulty: big.NewInt(131072), GasLimit: 5000, Time: uint64(1_438_300_000 + i)}
		raw, _ := rlp.EncodeToBytes(h)
		td = new(big.Int).Add(td, h.Difficulty)
		blocks = append(blocks, historytest.EraBlock{Header: raw, Body: body, Receipts: receipts, Hash: h.Hash(), TD: td})
		hs, parent = append(hs, h), h.Hash()
	}
	path, err := historytest.WriteEra1(dir, "mainnet", epoch, blocks)
	if err != nil {
		t.Fatal(err)
	}
	return hs, path
}

// Blocks imported from a published era1 file, far below what the verified
// reader reaches, are read by number: trustedCanonical finds the store's
// canonical record (at most the finalized block) and the block is served
// from the store. Before the import the same read is refused.
func TestImportedPreMergeBlocksServedByNumber(t *testing.T) {
	dir := t.TempDir()
	hs, path := preMergeEra(t, dir, 100, 16)
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	s, err := history.Open(t.TempDir(), history.Options{MaxBytes: 16 << 20})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	tip := block.Tip{Known: true, Latest: block.Block{Number: 20_000_000}, Finalized: block.Block{Number: 19_999_900}}
	a := &Archive{store: s, reader: blindReader{}, tip: func() block.Tip { return tip }, walk: 128,
		render: ethjson.New(params.MainnetChainConfig), eraSums: history.EraChecksums{filepath.Base(path): sha256.Sum256(raw)}}
	ctx := context.Background()
	target := hs[9]
	param := json.RawMessage(fmt.Sprintf(`"%#x"`, target.Number.Uint64()))
	if _, _, err := a.historyBlock(ctx, param, true); err == nil {
		t.Fatal("a block beyond the trusted path served before any import")
	}

	st, err := a.ImportEra(ctx, dir)
	if err != nil || st.Anchored != 1 || st.Blocks != len(hs) {
		t.Fatalf("import: %+v, %v", st, err)
	}
	for _, h := range hs {
		got, err := a.trustedCanonical(ctx, h.Number.Uint64())
		if err != nil || got != h.Hash() {
			t.Fatalf("block %d: %s, %v; want %s", h.Number, got, err, h.Hash())
		}
	}
	b, src, err := a.historyBlock(ctx, param, true)
	if err != nil || b.Hash() != target.Hash() || b.Number() != target.Number.Uint64() || src != sourceStore {
		t.Fatalf("read by number after the import: %v from %q, %v", b, src, err)
	}
}
