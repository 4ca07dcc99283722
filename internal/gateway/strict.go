package gateway

import (
	"context"
	"encoding/json"
	"math/big"
	"slices"

	"github.com/ethereum/go-ethereum/common/hexutil"

	"github.com/braidrpc/braid/internal/jsonrpc"
	"github.com/braidrpc/braid/internal/plan"
)

// This file answers, in strict mode, what the chain holds no proof of:
// the pending nonce, fee suggestions, and the methods the configuration
// serves unchecked. Each answer that is not fully proven says so in the
// Braid-Proof header (Meta.noteProof), and is never cached.

// Strict reports whether the network returns only verified answers.
func (n *Network) Strict() bool { return n.verifyCfg.Strict() }

// Proofs lists how strict mode answers each method braid knows on this
// network (nil when not strict), for /status.
func (n *Network) Proofs() *plan.MethodProofs { return n.planner.Proofs() }

// unproven answers, in strict mode, a call the planner serves without a
// proof of its own: the fee methods (base fee from verified headers,
// priority fee the operators' median), and everything else forwarded
// under the network's quorum, marked as the operators' word unless braid
// derives it.
func (n *Network) unproven(ctx context.Context, pl *plan.Plan) (*jsonrpc.Response, error) {
	switch pl.Method {
	case "eth_gasPrice":
		return n.gasPrice(ctx)
	case "eth_maxPriorityFeePerGas":
		return n.maxPriorityFee(ctx)
	case "eth_blobBaseFee":
		return n.blobBaseFee(ctx)
	case "eth_feeHistory":
		return n.feeHistory(ctx, pl)
	}
	n.noteUnproven(ctx, pl)
	return n.forward(ctx, pl)
}

// noteUnproven marks, in strict mode, the answer to a method served on the
// operators' word as unproven (Braid-Proof: none).
func (n *Network) noteUnproven(ctx context.Context, pl *plan.Plan) {
	if !n.Strict() {
		return
	}
	if proof, _ := n.planner.ProofOf(pl.Method); proof == plan.QuorumOnly {
		metaFrom(ctx).noteProof(ProofNone, pl.Method+" is the operators' answer, not proven")
	}
}

// pendingNonce answers eth_getTransactionCount(addr, "pending"): the
// operators' count of the account's transactions including those in
// their pools (a read under the network's quorum), never below the
// account's nonce proven at the trusted tip nor more than pendingSlack
// above it (pending.go). Without a believable answer from the operators
// the proven nonce is the answer.
func (n *Network) pendingNonce(ctx context.Context, pl *plan.Plan) (*jsonrpc.Response, error) {
	latest := *pl
	latest.Args = []json.RawMessage{pl.Args[0], json.RawMessage(`"latest"`)}
	provenResp, err := n.trust.Read(ctx, &latest)
	if err != nil || provenResp.Error != nil {
		return provenResp, err
	}
	var proven hexutil.Big
	if err := json.Unmarshal(provenResp.Result, &proven); err != nil {
		return nil, err
	}
	answer := proven.ToInt()
	pending, why := n.pendingCount(ctx, pl, answer)
	switch {
	case pending == nil:
		metaFrom(ctx).notePartial(why + ": the nonce proven at the trusted latest block")
	case pending.Cmp(answer) < 0:
		metaFrom(ctx).notePartial("the operators' pending count was below the proven latest nonce: the proven nonce")
	default:
		answer = pending
		metaFrom(ctx).notePartial("the pending nonce is the operators' count, at least the nonce proven at the trusted latest block")
	}
	out, _ := json.Marshal((*hexutil.Big)(new(big.Int).Set(answer)))
	return &jsonrpc.Response{Result: out}, nil
}

// pendingAtTip is pl with a "pending" block parameter replaced by
// "latest": a state read at "pending" is answered, proven, at the trusted
// tip (wallets ask eth_getCode at "pending" before they estimate), and
// says so. pl itself when it does not name "pending".
func pendingAtTip(ctx context.Context, pl *plan.Plan) *plan.Plan {
	i := pl.Spec.BlockParam
	if i < 0 || i >= len(pl.Args) || !isPendingTag(pl.Args[i]) {
		return pl
	}
	c := *pl
	c.Args = slices.Clone(pl.Args)
	c.Args[i] = json.RawMessage(`"latest"`)
	metaFrom(ctx).notePartial(`"pending" was read at the trusted latest block, without the operators' pending transactions`)
	return &c
}
