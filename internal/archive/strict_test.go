package archive

import (
	"context"
	"encoding/json"
	"log/slog"
	"testing"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/params"

	"github.com/braidrpc/braid/internal/block"
	"github.com/braidrpc/braid/internal/ethjson"
	"github.com/braidrpc/braid/internal/history"
	"github.com/braidrpc/braid/internal/plan"
)

// blockHashOf reads the hash of an eth_getBlockByNumber answer.
func blockHashOf(t *testing.T, raw json.RawMessage) common.Hash {
	t.Helper()
	var b struct {
		Hash common.Hash `json:"hash"`
	}
	if err := json.Unmarshal(raw, &b); err != nil {
		t.Fatal(err)
	}
	return b.Hash
}

// A store holding a canonical record an operators' quorum settled,
// reopened for a network in strict mode, does not serve that block by
// number from the record: with no proof reaching it the providers' answer
// stands (and no parent walk starts from it); a proof reaching it serves
// it afresh and marks the record proven, which strict mode then trusts
// with no proof at hand.
func TestStrictModeNeverTrustsAQuorumSettledRecord(t *testing.T) {
	hs := emptyBlocks(64)
	dir := t.TempDir()
	open := func() *history.Store {
		s, err := history.Open(dir, history.Options{MaxBytes: 16 << 20})
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	s := open()
	for _, n := range []int{20, 22} {
		if err := s.PutBlock(hs[n], &types.Body{}, types.Receipts{}, history.NotCanonical); err != nil {
			t.Fatal(err)
		}
	}
	tip := block.Tip{Known: true, Latest: block.Block{Number: 63, Hash: hs[63].Hash()}, Finalized: block.Block{Number: 60, Hash: hs[60].Hash()}}
	newArchive := func(s *history.Store, r Reader, q AgreedHeaders, strict bool) *Archive {
		return &Archive{store: s, reader: r, agreed: q, strict: strict, tip: func() block.Tip { return tip }, walk: 8,
			render: ethjson.New(params.MainnetChainConfig), log: slog.New(slog.DiscardHandler)}
	}
	ctx := context.Background()
	read := func(a *Archive, number string) (json.RawMessage, bool) {
		t.Helper()
		pl := &plan.Plan{Method: "eth_getBlockByNumber", Params: json.RawMessage(`["` + number + `",false]`)}
		resp, err := a.Answer(ctx, pl, prunedAnswer, nil)
		if err != nil {
			t.Fatalf("read %s: %v", number, err)
		}
		return resp.Result, resp != prunedAnswer
	}

	// Under quorum: block 22 settled by the operators, kept as agreed.
	q := &quorumHeaders{headers: map[uint64]*types.Header{22: hs[22]}}
	if raw, ok := read(newArchive(s, blindReader{}, q, false), "0x16"); !ok || blockHashOf(t, raw) != hs[22].Hash() {
		t.Fatalf("under quorum block 22 was not served from the agreed header: %s", raw)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	// The network switched to strict: no quorum, no proof reaching 22.
	s = open()
	t.Cleanup(func() { s.Close() })
	strict := newArchive(s, blindReader{}, nil, true)
	if raw, ok := read(strict, "0x16"); ok {
		t.Fatalf("strict mode served block 22 from a quorum-settled record: %s", raw)
	}
	if _, err := strict.trustedCanonical(ctx, 22); err == nil {
		t.Fatal("strict mode took a quorum-settled record as canonical")
	}
	// Nor does a parent walk start from the agreed record.
	walker := &deepReader{chain: hs, floor: 40, walk: 8}
	if _, err := newArchive(s, walker, nil, true).trustedCanonical(ctx, 20); err == nil || len(walker.froms) != 0 {
		t.Fatalf("strict mode resolved block 20 (%v) by walking from %v, an agreed record", err, walker.froms)
	}
	// Not in strict mode the same record is trusted, and a walk from it is
	// as agreed as it is.
	if h, p, err := newArchive(s, walker, nil, false).canonical(ctx, 20); err != nil || h != hs[20].Hash() || p != history.Agreed {
		t.Fatalf("quorum mode, block 20: %s %v %v; want it walked from the agreed record 22, agreed", h.Hex(), p, err)
	}

	// A proof reaching 22 serves it afresh and upgrades the record.
	if raw, ok := read(newArchive(s, &deepReader{chain: hs, floor: 0, walk: 8}, nil, true), "0x16"); !ok || blockHashOf(t, raw) != hs[22].Hash() {
		t.Fatalf("strict mode with a proof did not serve block 22: %s", raw)
	}
	if _, p, ok := s.Canonical(22, history.Proven); !ok || p != history.Proven {
		t.Fatalf("block 22's record after a proof: %v %v, want proven", p, ok)
	}
	// A proven record is trusted in strict mode with no proof at hand.
	if raw, ok := read(strict, "0x16"); !ok || blockHashOf(t, raw) != hs[22].Hash() {
		t.Fatalf("strict mode did not trust the proven record of block 22: %s", raw)
	}
}
