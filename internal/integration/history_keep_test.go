package integration

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common/hexutil"

	"github.com/braidrpc/braid/internal/await"
	"github.com/braidrpc/braid/internal/config"
	"github.com/braidrpc/braid/internal/devnet"
	"github.com/braidrpc/braid/internal/history/historytest"
)

// TestHistoryKeepsWhatStrictVerified: a gateway in strict mode with a
// history store that keeps nothing on its own (keep: none, no peers) keeps
// the block a client's strict read verified — its body and receipts, with
// no upstream call beyond the read's own — and once every provider pruned
// that block, a later read of it in other forms is answered from the store
// (Braid-Source: store) exactly as the unpruned chain answers it. The
// gateway is restarted on its store before the later reads, so they cannot
// come from the verified reader's memory (which would answer them too).
func TestHistoryKeepsWhatStrictVerified(t *testing.T) {
	ctx := context.Background()
	chain, err := historytest.New(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { chain.Devnet.Close() })
	dn := chain.Devnet
	head := chain.Head().Number()
	dir := t.TempDir()
	strict := func(c *config.Config) {
		c.Networks[0].Verify.Mode = config.VerifyStrict
		c.Cache.Backend = config.CacheOff
	}
	g := newHistoryGateway(t, dn, dir, "none", nil, strict)
	var b *historytest.Block
	for _, blk := range chain.Blocks[1 : len(chain.Blocks)-1] {
		if len(blk.Body.Transactions) > 0 {
			b = blk
			break
		}
	}
	if b == nil {
		t.Fatal("the devnet has no old block with transactions")
	}
	num := hexutil.Uint64(b.Number())
	calls := [][]any{{"eth_getBlockReceipts", num}, {"eth_getBlockByNumber", num, true}, {"eth_getBlockByNumber", num, false},
		{"eth_getTransactionByBlockNumberAndIndex", num, hexutil.Uint64(0)}}
	want := map[string]json.RawMessage{}
	for _, c := range calls {
		var raw json.RawMessage
		if err := dn.RPC().CallContext(ctx, &raw, c[0].(string), c[1:]...); err != nil {
			t.Fatalf("%v: %v", c, err)
		}
		want[fmt.Sprint(c)] = raw
	}

	// The client's strict read, by hash: verified from the providers.
	got := postHistory(t, g.url, "eth_getBlockReceipts", b.Hash())
	if got.Error != nil || !sameJSON(got.Result, want[fmt.Sprint(calls[0])]) {
		t.Fatalf("strict eth_getBlockReceipts: %s (error %+v)", got.Result, got.Error)
	}
	await.Within(t, 30*time.Second, "the verified block in the store", func() bool {
		st := g.gw.Status().Networks[0].History.Store
		return st.Bodies >= 1 && st.Receipts >= 1
	})

	g.gw.Close()
	for _, p := range dn.Providers() {
		p.SetFaults(devnet.Faults{PruneBelow: head})
	}
	g = newHistoryGateway(t, dn, dir, "none", nil, strict)
	for _, c := range calls {
		got := postHistory(t, g.url, c[0].(string), c[1:]...)
		if got.Error != nil || !sameJSON(got.Result, want[fmt.Sprint(c)]) {
			t.Fatalf("%v after pruning = %s (error %+v, source %q), want %s", c, got.Result, got.Error, got.Source, want[fmt.Sprint(c)])
		}
		if got.Source != "store" {
			t.Errorf("%v after pruning: Braid-Source %q, want store", c, got.Source)
		}
	}
	// A block no client read is not in the store: the providers' 4444.
	other := chain.Blocks[len(chain.Blocks)-2]
	if other.Hash() == b.Hash() {
		other = chain.Blocks[1]
	}
	if got := postHistory(t, g.url, "eth_getBlockReceipts", hexutil.Uint64(other.Number())); got.Error == nil || got.Error.Code != 4444 {
		t.Errorf("a block never read: %s (error %+v, source %q), want the providers' 4444", got.Result, got.Error, got.Source)
	}
}
