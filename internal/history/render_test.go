package history

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/ethereum/go-ethereum/common/hexutil"

	"github.com/braidrpc/braid/internal/ethjson"
	"github.com/braidrpc/braid/internal/verify"
)

// TestStoredBlocksRenderAsGethAnswers closes the loop: every devnet block
// stored from canonical RLP, read back and rendered equals geth's own
// answer byte for byte, found by hash, by number through the canonical
// index and by transaction hash through the lookup index.
func TestStoredBlocksRenderAsGethAnswers(t *testing.T) {
	c := testChain(t)
	s, _, _ := openStore(t, Options{MaxBytes: 64 << 20})
	for _, b := range c.Blocks {
		if err := s.PutHeader(b.Header); err != nil {
			t.Fatal(err)
		}
		if err := s.PutBodyRLP(b.Hash(), b.BodyRLP); err != nil {
			t.Fatal(err)
		}
		if err := s.PutReceiptsRLP(b.Hash(), b.StorageRLP, verify.ReceiptsStorage); err != nil {
			t.Fatal(err)
		}
		if err := s.SetCanonical(b.Number(), b.Hash(), Proven); err != nil {
			t.Fatal(err)
		}
	}
	r := ethjson.New(c.Config)
	ask := func(method string, args ...any) json.RawMessage {
		var raw json.RawMessage
		if err := c.Devnet.RPC().CallContext(t.Context(), &raw, method, args...); err != nil {
			t.Fatal(err)
		}
		return raw
	}
	check := func(what string, got json.RawMessage, err error, want json.RawMessage) {
		t.Helper()
		if err != nil || !bytes.Equal(got, want) {
			t.Fatalf("%s: %v\n got %s\nwant %s", what, err, got, want)
		}
	}
	for _, hb := range c.Blocks {
		hash, _, ok := s.Canonical(hb.Number(), Agreed)
		if !ok {
			t.Fatalf("no canonical hash for %d", hb.Number())
		}
		stored, ok := s.Block(hash)
		if !ok {
			t.Fatalf("block %d not stored", hb.Number())
		}
		b, err := r.NewBlock(stored.Header, stored.Body, stored.Receipts)
		if err != nil {
			t.Fatal(err)
		}
		got, err := r.Block(b, true)
		check("eth_getBlockByNumber", got, err, ask("eth_getBlockByNumber", hexutil.EncodeUint64(hb.Number()), true))
		got, err = r.BlockReceipts(b)
		check("eth_getBlockReceipts", got, err, ask("eth_getBlockReceipts", hash))
		for _, tx := range hb.Body.Transactions {
			_, loc, ok := s.TxLookup(tx.Hash())
			if !ok || loc.BlockHash != hash {
				t.Fatalf("tx %s not found", tx.Hash())
			}
			got, err = r.Transaction(b, tx.Hash())
			check("eth_getTransactionByHash", got, err, ask("eth_getTransactionByHash", tx.Hash()))
			got, err = r.Receipt(b, tx.Hash())
			check("eth_getTransactionReceipt", got, err, ask("eth_getTransactionReceipt", tx.Hash()))
		}
	}
}
