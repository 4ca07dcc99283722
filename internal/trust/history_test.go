package trust

import (
	"context"
	"errors"
	"testing"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/ethclient"
	"github.com/ethereum/go-ethereum/trie"

	"github.com/braidrpc/braid/internal/devnet"
	"github.com/braidrpc/braid/internal/verify"
)

// What the history stage needs of the reader: the header of a block whose
// body every honest operator pruned (eth_getHeaderByHash, which pruning
// nodes keep), and a block's whole verified body and receipts while one
// serves them; a liar (p1) is reported and an honest operator answers.
func TestHistoryPrimitives(t *testing.T) {
	r, dn, l := devnetReader(t)
	ctx := context.Background()
	ec := ethclient.NewClient(dn.RPC())
	tip := r.root.Trusted().Latest
	want, err := ec.BlockByHash(ctx, tip.Hash)
	if err != nil {
		t.Fatal(err)
	}
	h := want.Header()
	body, err := r.Body(ctx, h)
	if err != nil {
		t.Fatal(err)
	}
	if err := verify.CheckBody(h, body); err != nil || len(body.Transactions) != len(want.Transactions()) || body.Withdrawals == nil {
		t.Fatalf("body: %d txs (chain %d), withdrawals %v, %v", len(body.Transactions), len(want.Transactions()), body.Withdrawals, err)
	}
	rs, err := r.BlockReceipts(ctx, h)
	if err != nil || len(rs) != len(body.Transactions) {
		t.Fatalf("receipts: %d, %v", len(rs), err)
	}
	if got := types.DeriveSha(rs, trie.NewStackTrie(nil)); got != h.ReceiptHash {
		t.Fatalf("receipts root %s, header %s", got, h.ReceiptHash)
	}
	l.mu.Lock()
	lied := len(l.ops)
	l.mu.Unlock()
	if lied == 0 {
		t.Error("the lying operator was not reported")
	}

	// Every operator prunes the block: eth_getBlockByHash is 4444, the
	// header is still proven.
	for _, p := range dn.Providers() {
		p.SetFaults(devnet.Faults{PruneBelow: tip.Number + 1})
	}
	r.headers = verify.NewHeaders(64) // forget the cached header
	if _, err := r.Body(ctx, h); err == nil {
		t.Fatal("a pruned body was served")
	}
	got, err := r.PrunedHeader(ctx, tip.Hash)
	if err != nil || got.Hash() != tip.Hash {
		t.Fatalf("PrunedHeader: %v, %v", got, err)
	}
	if _, err := r.PrunedHeader(ctx, common.Hash{1}); !errors.Is(err, ErrNotFound) {
		t.Fatalf("unknown hash: %v, want ErrNotFound", err)
	}
	f, err := r.LogFilter([]byte(`{"fromBlock":"0x0","toBlock":"latest"}`))
	if err != nil || f.FromBlock != 0 || f.ToBlock != tip.Number || r.MaxLogRange() != 16 {
		t.Fatalf("LogFilter: %+v, %v (max range %d)", f, err, r.MaxLogRange())
	}
}
