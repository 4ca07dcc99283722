package devnet

import (
	"encoding/json"
	"testing"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/crypto"
)

// blockAt reads block n from the chain itself.
func blockAt(t *testing.T, d *Devnet, n uint64) (hash common.Hash, txs []common.Hash) {
	t.Helper()
	var b struct {
		Hash         common.Hash   `json:"hash"`
		Transactions []common.Hash `json:"transactions"`
	}
	if err := json.Unmarshal(mustHonest(t, d, "eth_getBlockByNumber", hexutil.Uint64(n), false), &b); err != nil {
		t.Fatal(err)
	}
	return b.Hash, b.Transactions
}

func TestFaultLag(t *testing.T) {
	d := newTestDevnet(t, 6)
	p := d.Providers()[0]
	const lag = 3
	head := headNumber(t, d)
	view := head - lag
	p.SetFaults(Faults{LagBlocks: lag})
	headHash, headTxs := blockAt(t, d, head)
	viewHash, viewTxs := blockAt(t, d, view)
	V, H := hexutil.Uint64(view), hexutil.Uint64(head)

	t.Run("blockNumber", func(t *testing.T) {
		if got := decodeQuantity(t, mustCall(t, p, "eth_blockNumber")).Uint64(); got != view {
			t.Errorf("eth_blockNumber = %d, want %d (head %d)", got, view, head)
		}
	})
	t.Run("tags pinned to the visible head", func(t *testing.T) {
		r := Recipients[0]
		for _, tag := range []string{"latest", "pending", "safe"} {
			got := mustCall(t, p, "eth_getBalance", r, tag)
			if want := mustHonest(t, d, "eth_getBalance", r, V); string(got) != string(want) {
				t.Errorf("getBalance(%s) = %s, want the balance at %d: %s", tag, got, view, want)
			}
		}
		if now := mustHonest(t, d, "eth_getBalance", r, "latest"); string(now) == string(mustCall(t, p, "eth_getBalance", r, "latest")) {
			t.Errorf("lagging balance equals the head's (%s): the test chain does not show lag", now)
		}
		// A missing optional block parameter is "latest" too.
		got := mustCall(t, p, "eth_call", balanceOfCall(d, Recipients[2]))
		if want := mustHonest(t, d, "eth_call", balanceOfCall(d, Recipients[2]), V); string(got) != string(want) {
			t.Errorf("eth_call without block = %s, want %s", got, want)
		}
		var b struct{ Number hexutil.Uint64 }
		if err := json.Unmarshal(mustCall(t, p, "eth_getBlockByNumber", "latest", false), &b); err != nil || b.Number != V {
			t.Errorf("latest block number %d (%v), want %d", b.Number, err, view)
		}
		if err := json.Unmarshal(mustCall(t, p, "eth_getBlockByNumber", "finalized", false), &b); err != nil || b.Number > V {
			t.Errorf("finalized block number %d (%v), want at most %d", b.Number, err, view)
		}
		var fh struct{ OldestBlock hexutil.Uint64 }
		if err := json.Unmarshal(mustCall(t, p, "eth_feeHistory", "0x1", "latest", []float64{}), &fh); err != nil || fh.OldestBlock != V {
			t.Errorf("feeHistory oldest block %d (%v), want %d", fh.OldestBlock, err, view)
		}
	})
	t.Run("blocks above the view are unknown", func(t *testing.T) {
		for _, c := range []struct {
			method string
			params []any
		}{
			{"eth_getBlockByNumber", []any{H, false}},
			{"eth_getBlockByHash", []any{headHash, false}},
			{"eth_getBlockTransactionCountByNumber", []any{H}},
			{"eth_getBlockTransactionCountByHash", []any{headHash}},
			{"eth_getTransactionByBlockNumberAndIndex", []any{H, "0x0"}},
			{"eth_getTransactionByHash", []any{headTxs[0]}},
			{"eth_getTransactionReceipt", []any{headTxs[0]}},
		} {
			if got := mustCall(t, p, c.method, c.params...); string(got) != "null" {
				t.Errorf("%s above the view = %.80s, want null", c.method, got)
			}
		}
		for _, c := range []struct {
			method string
			params []any
		}{
			{"eth_getBalance", []any{Recipients[0], H}},
			{"eth_getBalance", []any{Recipients[0], headHash}},
			{"eth_getBalance", []any{Recipients[0], map[string]any{"blockHash": headHash}}},
			{"eth_getCode", []any{d.Token(), map[string]any{"blockNumber": H}}},
			{"eth_call", []any{balanceOfCall(d, Recipients[0]), H}},
			{"eth_getProof", []any{d.Token(), []string{}, H}},
			{"eth_getBlockReceipts", []any{H}},
		} {
			_, e := call(t, p, c.method, c.params...)
			if e == nil || e.Code != -32000 || e.Message != "header not found" {
				t.Errorf("%s%v above the view: error %v, want -32000 header not found", c.method, c.params[1:], e)
			}
		}
		if _, e := call(t, p, "eth_feeHistory", "0x1", H, []float64{}); e == nil || e.Code != -32000 {
			t.Errorf("feeHistory above the view: error %v, want -32000", e)
		}
	})
	t.Run("blocks at the view are known", func(t *testing.T) {
		for _, c := range []struct {
			method string
			params []any
		}{
			{"eth_getBlockByHash", []any{viewHash, false}},
			{"eth_getBlockByNumber", []any{V, false}},
			{"eth_getTransactionByHash", []any{viewTxs[0]}},
			{"eth_getTransactionReceipt", []any{viewTxs[0]}},
			{"eth_getBalance", []any{Recipients[0], viewHash}},
		} {
			got := mustCall(t, p, c.method, c.params...)
			if want := mustHonest(t, d, c.method, c.params...); string(got) != string(want) {
				t.Errorf("%s at the view = %.80s, want %.80s", c.method, got, want)
			}
		}
	})
	t.Run("getLogs clamped", func(t *testing.T) {
		want := mustHonest(t, d, "eth_getLogs", map[string]any{"fromBlock": "0x0", "toBlock": V, "address": d.Token()})
		for _, f := range []map[string]any{
			{"fromBlock": "0x0", "address": d.Token()},
			{"fromBlock": "0x0", "toBlock": "latest", "address": d.Token()},
			{"fromBlock": "earliest", "toBlock": H, "address": d.Token()},
		} {
			got := mustCall(t, p, "eth_getLogs", f)
			if string(got) != string(want) {
				t.Errorf("getLogs(%v) = %.100s…, want the logs up to %d", f, got, view)
			}
		}
		if got := mustCall(t, p, "eth_getLogs", map[string]any{"fromBlock": H}); string(got) != "[]" {
			t.Errorf("getLogs from above the view = %.100s, want []", got)
		}
		_, e := call(t, p, "eth_getLogs", map[string]any{"blockHash": headHash})
		if e == nil || e.Code != -32000 || e.Message != "unknown block" {
			t.Errorf("getLogs by a block hash above the view: error %v, want -32000 unknown block", e)
		}
		got := mustCall(t, p, "eth_getLogs", map[string]any{"blockHash": viewHash})
		if want := mustHonest(t, d, "eth_getLogs", map[string]any{"blockHash": viewHash}); string(got) != string(want) {
			t.Errorf("getLogs at the view = %s, want %s", got, want)
		}
	})
	t.Run("lag beyond genesis", func(t *testing.T) {
		p.SetFaults(Faults{LagBlocks: 1000})
		if got := mustCall(t, p, "eth_blockNumber"); string(got) != `"0x0"` {
			t.Errorf("eth_blockNumber = %s, want \"0x0\"", got)
		}
		stream := crypto.PubkeyToAddress(d.stream.PublicKey)
		got := mustCall(t, p, "eth_getTransactionCount", stream, "latest")
		if string(got) != `"0x0"` {
			t.Errorf("nonce at genesis = %s, want \"0x0\"", got)
		}
	})
	t.Run("clear", func(t *testing.T) {
		p.SetFaults(Faults{})
		if got := decodeQuantity(t, mustCall(t, p, "eth_blockNumber")).Uint64(); got != head {
			t.Errorf("eth_blockNumber = %d, want %d", got, head)
		}
	})
}
