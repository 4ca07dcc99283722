package gateway

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/ethereum/go-ethereum/common"

	"github.com/braidrpc/braid/internal/plan"
	"github.com/braidrpc/braid/internal/quorum"
	"github.com/braidrpc/braid/internal/route"
)

// quorumRead asks the pinned call of pl.Quorum.K distinct operators and
// answers only with what they agree on. Operators whose answers lose get
// a strike; repeat offenders are taken out of use.
// quorumCatchUp is how long a quorum read short of operators waits for
// one whose head is a moment behind the pinned block: heads pushed over
// WebSocket move the tip as soon as enough operators hold a block, while
// the others' reports are still on their way.
const quorumCatchUp = 500 * time.Millisecond

func (n *Network) quorumRead(ctx context.Context, pl *plan.Plan, pin plan.Pinning, call route.Call) (answer, error) {
	if pl.Method == "eth_getBlockByNumber" && pin.Hash != (common.Hash{}) {
		// Pinned to a tip block: ask for it by hash, so that a node that
		// briefly holds another block at that height (a reorg) is not
		// mistaken for a liar. The answer has the same shape.
		args := []json.RawMessage{json.RawMessage(strconv.Quote(pin.Hash.Hex())), json.RawMessage("false")}
		if len(pl.Args) > 1 && len(pl.Args[1]) > 0 {
			args[1] = pl.Args[1]
		}
		call.Method = "eth_getBlockByHash"
		call.Params, _ = json.Marshal(args)
	}
	o, err := quorum.Run(ctx, n.router, quorum.Request{
		Call:        call,
		K:           pl.Quorum.K,
		Ignore:      pl.Quorum.Ignore,
		OnDispute:   n.quorum.OnDispute,
		OnShortfall: n.quorum.OnShortfall,
		Audit:       n.router.Probe(),
		CatchUp:     quorumCatchUp,
	}, n.clock)
	if o.Decision != "" {
		n.qmetrics.Read(n.Name, o.Decision)
	}
	if o.Disagreed {
		n.dispute(pl, pin, o)
	}
	if err != nil {
		return answer{}, err
	}
	a := answer{resp: o.Response}
	if o.Decision != "" && len(o.Agreed) < o.K {
		a.agreed, a.k = len(o.Agreed), o.K
	}
	n.operators.Served(o.Agreed...)
	return a, nil
}

// dispute logs a disagreement and strikes the operators whose answers
// lost it.
func (n *Network) dispute(pl *plan.Plan, pin plan.Pinning, o *quorum.Outcome) {
	n.qmetrics.Dispute(n.Name, pl.Method)
	block := pin.MinHead
	if pin.HasBlock {
		block = pin.Block
	}
	d := o.Dispute(n.clock.Now(), n.Name, pl.Method, pl.Params, block, pin.Hash)
	n.disputes.Add(d)
	n.log.Warn("operators disagree", "method", pl.Method, "block", d.Block, "decision", o.Decision,
		"agreed", o.Agreed, "losers", o.Losers, "params_hash", d.ParamsHash)
	for _, op := range o.Losers {
		n.operators.Lie(op, n.router.Upstream(o.Upstream(op)), fmt.Sprintf("its answer to %s at block %d lost a dispute to %v", pl.Method, d.Block, o.Agreed))
	}
}
