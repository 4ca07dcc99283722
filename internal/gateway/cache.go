package gateway

import (
	"context"
	"sync/atomic"
	"time"

	"golang.org/x/sync/singleflight"

	"github.com/braidrpc/braid/internal/cache"
	"github.com/braidrpc/braid/internal/jsonrpc"
	"github.com/braidrpc/braid/internal/plan"
)

// answers is one network's use of the answer cache: the store (shared by
// the gateway's networks, keys prefixed with the network) and in-flight
// merging.
type answers struct {
	store    cache.Store // nil: caching off
	prefix   string
	tipTTL   time.Duration
	finalTTL time.Duration
	maxEntry int
	sf       singleflight.Group

	hits, misses atomic.Uint64 // lookups since start, for /status
}

// flight is what a merged fetch hands every caller waiting on it.
type flight struct {
	resp          *jsonrpc.Response
	agreed, quota int // a quorum read that fell short (quota 0: none)
	// proof and reasons: an answer not fully proven (strict mode; "":
	// proven or needing no proof).
	proof   string
	reasons []string
}

// readThrough answers a forwarded read from the cache when it can, and
// otherwise fetches it once for every identical call in flight and keeps
// what plan.Caching allows (see merged); a hit needs no deadline.
func (n *Network) readThrough(ctx context.Context, pl *plan.Plan) (*jsonrpc.Response, error) {
	a := &n.answers
	ht := n.head.Tip()
	tip := tipOf(ht)
	c := pl.Caching(tip, pl.Pin(tip, n.maxLag))
	if !c.Cacheable() {
		ctx, cancel := context.WithTimeout(ctx, n.timeout)
		defer cancel()
		return n.fetch(ctx, pl)
	}
	for _, k := range c.Keys {
		if v, ok := a.store.Get(ctx, a.prefix+k); ok {
			n.metrics.cacheLookup(n.Name, pl.Method, true)
			a.hits.Add(1)
			return &jsonrpc.Response{Result: v, Cached: true}, nil
		}
	}
	n.metrics.cacheLookup(n.Name, pl.Method, false)
	a.misses.Add(1)
	v, err := n.merged(ctx, &a.sf, c.Keys[0], func(fctx context.Context) (any, error) {
		fctx, meta := WithMeta(fctx)
		// The call is pinned to the tip its key names, even if the
		// served tip moves while it is fetched.
		fctx = context.WithValue(fctx, tipKey{}, tip)
		resp, err := n.fetch(fctx, pl)
		if err != nil {
			return nil, err
		}
		f := &flight{resp: resp}
		f.agreed, f.quota = meta.shortfall()
		f.proof, f.reasons = meta.proofNotes()
		switch {
		case resp.Error != nil, f.quota > 0, f.proof != "":
			// Errors may clear; an answer fewer operators backed than the
			// quorum asks for, or one not fully proven, is served with its
			// header, never kept.
		case pl.Verify && c.FollowsTip && n.head.Tip().Seq != ht.Seq:
			// Verified reads consult the trusted tip as they go; if it
			// moved meanwhile, the answer may be about a block the key
			// does not name.
		default:
			key, life := c.Admit(resp.Result, tip)
			if life == plan.NoCache || len(resp.Result) > a.maxEntry {
				break
			}
			ttl := a.tipTTL
			if life == plan.Final {
				ttl = a.finalTTL
			}
			a.store.Set(fctx, a.prefix+key, resp.Result, ttl)
			n.metrics.cacheStore(n.Name, life)
		}
		return f, nil
	})
	if err != nil {
		return nil, err
	}
	f := v.(*flight)
	if f.quota > 0 {
		metaFrom(ctx).noteQuorum(f.agreed, f.quota)
	}
	if f.proof != "" {
		metaFrom(ctx).copyProof(f.proof, f.reasons)
	}
	return f.resp, nil
}

// fetch executes a forwarded read: verified in strict mode, otherwise
// pinned and routed.
func (n *Network) fetch(ctx context.Context, pl *plan.Plan) (*jsonrpc.Response, error) {
	var resp *jsonrpc.Response
	var err error
	switch {
	case pl.Verify:
		resp, err = n.verified(ctx, pl)
	case n.verifyCfg.Strict():
		resp, err = n.unproven(ctx, pl)
	default:
		resp, err = n.forward(ctx, pl)
	}
	return n.withHistory(ctx, pl, resp, err)
}

// tipKey carries the tip a cached call is pinned to.
type tipKey struct{}

// tipFor is the tip a call is pinned to: the one its cache key names, or
// the served tip now.
func (n *Network) tipFor(ctx context.Context) plan.Tip {
	if t, ok := ctx.Value(tipKey{}).(plan.Tip); ok {
		return t
	}
	return n.Tip()
}
