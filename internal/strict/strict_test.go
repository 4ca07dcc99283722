package strict

import (
	"context"
	"encoding/json"
	"math/big"
	"slices"
	"sync"
	"testing"

	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/core/types"

	"github.com/braidrpc/braid/internal/jsonrpc"
	"github.com/braidrpc/braid/internal/plan"
	"github.com/braidrpc/braid/internal/route"
	"github.com/braidrpc/braid/internal/trust"
)

// fakeReader proves the latest nonce 5 and nothing else.
type fakeReader struct{}

func (fakeReader) Read(context.Context, *plan.Plan) (*jsonrpc.Response, error) {
	return &jsonrpc.Response{Result: json.RawMessage(`"0x5"`)}, nil
}
func (fakeReader) CallBlock(context.Context, json.RawMessage) (*types.Header, *jsonrpc.Response, error) {
	return nil, nil, jsonrpc.Errorf(jsonrpc.CodeUnverifiable, "no block")
}
func (fakeReader) TipHeader(context.Context) (*types.Header, error) {
	return &types.Header{Number: big.NewInt(9), BaseFee: big.NewInt(100)}, nil
}
func (fakeReader) RangeHeaders(context.Context, uint64, uint64) ([]*types.Header, error) {
	return nil, nil
}
func (fakeReader) EVMSource() trust.EVMSource { return trust.EVMSource{} }

// fakeRouter: every operator suggests its own priority fee.
type fakeRouter struct{ tips map[string]int64 }

func (r fakeRouter) Operators(route.Call) []string {
	var ops []string
	for op := range r.tips {
		ops = append(ops, op)
	}
	slices.Sort(ops)
	return ops
}

func (r fakeRouter) Do(_ context.Context, c route.Call) (*route.Result, error) {
	b, _ := json.Marshal((*hexutil.Big)(big.NewInt(r.tips[c.Operator])))
	return &route.Result{Response: &jsonrpc.Response{Result: b}}, nil
}

// fakeOperators answer every pinned read with count.
type fakeOperators struct {
	mu    sync.Mutex
	count string
	asked []string // exclude lists of AskOne
}

func (o *fakeOperators) Forward(context.Context, *plan.Plan) (*jsonrpc.Response, error) {
	return &jsonrpc.Response{Result: json.RawMessage(o.count)}, nil
}

func (o *fakeOperators) AskOne(_ context.Context, _ *plan.Plan, exclude []string) (*jsonrpc.Response, string, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.asked = append(o.asked, slices.Clone(exclude)...)
	return &jsonrpc.Response{Result: json.RawMessage(o.count)}, "op" + string(rune('a'+len(exclude))), nil
}

type proofs map[string]plan.Proof

func (p proofs) ProofOf(m string) (plan.Proof, string) { return p[m], "" }

func stage(ops *fakeOperators) *Stage {
	return New(Options{Network: "t", Proofs: proofs{"net_version": plan.QuorumOnly}, Verified: fakeReader{},
		Router: fakeRouter{tips: map[string]int64{"a": 1, "b": 3, "c": 20}}, Operators: ops})
}

// The notes of how much an answer is proven come back with the answer,
// each call its own: nothing is carried in the context.
func TestAnswersCarryTheirNotes(t *testing.T) {
	s := stage(&fakeOperators{count: `"0x6"`})
	ctx := context.Background()

	a, err := s.Unproven(ctx, &plan.Plan{Method: "net_version"})
	if err != nil || a.Notes.Level != ProofNone || len(a.Notes.Reasons) != 1 {
		t.Fatalf("net_version: %+v %v, want proof none with one reason", a.Notes, err)
	}

	a, err = s.Unproven(ctx, &plan.Plan{Method: "eth_gasPrice"})
	if err != nil || string(a.Response.Result) != `"0x67"` {
		t.Fatalf("eth_gasPrice = %+v, %v; want base fee 100 + median tip 3 = 0x67", a.Response, err)
	}
	if a.Notes.Level != ProofPartial || len(a.Notes.Reasons) != 1 {
		t.Fatalf("eth_gasPrice notes %+v, want partial with one reason", a.Notes)
	}

	pl := &plan.Plan{Method: "eth_getTransactionCount", Args: []json.RawMessage{json.RawMessage(`"0x0000000000000000000000000000000000000001"`), json.RawMessage(`"pending"`)}}
	a, err = s.Verified(ctx, pl)
	if err != nil || string(a.Response.Result) != `"0x6"` || a.Notes.Level != ProofPartial {
		t.Fatalf("pending nonce = %+v %+v, %v; want 0x6, partial", a.Response, a.Notes, err)
	}

	a, err = s.Unproven(ctx, &plan.Plan{Method: "eth_chainId"})
	if err != nil || a.Notes.Level != "" || a.Notes.Reasons != nil {
		t.Fatalf("a proven method's notes %+v, %v; want none", a.Notes, err)
	}
}

// An operator's pending count beyond belief is set aside and the next
// operator asked, each time excluding those already asked; the proven
// nonce answers when none is believable.
func TestPendingNonceBeyondBelief(t *testing.T) {
	ops := &fakeOperators{count: `"0x100"`}
	s := stage(ops)
	pl := &plan.Plan{Method: "eth_getTransactionCount", Args: []json.RawMessage{json.RawMessage(`"0x0000000000000000000000000000000000000001"`), json.RawMessage(`"pending"`)}}
	a, err := s.Verified(context.Background(), pl)
	if err != nil || string(a.Response.Result) != `"0x5"` {
		t.Fatalf("answer %+v, %v; want the proven 0x5", a.Response, err)
	}
	if want := []string{"opa", "opa", "opb"}; !slices.Equal(ops.asked, want) {
		t.Fatalf("excluded %v, want %v", ops.asked, want)
	}
	if a.Notes.Level != ProofPartial || len(a.Notes.Reasons) != 1 {
		t.Fatalf("notes %+v", a.Notes)
	}
}

func TestNotesWeakestLevelWins(t *testing.T) {
	var n Notes
	n.add(ProofNone, "x")
	n.add(ProofPartial, "y")
	n.add(ProofPartial, "y")
	if n.Level != ProofNone || !slices.Equal(n.Reasons, []string{"x", "y"}) {
		t.Fatalf("%+v", n)
	}
}
