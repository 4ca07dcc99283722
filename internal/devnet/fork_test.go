package devnet

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/core/types"
)

// blockTxs reads a block by hash from the chain: its number and
// transactions, or ok false if the chain does not know it.
func blockTxs(t *testing.T, d *Devnet, hash common.Hash) (n uint64, txs []common.Hash, ok bool) {
	t.Helper()
	raw := mustHonest(t, d, "eth_getBlockByHash", hash, false)
	if isNull(raw) {
		return 0, nil, false
	}
	var b struct {
		Number       hexutil.Uint64 `json:"number"`
		Transactions []common.Hash  `json:"transactions"`
	}
	if err := json.Unmarshal(raw, &b); err != nil {
		t.Fatal(err)
	}
	return uint64(b.Number), b.Transactions, true
}

func TestReorg(t *testing.T) {
	d := newTestDevnet(t, 4)
	p := d.Providers()[0]
	top := headNumber(t, d)
	_, oldTxs := blockAt(t, d, top)

	dropped, added, err := d.Reorg(t.Context(), 2, 3)
	if err != nil {
		t.Fatalf("Reorg: %v", err)
	}
	if len(dropped) != 2 || len(added) != 3 {
		t.Fatalf("Reorg returned %d dropped and %d added blocks, want 2 and 3", len(dropped), len(added))
	}
	if h := headNumber(t, d); h != top+1 {
		t.Errorf("head is block %d, want %d", h, top+1)
	}
	if hash, _ := blockAt(t, d, top+1); hash != added[2] {
		t.Errorf("head is %s, want the new branch's last block %s", hash, added[2])
	}
	for i, old := range dropped {
		n := top - 1 + uint64(i)
		got, _ := blockAt(t, d, n)
		if got == old || got != added[i] {
			t.Errorf("canonical block %d is %s; dropped %s, new %s", n, got, old, added[i])
		}
		// The side branch is still known by hash, at the same height.
		if on, _, ok := blockTxs(t, d, old); !ok || on != n {
			t.Errorf("dropped block %s: known %v at %d, want %d", old, ok, on, n)
		}
	}
	for i, h := range added {
		n, txs, ok := blockTxs(t, d, h)
		if !ok || n != top-1+uint64(i) || len(txs) == 0 {
			t.Errorf("new block %s: known %v at %d with %d transactions", h, ok, n, len(txs))
		}
		var logs []types.Log
		res := mustCall(t, p, "eth_getLogs", map[string]any{"blockHash": h, "address": d.Token(), "topics": []any{transferTopic()}})
		if err := json.Unmarshal(res, &logs); err != nil || len(logs) == 0 {
			t.Errorf("new block %s has no token Transfer logs (%v)", h, err)
		}
	}
	// The dropped head's transactions were mined again on the new branch.
	for _, tx := range oldTxs {
		var rcpt types.Receipt
		if err := json.Unmarshal(mustCall(t, p, "eth_getTransactionReceipt", tx), &rcpt); err != nil {
			t.Fatalf("receipt of %s: %v", tx, err)
		}
		if rcpt.BlockHash != added[0] || rcpt.Status != types.ReceiptStatusSuccessful {
			t.Errorf("dropped tx %s: status %d in %s, want success in %s", tx, rcpt.Status, rcpt.BlockHash, added[0])
		}
	}
	// The stream carries on: Step still mines a full round.
	for range 2 {
		block, err := d.Step(t.Context())
		if err != nil {
			t.Fatalf("Step after Reorg: %v", err)
		}
		if _, txs, _ := blockTxs(t, d, block); len(txs) < 2 {
			t.Errorf("Step after Reorg mined %d transactions, want at least 2", len(txs))
		}
	}
}

func TestForkThenStep(t *testing.T) {
	d := newTestDevnet(t, 3)
	top := headNumber(t, d)
	parent, _ := blockAt(t, d, top-2)
	var dropped []common.Hash
	for n := top - 1; n <= top; n++ {
		_, txs := blockAt(t, d, n)
		dropped = append(dropped, txs...)
	}
	if err := d.Fork(t.Context(), parent); err != nil {
		t.Fatalf("Fork: %v", err)
	}
	if h, _ := blockAt(t, d, headNumber(t, d)); h != parent {
		t.Fatalf("after Fork the head is %s, want %s", h, parent)
	}
	block, err := d.Step(t.Context())
	if err != nil {
		t.Fatalf("Step after Fork: %v", err)
	}
	n, txs, _ := blockTxs(t, d, block)
	if n != top-1 || len(txs) < len(dropped)+2 {
		t.Errorf("Step after Fork mined block %d with %d transactions, want block %d with the %d dropped and a new round",
			n, len(txs), top-1, len(dropped))
	}
	if err := d.Fork(t.Context(), block); err != nil {
		t.Errorf("Fork at the head: %v", err)
	}
}

func TestForkAndReorgErrors(t *testing.T) {
	d := newTestDevnet(t, 2)
	top := headNumber(t, d)
	for _, tc := range []struct {
		depth, length int
		text          string
	}{
		{0, 2, "depth must be at least 1"},
		{2, 2, "must be greater than its depth"},
		{int(top), int(top) + 1, "less than the head's number"},
	} {
		if _, _, err := d.Reorg(t.Context(), tc.depth, tc.length); err == nil || !strings.Contains(err.Error(), tc.text) {
			t.Errorf("Reorg(%d, %d) = %v, want an error with %q", tc.depth, tc.length, err, tc.text)
		}
	}
	if h := headNumber(t, d); h != top {
		t.Fatalf("failed Reorgs moved the head from %d to %d", top, h)
	}

	if err := d.Fork(t.Context(), common.HexToHash("0x1234")); err == nil || !strings.Contains(err.Error(), "unknown block") {
		t.Errorf("Fork at an unknown block = %v", err)
	}
	dropped, _, err := d.Reorg(t.Context(), 1, 2)
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Fork(t.Context(), dropped[0]); err == nil || !strings.Contains(err.Error(), "not on the canonical chain") {
		t.Errorf("Fork at a dropped block = %v", err)
	}

	// A pending transaction blocks a fork until it is committed.
	parent, _ := blockAt(t, d, headNumber(t, d)-1)
	ec := d.eth
	if err := ec.SendTransaction(t.Context(), userTransfer(t, d, ec)); err != nil {
		t.Fatal(err)
	}
	if err := d.Fork(t.Context(), parent); err == nil || !strings.Contains(err.Error(), "pending") {
		t.Errorf("Fork with a pending transaction = %v", err)
	}
	d.Commit()
	if err := d.Fork(t.Context(), parent); err != nil {
		t.Errorf("Fork after committing: %v", err)
	}

	// The simulated beacon finalizes every 32nd block; a fork may not drop it.
	for headNumber(t, d) < 33 {
		d.Commit()
	}
	early, _ := blockAt(t, d, 31)
	if err := d.Fork(t.Context(), early); err == nil || !strings.Contains(err.Error(), "finalized") {
		t.Errorf("Fork below the finalized block = %v", err)
	}

	d.Close()
	if err := d.Fork(t.Context(), parent); !errors.Is(err, ErrClosed) {
		t.Errorf("Fork after Close = %v, want ErrClosed", err)
	}
	if _, _, err := d.Reorg(t.Context(), 1, 2); !errors.Is(err, ErrClosed) {
		t.Errorf("Reorg after Close = %v, want ErrClosed", err)
	}
}

func TestReorgSeenOverWebSocket(t *testing.T) {
	d := newTestDevnet(t, 3)
	c := dialWS(t, d.Providers()[1])
	heads := make(chan head)
	sub, err := c.EthSubscribe(t.Context(), heads, "newHeads")
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Unsubscribe()

	top := headNumber(t, d)
	forkPoint, _ := blockAt(t, d, top-2)
	_, added, err := d.Reorg(t.Context(), 2, 3)
	if err != nil {
		t.Fatal(err)
	}
	// geth announces the fork point as the new head, then each new block.
	for i, want := range append([]common.Hash{forkPoint}, added...) {
		if h := next(t, heads, sub.Err()); h.Hash != want || uint64(h.Number) != top-2+uint64(i) {
			t.Fatalf("notification %d: block %d %s, want %d %s", i, h.Number, h.Hash, top-2+uint64(i), want)
		}
	}
}
