package integration

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/ethclient"

	"github.com/braidrpc/braid/internal/await"
	"github.com/braidrpc/braid/internal/gateway"
)

// TestCacheAcrossReorg: answers about the tip are cached, and a reorg
// retires every one of them at once (no stale block, balance or receipt is
// served after it), while answers that cannot change (a block by hash, a
// finalized block) are still served from the cache.
func TestCacheAcrossReorg(t *testing.T) {
	s := newStack(t, 3)
	ctx := context.Background()
	var blocks []common.Hash
	for range 3 {
		h, err := s.dn.Step(ctx)
		if err != nil {
			t.Fatal(err)
		}
		blocks = append(blocks, h)
	}
	waitServed(t, s.url, blocks[2])
	chain := ethclient.NewClient(s.dn.RPC())
	head, err := chain.BlockByHash(ctx, blocks[2])
	if err != nil {
		t.Fatal(err)
	}
	if len(head.Transactions()) == 0 {
		t.Fatal("the head block has no transactions")
	}
	tx := head.Transactions()[0].Hash()
	user := s.dn.Info().Account.Address
	headNum := hexutil.EncodeUint64(head.NumberU64())

	// cachedTwice reads a call twice: the second answer must come from the
	// cache and equal the first.
	cachedTwice := func(method string, params ...any) json.RawMessage {
		t.Helper()
		first, _ := postCall(t, s.url, method, params...)
		second, hdr := postCall(t, s.url, method, params...)
		if hdr != "hit" {
			t.Fatalf("%s %v read twice: Braid-Cache %q, want hit", method, params, hdr)
		}
		if !bytes.Equal(first, second) {
			t.Fatalf("%s: the cached answer differs:\n%s\n%s", method, first, second)
		}
		return first
	}
	blockHash := func(raw json.RawMessage) common.Hash {
		t.Helper()
		var b struct {
			Hash      common.Hash `json:"hash"`
			BlockHash common.Hash `json:"blockHash"`
		}
		if err := json.Unmarshal(raw, &b); err != nil {
			t.Fatalf("%s: %v", raw, err)
		}
		if b.Hash == (common.Hash{}) {
			return b.BlockHash
		}
		return b.Hash
	}

	if h := blockHash(cachedTwice("eth_getBlockByNumber", "latest", false)); h != blocks[2] {
		t.Fatalf("latest block %s, want %s", h, blocks[2])
	}
	cachedTwice("eth_getBlockByNumber", headNum, false)
	balanceBefore := cachedTwice("eth_getBalance", user, "latest")
	if h := blockHash(cachedTwice("eth_getTransactionReceipt", tx)); h != blocks[2] {
		t.Fatalf("receipt in block %s, want %s", h, blocks[2])
	}
	oldBlock := cachedTwice("eth_getBlockByHash", blocks[0], true)
	genesis := cachedTwice("eth_getBlockByNumber", "0x0", false) // finalized

	dropped, added, err := s.dn.Reorg(ctx, 2, 3)
	if err != nil {
		t.Fatal(err)
	}
	if dropped[1] != blocks[2] {
		t.Fatalf("the reorg dropped %v, want the head among them", dropped)
	}
	waitServed(t, s.url, added[len(added)-1])

	if res, _ := postCall(t, s.url, "eth_getBlockByNumber", "latest", false); blockHash(res) != added[len(added)-1] {
		t.Fatalf("latest block after the reorg %s, want the new head %s", blockHash(res), added[len(added)-1])
	}
	if res, _ := postCall(t, s.url, "eth_getBlockByNumber", headNum, false); blockHash(res) != added[1] {
		t.Fatalf("block %s after the reorg is %s, want the new branch's %s (the dropped one was %s)",
			headNum, blockHash(res), added[1], blocks[2])
	}
	var wantBalance json.RawMessage
	if err := s.dn.RPC().CallContext(ctx, &wantBalance, "eth_getBalance", user, "latest"); err != nil {
		t.Fatal(err)
	}
	if res, _ := postCall(t, s.url, "eth_getBalance", user, "latest"); !bytes.Equal(res, wantBalance) {
		t.Fatalf("balance after the reorg %s, want the chain's %s (before: %s)", res, wantBalance, balanceBefore)
	}
	receipt, err := chain.TransactionReceipt(ctx, tx)
	if err != nil {
		t.Fatalf("the dropped transaction was not re-mined: %v", err)
	}
	if res, _ := postCall(t, s.url, "eth_getTransactionReceipt", tx); blockHash(res) != receipt.BlockHash {
		t.Fatalf("receipt after the reorg in block %s, want %s (the dropped block was %s)", blockHash(res), receipt.BlockHash, blocks[2])
	}

	// What cannot change is still served from the cache.
	for _, c := range []struct {
		method string
		params []any
		want   json.RawMessage
	}{
		{"eth_getBlockByHash", []any{blocks[0], true}, oldBlock},
		{"eth_getBlockByNumber", []any{"0x0", false}, genesis},
	} {
		res, hdr := postCall(t, s.url, c.method, c.params...)
		if hdr != "hit" || !bytes.Equal(res, c.want) {
			t.Fatalf("%s %v after the reorg: Braid-Cache %q, same answer %v", c.method, c.params, hdr, bytes.Equal(res, c.want))
		}
	}
}

// waitServed waits (bounded) until braid's served tip is block want: only
// then are answers about the tip cacheable (before, eth_blockNumber is
// forwarded and may already show the block).
func waitServed(t *testing.T, url string, want common.Hash) {
	t.Helper()
	await.Within(t, 10*time.Second, "braid serves block "+want.Hex()+" as its tip", func() bool {
		resp, err := http.Get(url + "/status")
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		var st gateway.Status
		return json.NewDecoder(resp.Body).Decode(&st) == nil && st.Networks[0].Tip.Known && st.Networks[0].Tip.Latest.Hash == want
	})
}
