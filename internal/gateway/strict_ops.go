package gateway

import (
	"context"

	"github.com/braidrpc/braid/internal/jsonrpc"
	"github.com/braidrpc/braid/internal/plan"
	"github.com/braidrpc/braid/internal/strict"
)

// This file connects the strict stage (package strict) to the executor.

// Strict reports whether the network returns only verified answers.
func (n *Network) Strict() bool { return n.strict != nil }

// Proofs lists how strict mode answers each method braid knows on this
// network (nil when not strict), for /status.
func (n *Network) Proofs() *plan.MethodProofs { return n.planner.Proofs() }

// strictAnswer is the strict stage's answer as the executor's.
func strictAnswer(a strict.Answer, err error) (answer, error) {
	return answer{resp: a.Response, notes: a.Notes}, err
}

// unprovenNote is what strict mode says of pl's answer served on the
// operators' word (nothing when not strict).
func (n *Network) unprovenNote(pl *plan.Plan) strict.Notes {
	if n.strict == nil {
		return strict.Notes{}
	}
	return n.strict.Note(pl)
}

// strictOperators are the network's operators as the strict stage asks
// them: pinned to the served tip now, as the executor pins a client's
// call.
type strictOperators struct{ n *Network }

var _ strict.Operators = strictOperators{}

// Forward asks pl under the network's quorum, or the router.
func (o strictOperators) Forward(ctx context.Context, pl *plan.Plan) (*jsonrpc.Response, error) {
	n := o.n
	tip := n.head.Tip()
	pin := pl.Pin(tip, n.maxLag)
	if pin.Local != nil {
		if err := n.needsTrustedTip(pl, tip); err != nil {
			return nil, err
		}
		return &jsonrpc.Response{Result: pin.Local}, nil
	}
	a, err := n.operatorsRead(ctx, pl, tip, pin)
	return a.resp, err
}

// AskOne asks pl of one operator not in exclude and names it.
func (o strictOperators) AskOne(ctx context.Context, pl *plan.Plan, exclude []string) (*jsonrpc.Response, string, error) {
	n := o.n
	tip := n.head.Tip()
	if err := n.needsTrustedTip(pl, tip); err != nil {
		return nil, "", err
	}
	pin := pl.Pin(tip, n.maxLag)
	if pin.Local != nil {
		return &jsonrpc.Response{Result: pin.Local}, "", nil
	}
	call := routeCall(pl, pin)
	call.Exclude = exclude
	res, err := n.routed(ctx, call)
	if err != nil || res.Unserved {
		return nil, "", err
	}
	return res.Response, res.Upstream.Operator, nil
}
