package stream

import (
	"context"
	"encoding/json"
	"errors"

	"github.com/braidrpc/braid/internal/plan"
	"github.com/braidrpc/braid/internal/route"
	"github.com/braidrpc/braid/internal/upstream"
)

// Router is what RoutedPools needs of a network's router: its upstreams,
// and a call sent to one of them alone (route.Router).
type Router interface {
	Upstreams() []*upstream.Upstream
	Do(ctx context.Context, c route.Call) (*route.Result, error)
}

var _ Router = (*route.Router)(nil)

// RoutedPools lists r's upstreams as the pending feed follows them: each
// one's newPendingTransactions subscription over its ws_url, or calls
// routed to it alone (so its health, breaker and budget count them).
func RoutedPools(r Router) func() []Pool {
	return func() []Pool {
		ups := r.Upstreams()
		out := make([]Pool, len(ups))
		for i, u := range ups {
			out[i] = routedPool{u: u, router: r}
		}
		return out
	}
}

// routedPool is one upstream's transaction pool, asked through the router.
type routedPool struct {
	u      *upstream.Upstream
	router Router
}

var _ Pool = routedPool{}

func (p routedPool) Name() string       { return p.u.Name }
func (p routedPool) Operator() string   { return p.u.Operator }
func (p routedPool) Usable() bool       { return p.u.Usable() }
func (p routedPool) CanSubscribe() bool { return p.u.WSURL != "" }

func (p routedPool) SubscribePending(ctx context.Context, fn func(json.RawMessage) error) (bool, error) {
	return p.u.Subscribe(ctx, json.RawMessage(`["newPendingTransactions"]`), fn)
}

func (p routedPool) Call(ctx context.Context, method string, params json.RawMessage) (json.RawMessage, error) {
	res, err := p.router.Do(ctx, route.Call{Method: method, Params: params, Only: p.u, Class: plan.ClassOf(method)})
	if err != nil {
		return nil, errors.New(p.u.RedactWSError(err)) // only logged: no provider URL in it
	}
	if res.Response.Error != nil {
		return nil, res.Response.Error
	}
	return res.Response.Result, nil
}
