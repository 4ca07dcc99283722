package devnet

import (
	"math/big"
	"slices"
	"testing"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/params"
)

// TestCommitAllMinesPastAFullBlock sends more transactions than one block
// holds (each burns all its 16M gas, of the block's 60M, on memory):
// CommitAll must seal until every one is mined, not return with some left
// pending.
func TestCommitAllMinesPastAFullBlock(t *testing.T) {
	d := newTestDevnet(t, 0)
	ctx := t.Context()
	key := d.UserPrivateKey()
	from := d.UserAccount().Address
	start, err := d.eth.NonceAt(ctx, from, nil)
	if err != nil {
		t.Fatal(err)
	}
	startBlock, err := d.eth.BlockNumber(ctx)
	if err != nil {
		t.Fatal(err)
	}
	head, err := d.eth.HeaderByNumber(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	const count = 5
	burn := common.FromHex("0x630100000051") // MLOAD at 16 MiB: out of gas at once
	tip := big.NewInt(params.GWei)
	var txs []*types.Transaction
	for i := range uint64(count) {
		txs = append(txs, types.MustSignNewTx(key, d.signer, &types.DynamicFeeTx{
			ChainID: new(big.Int).SetUint64(d.chainID), Nonce: start + i, GasTipCap: tip,
			GasFeeCap: new(big.Int).Add(new(big.Int).Mul(head.BaseFee, big.NewInt(2)), tip),
			Gas:       16_000_000, Data: burn}))
	}
	// Lowest nonce last, as the package's callers do (see CommitAll).
	for _, tx := range slices.Backward(txs) {
		if err := d.eth.SendTransaction(ctx, tx); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := d.CommitAll(ctx, key, start+count); err != nil {
		t.Fatalf("CommitAll: %v", err)
	}
	if mined, err := d.eth.NonceAt(ctx, from, nil); err != nil || mined != start+count {
		t.Fatalf("mined nonce %d (%v), want %d", mined, err, start+count)
	}
	for _, tx := range txs {
		r, err := d.eth.TransactionReceipt(ctx, tx.Hash())
		if err != nil || r.GasUsed != tx.Gas() {
			t.Fatalf("transaction %d: receipt %v, %v", tx.Nonce(), r, err)
		}
	}
	// The test means something only if one block could not hold them all.
	if end, err := d.eth.BlockNumber(ctx); err != nil || end < startBlock+2 {
		t.Fatalf("head %d (%v) after %d: the transactions fit one block", end, err, startBlock)
	}
}
