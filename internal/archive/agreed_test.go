package archive

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"math/big"
	"strings"
	"testing"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/params"

	"github.com/braidrpc/braid/internal/block"
	"github.com/braidrpc/braid/internal/ethjson"
	"github.com/braidrpc/braid/internal/history"
	"github.com/braidrpc/braid/internal/jsonrpc"
	"github.com/braidrpc/braid/internal/plan"
	"github.com/braidrpc/braid/internal/quorum"
)

// quorumHeaders are headers as a quorum of operators agrees on them, or
// the quorum's refusal; they count what they were asked.
type quorumHeaders struct {
	headers map[uint64]*types.Header
	refusal error
	asked   []uint64
}

func (q *quorumHeaders) AgreedHeader(_ context.Context, number uint64) (*types.Header, error) {
	q.asked = append(q.asked, number)
	if q.refusal != nil {
		return nil, q.refusal
	}
	if h := q.headers[number]; h != nil {
		return h, nil
	}
	return nil, fmt.Errorf("no header %d", number)
}

// emptyBlocks are n linked, empty proof-of-work headers from block 0.
func emptyBlocks(n int) []*types.Header {
	hs := make([]*types.Header, n)
	parent := common.Hash{}
	for i := range hs {
		hs[i] = &types.Header{ParentHash: parent, UncleHash: types.EmptyUncleHash, TxHash: types.EmptyTxsHash,
			ReceiptHash: types.EmptyReceiptsHash, Number: big.NewInt(int64(i)), Difficulty: big.NewInt(131072), GasLimit: 5000}
		parent = hs[i].Hash()
	}
	return hs
}

// prunedAnswer is every provider's answer to a pruned block.
var prunedAnswer = &jsonrpc.Response{Error: &jsonrpc.Error{Code: 4444, Message: "pruned history unavailable"}}

// Under a quorum, a finalized block below what braid's proofs and parent
// walks reach is read by number once the operators' quorum agrees on its
// header: from the store (which holds the block, not as canonical); with
// the operators disagreeing, the read is refused with an error that says
// so (the quorum's code and answers), not the providers' pruned answer.
func TestAgreedHeaderServesBelowTheProofs(t *testing.T) {
	hs := emptyBlocks(64)
	target := hs[20]
	s, err := history.Open(t.TempDir(), history.Options{MaxBytes: 16 << 20})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	if err := s.PutBlock(target, &types.Body{}, types.Receipts{}, history.NotCanonical); err != nil {
		t.Fatal(err)
	}
	tip := block.Tip{Known: true, Latest: block.Block{Number: 63, Hash: hs[63].Hash()}, Finalized: block.Block{Number: 60, Hash: hs[60].Hash()}}
	q := &quorumHeaders{headers: map[uint64]*types.Header{20: target}}
	a := &Archive{store: s, reader: blindReader{}, agreed: q, tip: func() block.Tip { return tip }, walk: 8,
		render: ethjson.New(params.MainnetChainConfig), log: slog.New(slog.DiscardHandler)}
	pl := &plan.Plan{Method: "eth_getBlockByNumber", Params: json.RawMessage(`["0x14",false]`)}
	ctx := context.Background()

	resp, err := a.Answer(ctx, pl, prunedAnswer, nil)
	if err != nil || resp.Error != nil || resp.Source != sourceStore {
		t.Fatalf("answer %+v, %v; want the block from the store", resp, err)
	}
	var got struct {
		Hash   common.Hash `json:"hash"`
		Number string      `json:"number"`
	}
	if err := json.Unmarshal(resp.Result, &got); err != nil || got.Hash != target.Hash() || got.Number != "0x14" {
		t.Fatalf("answer %s: %v", resp.Result, err)
	}
	if len(q.asked) != 1 || q.asked[0] != 20 {
		t.Fatalf("the quorum was asked for %v, want block 20", q.asked)
	}

	// The agreed hash is kept: a second read does not ask K operators again.
	if resp, err := a.Answer(ctx, pl, prunedAnswer, nil); err != nil || resp.Source != sourceStore {
		t.Fatalf("second read %+v, %v", resp, err)
	}
	if len(q.asked) != 1 {
		t.Fatalf("the quorum was asked %v for two reads of block 20, want once", q.asked)
	}
	if h, p, ok := s.Canonical(20, history.Agreed); !ok || h != target.Hash() || p != history.Agreed {
		t.Fatalf("block 20's record: %s %v %v, want agreed", h.Hex(), p, ok)
	}

	q.refusal = &quorum.Error{Code: jsonrpc.CodeDispute, K: 2, Answers: []quorum.Answer{{Operator: "op-a", Hash: "aa"}, {Operator: "op-b", Hash: "bb"}},
		Message: "operators disagree on eth_getHeaderByNumber: 2 answers from [op-a op-b], none backed by 2 operators"}
	pl21 := &plan.Plan{Method: "eth_getBlockByNumber", Params: json.RawMessage(`["0x15",false]`)}
	resp, err = a.Answer(ctx, pl21, prunedAnswer, nil)
	je := jsonrpc.FromError(err)
	if resp != nil || je == nil || je.Code != jsonrpc.CodeDispute || !strings.Contains(je.Message, "block 21") ||
		!strings.Contains(je.Message, "operators disagree") || !strings.Contains(string(je.Data), "op-b") {
		t.Fatalf("answer %+v, %v; want the dispute refused with a clear error", resp, je)
	}

	// Without a quorum (or in strict mode) the providers' answer stands.
	a.agreed = nil
	if resp, err := a.Answer(ctx, pl21, prunedAnswer, nil); err != nil || resp != prunedAnswer {
		t.Fatalf("answer %+v, %v; want the providers' pruned answer", resp, err)
	}
	// Above the finalized block the quorum is never asked.
	a.agreed, q.refusal, q.asked = q, nil, nil
	if _, err := a.trustedCanonical(ctx, 62); err == nil || len(q.asked) != 0 {
		t.Fatalf("block 62 (not finalized): %v, quorum asked %v", err, q.asked)
	}
}
