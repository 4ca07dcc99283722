package strict

import (
	"context"
	"encoding/json"
	"fmt"
	"math/big"
	"slices"

	"github.com/ethereum/go-ethereum/common/hexutil"

	"github.com/braidrpc/braid/internal/jsonrpc"
	"github.com/braidrpc/braid/internal/plan"
)

// This file bounds, in strict mode, the part of the pending nonce no
// proof covers: the operators' count of an account's pooled transactions.

// pendingSlack is the most pooled transactions of one account braid
// believes an operator's pending nonce counts above the proven latest
// nonce: go-ethereum's default per-account pool limits, AccountSlots (16)
// + AccountQueue (64). A higher count is no pool a wallet can have filled
// through a default node; an operator claiming one (a k = 1 network has
// nobody to outvote it) is not believed, and the next one is asked.
const pendingSlack = 16 + 64

// pendingAsks bounds how many operators one pending nonce asks when their
// answers are beyond belief.
const pendingAsks = 3

// pendingNonce answers eth_getTransactionCount(addr, "pending"): the
// operators' count of the account's transactions including those in
// their pools (a read under the network's quorum), never below the
// account's nonce proven at the trusted tip nor more than pendingSlack
// above it. Without a believable answer from the operators the proven
// nonce is the answer.
func (c *call) pendingNonce(ctx context.Context, pl *plan.Plan) (*jsonrpc.Response, error) {
	latest := *pl
	latest.Args = []json.RawMessage{pl.Args[0], json.RawMessage(`"latest"`)}
	provenResp, err := c.s.o.Verified.Read(ctx, &latest)
	if err != nil || provenResp.Error != nil {
		return provenResp, err
	}
	var proven hexutil.Big
	if err := json.Unmarshal(provenResp.Result, &proven); err != nil {
		return nil, err
	}
	answer := proven.ToInt()
	pending, why := c.s.pendingCount(ctx, pl, answer)
	switch {
	case pending == nil:
		c.partial(why + ": the nonce proven at the trusted latest block")
	case pending.Cmp(answer) < 0:
		c.partial("the operators' pending count was below the proven latest nonce: the proven nonce")
	default:
		answer = pending
		c.partial("the pending nonce is the operators' count, at least the nonce proven at the trusted latest block")
	}
	out, _ := json.Marshal((*hexutil.Big)(new(big.Int).Set(answer)))
	return &jsonrpc.Response{Result: out}, nil
}

// pendingAtTip is pl with a "pending" block parameter replaced by
// "latest": a state read at "pending" is answered, proven, at the trusted
// tip (wallets ask eth_getCode at "pending" before they estimate), and
// says so. pl itself when it does not name "pending".
func (c *call) pendingAtTip(pl *plan.Plan) *plan.Plan {
	i := pl.Spec.BlockParam
	if i < 0 || i >= len(pl.Args) || !IsPending(pl.Args[i]) {
		return pl
	}
	cp := *pl
	cp.Args = slices.Clone(pl.Args)
	cp.Args[i] = json.RawMessage(`"latest"`)
	c.partial(`"pending" was read at the trusted latest block, without the operators' pending transactions`)
	return &cp
}

// pendingCount is the operators' pending count for pl within
// [floor, floor+pendingSlack], or nil with why there is none. An answer
// below floor is raised to it; one above the bound is set aside and,
// without a quorum (which already decided), the next operator asked.
func (s *Stage) pendingCount(ctx context.Context, pl *plan.Plan, floor *big.Int) (*big.Int, string) {
	ceiling := new(big.Int).Add(floor, big.NewInt(pendingSlack))
	why := "no operator's pending count"
	var exclude []string
	for range pendingAsks {
		resp, op, err := s.pendingAnswer(ctx, pl, exclude)
		if err != nil || resp == nil {
			return nil, why
		}
		var count hexutil.Big
		if resp.Error != nil || json.Unmarshal(resp.Result, &count) != nil {
			return nil, why
		}
		if c := count.ToInt(); c.Cmp(ceiling) <= 0 {
			return c, ""
		}
		why = fmt.Sprintf("the operators' pending count was more than %d above the proven latest nonce", pendingSlack)
		if op == "" {
			return nil, why // a quorum's answer: nobody else to ask
		}
		exclude = append(exclude, op)
	}
	return nil, why
}

// pendingAnswer asks pl of the network: under its quorum when it has one
// (op empty), else of one operator not in exclude (op names it).
func (s *Stage) pendingAnswer(ctx context.Context, pl *plan.Plan, exclude []string) (*jsonrpc.Response, string, error) {
	if pl.Quorum.K > 1 {
		resp, err := s.o.Operators.Forward(ctx, pl)
		return resp, "", err
	}
	return s.o.Operators.AskOne(ctx, pl, slices.Clip(exclude))
}
