package historytest

import (
	"testing"

	"github.com/ethereum/go-ethereum/core/types"
)

// TestChainHoldsEveryKind checks that the chain has what its users rely on:
// every transaction type, a contract creation, a reverted call, logs and an
// empty block, each read back intact.
func TestChainHoldsEveryKind(t *testing.T) {
	c, err := New(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Devnet.Close()
	seen := map[uint8]bool{}
	var logs, empty, failed, created int
	for n, b := range c.Blocks {
		if b.Number() != uint64(n) {
			t.Fatalf("block %d at position %d", b.Number(), n)
		}
		if len(b.Body.Transactions) != len(b.Receipts) {
			t.Fatalf("block %d: %d transactions, %d receipts", b.Number(), len(b.Body.Transactions), len(b.Receipts))
		}
		if len(b.Body.Transactions) == 0 && b.Number() > 0 {
			empty++
		}
		for i, tx := range b.Body.Transactions {
			seen[tx.Type()] = true
			if tx.To() == nil {
				created++
			}
			if b.Receipts[i].Status == types.ReceiptStatusFailed {
				failed++
			}
			logs += len(b.Receipts[i].Logs)
		}
	}
	for _, ty := range []uint8{types.LegacyTxType, types.AccessListTxType, types.DynamicFeeTxType, types.BlobTxType, types.SetCodeTxType} {
		if !seen[ty] {
			t.Errorf("no transaction of type %d", ty)
		}
	}
	if logs == 0 || empty == 0 || failed == 0 || created < 2 {
		t.Errorf("logs %d, empty blocks %d, failed %d, creations %d", logs, empty, failed, created)
	}
	for _, name := range []string{"legacy", "accessList", "create", "reverted", "blob", "setCode"} {
		if _, ok := c.Special[name]; !ok {
			t.Errorf("no %s transaction", name)
		}
	}
}
