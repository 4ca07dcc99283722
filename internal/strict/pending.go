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

// pendingAsks is how many distinct operators one pending nonce asks.
// Their pools differ for a while after a wallet sends (its transaction
// reaches some nodes first), so braid takes the highest believable count
// of several rather than one operator's, or what a quorum of them agree
// on: two nodes that have not seen the transaction yet agree on a count
// without it, and a wallet sending two transactions back to back would
// reuse a nonce.
const pendingAsks = 3

// pendingNonce answers eth_getTransactionCount(addr, "pending"): the
// highest of the operators' counts of the account's transactions
// including those in their pools (pendingAsks operators asked), never
// below the account's nonce proven at the trusted tip nor more than
// pendingSlack above it. Without a believable answer from the operators
// the proven nonce is the answer.
//
// Taking the highest is the safe side: a count too high (an operator
// inventing up to pendingSlack pooled transactions) leaves the wallet's
// transaction queued behind a gap until the wallet replaces it, bounded
// and visible; a count too low has the wallet reuse the nonce of a
// transaction it sent, replacing it or failing, which is silent.
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
		c.partial("the pending nonce is the operators' count (the highest of those asked), at least the nonce proven at the trusted latest block")
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

// pendingCount is the highest pending count for pl within
// [floor, floor+pendingSlack] among up to pendingAsks distinct operators,
// or nil with why there is none. Answers above the bound are set aside.
func (s *Stage) pendingCount(ctx context.Context, pl *plan.Plan, floor *big.Int) (*big.Int, string) {
	ceiling := new(big.Int).Add(floor, big.NewInt(pendingSlack))
	why := "no operator's pending count"
	var (
		best    *big.Int
		exclude []string
	)
	for range pendingAsks {
		resp, op, err := s.o.Operators.AskOne(ctx, pl, slices.Clip(exclude))
		if err != nil || resp == nil || op == "" {
			break // nobody (else) to ask
		}
		exclude = append(exclude, op)
		var count hexutil.Big
		if resp.Error != nil || json.Unmarshal(resp.Result, &count) != nil {
			continue
		}
		c := count.ToInt()
		if c.Cmp(ceiling) > 0 {
			why = fmt.Sprintf("the operators' pending count was more than %d above the proven latest nonce", pendingSlack)
			continue
		}
		if best == nil || c.Cmp(best) > 0 {
			best = c
		}
	}
	if best == nil {
		return nil, why
	}
	return best, ""
}
