package ethjson

import (
	"encoding/json"
	"errors"
	"testing"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"

	"github.com/braidrpc/braid/internal/verify"
)

// TestAbsentThingsAreNullOrErrors: a transaction the block does not hold
// renders null (as geth answers), and methods that need receipts fail
// with ErrNoReceipts on a block made without them.
func TestAbsentThingsAreNullOrErrors(t *testing.T) {
	c := testChain(t)
	r := New(c.Config)
	hb := c.Head()
	withReceipts := prepare(t, r, hb)
	for name, got := range map[string]func() (json.RawMessage, error){
		"Transaction": func() (json.RawMessage, error) { return r.Transaction(withReceipts, common.Hash{1}) },
		"Receipt":     func() (json.RawMessage, error) { return r.Receipt(withReceipts, common.Hash{1}) },
		"TransactionAt": func() (json.RawMessage, error) {
			return r.TransactionAt(withReceipts, uint64(len(hb.Body.Transactions))+5)
		},
	} {
		raw, err := got()
		if err != nil || string(raw) != "null" {
			t.Fatalf("%s of an absent transaction: %s, %v", name, raw, err)
		}
	}
	bare, err := r.NewBlock(hb.Header, hb.Body, nil)
	if err != nil {
		t.Fatal(err)
	}
	if bare.HasReceipts() {
		t.Fatal("a block without receipts says it has them")
	}
	if _, err := r.Receipt(bare, hb.Body.Transactions[0].Hash()); !errors.Is(err, ErrNoReceipts) {
		t.Fatalf("Receipt: %v", err)
	}
	if _, err := r.BlockReceipts(bare); !errors.Is(err, ErrNoReceipts) {
		t.Fatalf("BlockReceipts: %v", err)
	}
	if _, err := r.Logs(&verify.LogFilter{ToBlock: 1 << 40}, []*Block{bare}); !errors.Is(err, ErrNoReceipts) {
		t.Fatalf("Logs: %v", err)
	}
	if _, err := r.NewBlock(nil, hb.Body, nil); err == nil {
		t.Fatal("a block without a header")
	}
	if _, err := r.NewBlock(hb.Header, hb.Body, hb.Receipts[:len(hb.Receipts)-1]); err == nil {
		t.Fatal("a receipt short")
	}
}

// TestBlobFeeNeedsTheChainsSchedule: a configuration without a blob
// schedule cannot price blob gas; that is an error, not a panic or a
// wrong price.
func TestBlobFeeNeedsTheChainsSchedule(t *testing.T) {
	c := testChain(t)
	cfg := *c.Config
	cfg.BlobScheduleConfig = nil
	hb := c.Head()
	rs := make(types.Receipts, len(hb.Receipts))
	for i, rc := range hb.Receipts {
		cp := *rc
		rs[i] = &cp
	}
	if _, err := New(&cfg).NewBlock(hb.Header, hb.Body, rs); err == nil {
		t.Fatal("rendered blob prices without a blob schedule")
	}
}

// TestPostStateReceipt: a receipt from before Byzantium carries a state
// root instead of a status, and geth renders "root" and no "status".
func TestPostStateReceipt(t *testing.T) {
	c := testChain(t)
	r := New(c.Config)
	hb := c.Blocks[1] // the token's deployment
	root := common.Hash{7}
	rs := make(types.Receipts, len(hb.Receipts))
	for i, rc := range hb.Receipts {
		cp := *rc
		cp.PostState = root.Bytes()
		rs[i] = &cp
	}
	b, err := r.NewBlock(hb.Header, hb.Body, rs)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := r.Receipt(b, hb.Body.Transactions[0].Hash())
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	if _, ok := m["status"]; ok || string(m["root"]) != `"`+root.Hex()+`"` {
		t.Fatalf("post-state receipt: %s", raw)
	}
}

func TestChainConfig(t *testing.T) {
	for _, id := range []uint64{1, 11155111, 560048, 1337} {
		if cfg, ok := ChainConfig(id); !ok || cfg.ChainID.Uint64() != id {
			t.Fatalf("chain %d: %v", id, ok)
		}
	}
	if _, ok := ChainConfig(424242); ok {
		t.Fatal("an unknown chain has a configuration")
	}
}
