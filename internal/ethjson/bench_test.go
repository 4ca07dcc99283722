package ethjson

import (
	"math/big"
	"testing"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/params"
	"github.com/ethereum/go-ethereum/trie"
)

// Benchmarks of rendering (docs/benchmarks.md, "History store"):
//
//	go test -run '^$' -bench . -benchmem ./internal/ethjson/
//
// "devnet" is the devnet block with the most transactions; "mainnet" a
// synthetic busy block of 150 dynamic-fee transactions, two logs each.

func benchInputs(b *testing.B) map[string]func() *Block {
	c := testChain(b)
	r := New(c.Config)
	busiest := c.Blocks[0]
	for _, hb := range c.Blocks {
		if len(hb.Body.Transactions) > len(busiest.Body.Transactions) {
			busiest = hb
		}
	}
	mh, mbody, mreceipts := mainnetLike(b, 150)
	// NewBlock derives into the receipts: each call gets copies.
	newBlock := func(h *types.Header, body *types.Body, receipts types.Receipts) func() *Block {
		return func() *Block {
			rs := make(types.Receipts, len(receipts))
			for i, rc := range receipts {
				cp := *rc
				rs[i] = &cp
			}
			blk, err := r.NewBlock(h, body, rs)
			if err != nil {
				b.Fatal(err)
			}
			return blk
		}
	}
	return map[string]func() *Block{
		"devnet":  newBlock(busiest.Header, busiest.Body, busiest.Receipts),
		"mainnet": newBlock(mh, mbody, mreceipts),
	}
}

func mainnetLike(b *testing.B, n int) (*types.Header, *types.Body, types.Receipts) {
	key, _ := crypto.GenerateKey()
	signer := types.LatestSignerForChainID(params.AllDevChainProtocolChanges.ChainID)
	body := &types.Body{Withdrawals: []*types.Withdrawal{}}
	var receipts types.Receipts
	for i := range n {
		to := common.Address{byte(i)}
		tx, err := types.SignNewTx(key, signer, &types.DynamicFeeTx{ChainID: params.AllDevChainProtocolChanges.ChainID,
			Nonce: uint64(i), GasTipCap: big.NewInt(1), GasFeeCap: big.NewInt(params.GWei), Gas: 60000, To: &to,
			Data: make([]byte, 250)})
		if err != nil {
			b.Fatal(err)
		}
		body.Transactions = append(body.Transactions, tx)
		r := &types.Receipt{Type: tx.Type(), Status: 1, CumulativeGasUsed: uint64(i+1) * 50000}
		for j := range 2 {
			r.Logs = append(r.Logs, &types.Log{Address: to, Topics: []common.Hash{{byte(j)}, {byte(i)}, {1}}, Data: make([]byte, 32)})
		}
		r.Bloom = types.CreateBloom(r)
		receipts = append(receipts, r)
	}
	excess := uint64(0)
	h := &types.Header{Number: big.NewInt(1000), Difficulty: new(big.Int), GasLimit: 36_000_000, GasUsed: uint64(n) * 50000,
		Time: 1_700_000_000, BaseFee: big.NewInt(params.GWei / 2), ExcessBlobGas: &excess, BlobGasUsed: &excess}
	blk := types.NewBlock(h, body, receipts, trie.NewStackTrie(nil))
	return blk.Header(), blk.Body(), receipts
}

// BenchmarkNewBlock prepares a block: senders recovered, receipts derived.
func BenchmarkNewBlock(b *testing.B) {
	for name, make := range benchInputs(b) {
		b.Run(name, func(b *testing.B) {
			for range b.N {
				make()
			}
		})
	}
}

// BenchmarkRenderBlockFull renders eth_getBlockByHash with full
// transactions from a prepared block.
func BenchmarkRenderBlockFull(b *testing.B) {
	for name, make := range benchInputs(b) {
		blk := make()
		r := New(testChain(b).Config)
		b.Run(name, func(b *testing.B) {
			for range b.N {
				if _, err := r.Block(blk, true); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkRenderBlockReceipts renders eth_getBlockReceipts from a prepared
// block.
func BenchmarkRenderBlockReceipts(b *testing.B) {
	for name, make := range benchInputs(b) {
		blk := make()
		r := New(testChain(b).Config)
		b.Run(name, func(b *testing.B) {
			for range b.N {
				if _, err := r.BlockReceipts(blk); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
