package gateway

import (
	"context"
	"encoding/json"
	"errors"

	"github.com/braidrpc/braid/internal/jsonrpc"
	"github.com/braidrpc/braid/internal/plan"
	"github.com/braidrpc/braid/internal/route"
	"github.com/braidrpc/braid/internal/stream"
	"github.com/braidrpc/braid/internal/upstream"
)

// Subscribe starts an eth_subscribe subscription on the network's stream
// (stream.Stream.Subscribe says what it serves and how deliver is
// called).
func (n *Network) Subscribe(params json.RawMessage, deliver func(result json.RawMessage)) (unsubscribe func(), err error) {
	return n.stream.Subscribe(params, deliver)
}

// Admit runs req through the network's planner, as every call the
// network executes is: allow and deny lists, node-private methods, strict
// mode and params. The server asks it for the calls it answers itself
// (eth_subscribe and eth_unsubscribe over WebSocket), so no policy
// depends on the transport. The error is what the client gets.
func (n *Network) Admit(req *jsonrpc.Request) error {
	if _, err := n.planner.Plan(req); err != nil {
		return err
	}
	return nil
}

// pools are the network's upstreams as the pending feed follows them.
func (n *Network) pools() []stream.Pool {
	ups := n.Upstreams()
	out := make([]stream.Pool, len(ups))
	for i, u := range ups {
		out[i] = pool{u: u, router: n.router}
	}
	return out
}

// pool is one upstream's transaction pool: its newPendingTransactions
// subscription over ws_url, or calls routed to it alone.
type pool struct {
	u      *upstream.Upstream
	router *route.Router
}

var _ stream.Pool = pool{}

func (p pool) Name() string       { return p.u.Name }
func (p pool) Operator() string   { return p.u.Operator }
func (p pool) Usable() bool       { return p.u.Usable() }
func (p pool) CanSubscribe() bool { return p.u.WSURL != "" }

func (p pool) SubscribePending(ctx context.Context, fn func(json.RawMessage) error) (bool, error) {
	return p.u.Subscribe(ctx, json.RawMessage(`["newPendingTransactions"]`), fn)
}

func (p pool) Call(ctx context.Context, method string, params json.RawMessage) (json.RawMessage, error) {
	res, err := p.router.Do(ctx, route.Call{Method: method, Params: params, Only: p.u, Class: plan.ClassOf(method)})
	if err != nil {
		return nil, errors.New(p.u.RedactWSError(err)) // only logged: no provider URL in it
	}
	if res.Response.Error != nil {
		return nil, res.Response.Error
	}
	return res.Response.Result, nil
}
