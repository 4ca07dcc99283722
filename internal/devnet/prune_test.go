package devnet

import (
	"encoding/json"
	"fmt"
	"testing"

	"github.com/ethereum/go-ethereum/common/hexutil"
)

// TestFaultPrune checks that a pruning provider answers every history
// method for a block below its cutoff as go-ethereum v1.17 does after
// prune-history, and everything at or above it (and every header)
// honestly.
func TestFaultPrune(t *testing.T) {
	d := newTestDevnet(t, 6)
	p := d.Providers()[0]
	head := headNumber(t, d)
	cutoff := head - 2
	old, oldTxs := blockAt(t, d, cutoff-1)
	kept, keptTxs := blockAt(t, d, cutoff)
	if len(oldTxs) == 0 || len(keptTxs) == 0 {
		t.Fatalf("test chain has no transactions in blocks %d, %d", cutoff-1, cutoff)
	}
	O, K := hexutil.Uint64(cutoff-1), hexutil.Uint64(cutoff)
	p.SetFaults(Faults{PruneBelow: cutoff})

	pruned := []struct {
		method string
		params []any
	}{
		{"eth_getBlockByNumber", []any{O, false}},
		{"eth_getBlockByNumber", []any{O, true}},
		{"eth_getBlockByHash", []any{old, false}},
		{"eth_getBlockTransactionCountByNumber", []any{O}},
		{"eth_getBlockTransactionCountByHash", []any{old}},
		{"eth_getTransactionByBlockNumberAndIndex", []any{O, "0x0"}},
		{"eth_getTransactionByBlockHashAndIndex", []any{old, "0x0"}},
		{"eth_getUncleCountByBlockNumber", []any{O}},
		{"eth_getUncleCountByBlockHash", []any{old}},
		{"eth_getUncleByBlockNumberAndIndex", []any{O, "0x0"}},
		{"eth_getBlockReceipts", []any{O}},
		{"eth_getBlockReceipts", []any{old}},
		{"eth_getBlockReceipts", []any{map[string]any{"blockHash": old}}},
		{"debug_getRawReceipts", []any{O}},
		{"eth_getLogs", []any{map[string]any{"fromBlock": O, "toBlock": K}}},
		{"eth_getLogs", []any{map[string]any{"fromBlock": "0x0"}}},
		{"eth_getLogs", []any{map[string]any{"blockHash": old}}},
	}
	for _, c := range pruned {
		t.Run(fmt.Sprintf("%s%v pruned", c.method, c.params), func(t *testing.T) {
			_, e := call(t, p, c.method, c.params...)
			if e == nil || e.Code != 4444 || e.Message != "pruned history unavailable" {
				t.Errorf("got %v, want code 4444 pruned history unavailable", e)
			}
		})
	}
	nulls := []struct {
		method string
		params []any
		want   string
	}{
		{"eth_getTransactionByHash", []any{oldTxs[0]}, "null"},
		{"eth_getTransactionReceipt", []any{oldTxs[0]}, "null"},
		{"eth_getRawTransactionByHash", []any{oldTxs[0]}, "null"},
		{"eth_getRawTransactionByBlockNumberAndIndex", []any{O, "0x0"}, `"0x"`},
		{"eth_getRawTransactionByBlockHashAndIndex", []any{old, "0x0"}, `"0x"`},
		{"debug_getRawReceipts", []any{old}, "[]"},
	}
	for _, c := range nulls {
		if got := mustCall(t, p, c.method, c.params...); string(got) != c.want {
			t.Errorf("%s%v = %s, want %s", c.method, c.params, got, c.want)
		}
	}
	if _, e := call(t, p, "debug_getRawBlock", old); e == nil || e.Code != -32000 {
		t.Errorf("debug_getRawBlock by a pruned hash: %v, want geth's block not found", e)
	}
	honestly := []struct {
		method string
		params []any
	}{
		{"eth_getHeaderByNumber", []any{O}},
		{"eth_getHeaderByHash", []any{old}},
		{"debug_getRawHeader", []any{O}},
		{"eth_getBlockByNumber", []any{K, true}},
		{"eth_getBlockByHash", []any{kept, false}},
		{"eth_getBlockByNumber", []any{"latest", false}},
		{"eth_getBlockReceipts", []any{K}},
		{"eth_getTransactionByHash", []any{keptTxs[0]}},
		{"eth_getTransactionReceipt", []any{keptTxs[0]}},
		{"eth_getLogs", []any{map[string]any{"fromBlock": K}}},
		{"eth_getBalance", []any{Recipients[0], O}},
	}
	for _, c := range honestly {
		got := mustCall(t, p, c.method, c.params...)
		if want := mustHonest(t, d, c.method, c.params...); string(got) != string(want) {
			t.Errorf("%s%v = %s, want the chain's %s", c.method, c.params, got, want)
		}
	}
	// "earliest" is the cutoff block, for blocks and for log ranges.
	var b struct{ Number hexutil.Uint64 }
	if err := json.Unmarshal(mustCall(t, p, "eth_getBlockByNumber", "earliest", false), &b); err != nil || b.Number != K {
		t.Errorf("earliest block = %d (%v), want the cutoff %d", b.Number, err, cutoff)
	}
	got := mustCall(t, p, "eth_getLogs", map[string]any{"fromBlock": "earliest"})
	if want := mustHonest(t, d, "eth_getLogs", map[string]any{"fromBlock": K}); string(got) != string(want) {
		t.Errorf("logs from earliest = %s, want those from the cutoff %s", got, want)
	}
	// An unknown hash is still unknown, not pruned.
	if got := mustCall(t, p, "eth_getBlockByHash", "0x"+fmt.Sprintf("%064x", 1), false); string(got) != "null" {
		t.Errorf("unknown hash = %s, want null", got)
	}
}

// TestFaultPruneKeep checks the moving window: only the newest blocks keep
// their bodies, and the window follows the head (a lagging provider's own).
func TestFaultPruneKeep(t *testing.T) {
	d := newTestDevnet(t, 4)
	p := d.Providers()[0]
	head := headNumber(t, d)
	p.SetFaults(Faults{PruneKeep: 2})
	if _, e := call(t, p, "eth_getBlockByNumber", hexutil.Uint64(head-2), false); e == nil || e.Code != 4444 {
		t.Errorf("block head-2 = %v, want pruned", e)
	}
	mustCall(t, p, "eth_getBlockByNumber", hexutil.Uint64(head-1), false)
	if _, err := d.Step(t.Context()); err != nil {
		t.Fatal(err)
	}
	if _, e := call(t, p, "eth_getBlockByNumber", hexutil.Uint64(head-1), false); e == nil || e.Code != 4444 {
		t.Errorf("block head-1 after a new block = %v, want pruned", e)
	}
	p.SetFaults(Faults{PruneKeep: 2, LagBlocks: 1})
	mustCall(t, p, "eth_getBlockByNumber", hexutil.Uint64(head-1), false) // the lagging head is head
	if _, e := call(t, p, "eth_getBlockByNumber", hexutil.Uint64(head-2), false); e == nil || e.Code != 4444 {
		t.Errorf("block head-2 with lag = %v, want pruned", e)
	}
	p.SetFaults(Faults{})
	mustCall(t, p, "eth_getBlockByNumber", "0x0", false)
}
