package gateway

import (
	"context"
	"sync/atomic"
	"time"

	"github.com/braidrpc/braid/internal/block"
	"github.com/braidrpc/braid/internal/cache"
	"github.com/braidrpc/braid/internal/jsonrpc"
	"github.com/braidrpc/braid/internal/plan"
)

// answers is one network's use of the answer cache: the store, shared by
// the gateway's networks, keys prefixed with the network.
type answers struct {
	store    cache.Store // nil: caching off
	metrics  *cache.Metrics
	prefix   string
	tipTTL   time.Duration
	finalTTL time.Duration
	maxEntry int

	hits, misses atomic.Uint64 // lookups since start, for /status
}

// caching is how pl pinned as pin to tip may be cached (nothing with
// caching off).
func (a *answers) caching(pl *plan.Plan, tip block.Tip, pin plan.Pinning) plan.Caching {
	if a.store == nil || pl.Kind != plan.Forward {
		return plan.Caching{}
	}
	return pl.Caching(tip, pin)
}

// lookup answers a cacheable call from the cache.
func (n *Network) lookup(ctx context.Context, pl *plan.Plan, c plan.Caching) (*jsonrpc.Response, bool) {
	a := &n.answers
	if a.store == nil || !c.Cacheable() {
		return nil, false
	}
	for _, k := range c.Keys {
		if v, ok := a.store.Get(ctx, a.prefix+k); ok {
			a.metrics.Lookup(n.Name, plan.MethodLabel(pl.Method), true)
			a.hits.Add(1)
			return &jsonrpc.Response{Result: v}, true
		}
	}
	a.metrics.Lookup(n.Name, plan.MethodLabel(pl.Method), false)
	a.misses.Add(1)
	return nil, false
}

// keep remembers what may be remembered of a's answer to pl, read at tip:
// a static call's success for good; a cacheable call's answer in the cache
// for as long as plan.Caching allows.
func (n *Network) keep(ctx context.Context, pl *plan.Plan, c plan.Caching, tip block.Tip, ans answer) {
	resp := ans.resp
	if pl.Kind == plan.Static && resp.Error == nil {
		n.staticMu.Lock()
		n.static[pl.Method+string(pl.Params)] = resp.Result
		n.staticMu.Unlock()
		return
	}
	a := &n.answers
	switch {
	case a.store == nil || !c.Cacheable():
	case resp.Error != nil, ans.k > 0, ans.notes.Level != "":
		// Errors may clear; an answer fewer operators backed than the
		// quorum asks for, or one not fully proven, is served with its
		// header, never kept.
	case pl.Verify && c.FollowsTip && n.head.Tip().Seq != tip.Seq:
		// Verified reads consult the trusted tip as they go; if it moved
		// meanwhile, the answer may be about a block the key does not
		// name.
	default:
		key, life := c.Admit(resp.Result, tip)
		if life == plan.NoCache || len(resp.Result) > a.maxEntry {
			return
		}
		ttl := a.tipTTL
		if life == plan.Final {
			ttl = a.finalTTL
		}
		a.store.Set(ctx, a.prefix+key, resp.Result, ttl)
		a.metrics.Stored(n.Name, life.String())
	}
}
