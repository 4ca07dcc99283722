// Package strict answers, in strict mode (verify: strict), the calls the
// trusted chain holds no proof of by itself: eth_call and its kin on a
// local EVM over proven state, the pending nonce (proven floor, bounded
// pool count), fee suggestions (base fees from verified headers, the
// operators' median for the rest), state reads at "pending", and the
// methods the configuration serves on the operators' word. Each answer
// comes back with Notes saying how much of it is proven (the Braid-Proof
// header); nothing travels in the context. The executor (package gateway)
// calls a Stage; the Stage reads through the verified reader (package
// trust), the router and the network's operators, each a small interface.
package strict

import (
	"context"
	"encoding/json"
	"math/big"

	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/params"

	"github.com/braidrpc/braid/internal/clock"
	"github.com/braidrpc/braid/internal/evm"
	"github.com/braidrpc/braid/internal/jsonrpc"
	"github.com/braidrpc/braid/internal/plan"
	"github.com/braidrpc/braid/internal/route"
	"github.com/braidrpc/braid/internal/trust"
)

// Verified is the verified reader (trust.Reader): answers proven against
// trusted headers, and the headers themselves.
type Verified interface {
	Read(ctx context.Context, pl *plan.Plan) (*jsonrpc.Response, error)
	CallBlock(ctx context.Context, raw json.RawMessage) (*types.Header, *jsonrpc.Response, error)
	TipHeader(ctx context.Context) (*types.Header, error)
	RangeHeaders(ctx context.Context, from, to uint64) ([]*types.Header, error)
	EVMSource() trust.EVMSource
}

// Router sends one call to one upstream (route.Router): Operators lists
// the distinct operators that could take it, best first.
type Router interface {
	Operators(c route.Call) []string
	Do(ctx context.Context, c route.Call) (*route.Result, error)
}

// Operators asks the network's operators a call pinned to the served tip,
// as the executor would (package gateway implements it).
type Operators interface {
	// Forward asks under the network's quorum (or the router).
	Forward(ctx context.Context, pl *plan.Plan) (*jsonrpc.Response, error)
	// AskOne asks one operator not in exclude, and names it ("" when
	// nobody served it).
	AskOne(ctx context.Context, pl *plan.Plan, exclude []string) (*jsonrpc.Response, string, error)
}

// Proofs says how strict mode answers a method (plan.Planner).
type Proofs interface {
	ProofOf(method string) (plan.Proof, string)
}

var (
	_ Verified = (*trust.Reader)(nil)
	_ Router   = (*route.Router)(nil)
	_ Proofs   = (*plan.Planner)(nil)
)

// Options configure a Stage.
type Options struct {
	Network   string
	Proofs    Proofs
	Verified  Verified
	Router    Router
	Operators Operators
	// EVM runs eth_call and its kin over proven state on Chain (nil:
	// refused); Chain without EVM still derives fees from headers.
	EVM     *evm.Executor
	Chain   *params.ChainConfig
	Metrics *Metrics
	Clock   clock.Clock // ages relayed transactions (nil: the wall clock)
}

// Stage answers a network's calls in strict mode.
type Stage struct {
	o       Options
	relayed *relayed
}

// New returns the strict stage of one network.
func New(o Options) *Stage { return &Stage{o: o, relayed: newRelayed(o.Clock)} }

// Answer is a stage's answer and how much of it is proven.
type Answer struct {
	Response *jsonrpc.Response
	Notes    Notes
}

// Verified answers a call whose answer must be checked: on the local EVM
// for eth_call and its kin, the pending nonce from proven and pooled
// counts, state reads at "pending" at the trusted tip, and everything
// else through the verified reader.
func (s *Stage) Verified(ctx context.Context, pl *plan.Plan) (Answer, error) {
	c := &call{s: s}
	var resp *jsonrpc.Response
	var err error
	switch pl.Method {
	case "eth_call", "eth_estimateGas", "eth_createAccessList":
		resp, err = c.evmCall(ctx, pl)
	case "eth_getTransactionCount":
		if len(pl.Args) > 1 && IsPending(pl.Args[1]) {
			resp, err = c.pendingNonce(ctx, pl)
			break
		}
		resp, err = s.o.Verified.Read(ctx, pl)
	case "eth_getBalance", "eth_getCode", "eth_getStorageAt", "eth_getProof":
		resp, err = s.o.Verified.Read(ctx, c.pendingAtTip(pl))
	default:
		resp, err = s.o.Verified.Read(ctx, pl)
	}
	return c.answer(resp), err
}

// Unproven answers a call the planner serves without a proof of its own:
// the fee methods (base fee from verified headers, priority fee the
// operators' median), and everything else forwarded under the network's
// quorum, marked as the operators' word unless braid derives it.
func (s *Stage) Unproven(ctx context.Context, pl *plan.Plan) (Answer, error) {
	c := &call{s: s}
	var resp *jsonrpc.Response
	var err error
	switch pl.Method {
	case "eth_gasPrice":
		resp, err = c.gasPrice(ctx)
	case "eth_maxPriorityFeePerGas":
		resp, err = c.maxPriorityFee(ctx)
	case "eth_blobBaseFee":
		resp, err = c.blobBaseFee(ctx)
	case "eth_feeHistory":
		resp, err = c.feeHistory(ctx, pl)
	default:
		c.notes = s.Note(pl)
		resp, err = s.o.Operators.Forward(ctx, pl)
	}
	return c.answer(resp), err
}

// Note is what strict mode says of a method served on the operators' word
// (Braid-Proof: none); empty for any other.
func (s *Stage) Note(pl *plan.Plan) Notes {
	var n Notes
	if proof, _ := s.o.Proofs.ProofOf(pl.Method); proof == plan.QuorumOnly {
		n.add(ProofNone, pl.Method+" is the operators' answer, not proven")
	}
	return n
}

// IsPending reports whether a block parameter is "pending".
func IsPending(raw json.RawMessage) bool {
	var s string
	return len(raw) > 0 && raw[0] == '"' && json.Unmarshal(raw, &s) == nil && s == "pending"
}

func quantity(v *big.Int) *jsonrpc.Response {
	b, _ := json.Marshal((*hexutil.Big)(v))
	return &jsonrpc.Response{Result: b}
}
