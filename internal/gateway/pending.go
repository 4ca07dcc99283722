package gateway

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

// pendingCount is the operators' pending count for pl within
// [floor, floor+pendingSlack] and true, or false with why there is none.
// An answer below floor is raised to it; one above the bound is set aside
// and, without a quorum (which already decided), the next operator asked.
func (n *Network) pendingCount(ctx context.Context, pl *plan.Plan, floor *big.Int) (*big.Int, string) {
	ceiling := new(big.Int).Add(floor, big.NewInt(pendingSlack))
	why := "no operator's pending count"
	var exclude []string
	for range pendingAsks {
		resp, op, err := n.pendingAnswer(ctx, pl, exclude)
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
func (n *Network) pendingAnswer(ctx context.Context, pl *plan.Plan, exclude []string) (resp *jsonrpc.Response, op string, err error) {
	if pl.Quorum.K > 1 {
		resp, err = n.forward(ctx, pl)
		return resp, "", err
	}
	tip := n.head.Tip()
	if err := n.needsTrustedTip(pl, tip); err != nil {
		return nil, "", err
	}
	pin := pl.Pin(tip, n.maxLag)
	if pin.Local != nil {
		return &jsonrpc.Response{Result: pin.Local}, "", nil
	}
	call := routeCall(pl, pin)
	call.Exclude = slices.Clip(exclude)
	res, err := n.router.Do(ctx, call)
	if err != nil || res.Unserved {
		return nil, "", err
	}
	n.operators.Served(res.Upstream.Operator)
	return res.Response, res.Upstream.Operator, nil
}
