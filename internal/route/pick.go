package route

import (
	"slices"
	"time"

	"github.com/braidrpc/braid/internal/upstream"
)

type cand struct {
	u     *upstream.Upstream
	score float64
	head  uint64
}

// pick returns the best candidate not yet tried, admitted by its breaker
// and rate budget, or, when only budget is lacking, how long until one
// has some. Upstreams that are throttled, have an open breaker, or have
// shown they lack the data are tried only after every other.
func (r *Router) pick(c Call, tried, excluded upstreams) (*upstream.Upstream, time.Duration) {
	best, rest := r.candidates(c, tried, excluded)
	if len(best) > 1 && len(tried) == 0 && r.rand() < r.probeShare {
		// A probe: a random non-best upstream goes first, so one that
		// recovered is measured again instead of ignored for ever.
		i := 1 + int(r.rand()*float64(len(best)-1))
		best[0], best[i] = best[i], best[0]
	}
	// A half-open breaker waits for one probe to learn whether its
	// upstream recovered: it goes first (failover covers a failed probe).
	slices.SortStableFunc(best, func(a, b cand) int {
		ah, bh := a.u.Breaker().State() == upstream.BreakerHalfOpen, b.u.Breaker().State() == upstream.BreakerHalfOpen
		switch {
		case ah && !bh:
			return -1
		case bh && !ah:
			return 1
		}
		return 0
	})
	var wait time.Duration
	all := append(best, rest...)
	refused := false
	for _, cd := range all {
		if !cd.u.Breaker().Allow() {
			refused = true
			continue
		}
		ok, w := cd.u.Budget().Take()
		if ok {
			return cd.u, 0
		}
		cd.u.Breaker().Release()
		if wait == 0 || w < wait {
			wait = w
		}
	}
	if refused && wait == 0 {
		// Every candidate is held back by its breaker (open, or its one
		// half-open probe already out): asking one is better than failing
		// the client outright without trying anybody.
		for _, cd := range all {
			if ok, _ := cd.u.Budget().Take(); ok {
				return cd.u, 0
			}
		}
	}
	return nil, wait
}

// Probe reports whether this call should be a probe (the configured
// probe share of calls): a quorum read uses it to audit an operator the
// ranking would not ask.
func (r *Router) Probe() bool { return r.rand() < r.probeShare }

// Operators returns the distinct operators that have an upstream able to
// take c, best first: ranked by their best upstream, and operators whose
// every upstream is a last resort (throttled, open breaker, lacking the
// data) after the others.
func (r *Router) Operators(c Call) []string {
	best, rest := r.candidates(c, nil, nil)
	var ops []string
	for _, cd := range append(best, rest...) {
		if !slices.Contains(ops, cd.u.Operator) {
			ops = append(ops, cd.u.Operator)
		}
	}
	return ops
}

// UsableOperators counts the distinct operators with a usable upstream.
func (r *Router) UsableOperators() int {
	var ops []string
	for _, u := range r.upstreams {
		if u.Usable() && !slices.Contains(ops, u.Operator) {
			ops = append(ops, u.Operator)
		}
	}
	return len(ops)
}

// candidates returns the upstreams that may take c and were not tried,
// sorted by score: those to try first, and last resorts.
func (r *Router) candidates(c Call, tried, excluded upstreams) (best, rest []cand) {
	pool := r.upstreams
	if c.Only != nil {
		pool = []*upstream.Upstream{c.Only}
	}
	minHead := c.MinHead
	beyond := r.beyondHeads(c)
	if beyond {
		minHead = c.Floor
	}
	for _, u := range pool {
		if !r.eligible(c, u) || tried.has(u) || excluded.has(u) {
			continue
		}
		var head uint64
		headKnown := false
		if r.heads != nil {
			head, headKnown = r.heads.Head(u)
		}
		if minHead > 0 && (!headKnown || head < minHead) {
			continue // it lacks the block the call is pinned to
		}
		snap := u.Health().Snapshot(c.Class)
		cd := cand{u: u, score: snap.Score, head: head}
		lastResort := snap.Throttled || u.Breaker().State() == upstream.BreakerOpen
		if c.HasBlock && headKnown && head >= c.Block && !u.MayHold(c.Data, head-c.Block) {
			lastResort = true
		}
		if lastResort {
			rest = append(rest, cd)
		} else {
			best = append(best, cd)
		}
	}
	byScore := func(a, b cand) int {
		switch {
		case a.score < b.score:
			return -1
		case a.score > b.score:
			return 1
		}
		return 0
	}
	slices.SortStableFunc(best, byScore)
	slices.SortStableFunc(rest, byScore)
	if beyond {
		// Nobody has the block: the upstream closest to having it answers.
		byHead := func(a, b cand) int { return cmpDesc(a.head, b.head) }
		slices.SortStableFunc(best, byHead)
		slices.SortStableFunc(rest, byHead)
	}
	return best, rest
}

func cmpDesc(a, b uint64) int {
	switch {
	case a > b:
		return -1
	case a < b:
		return 1
	}
	return 0
}

// eligible reports whether u may take c at all: usable, of the call's
// operator (if any), not excluded, the one upstream asked for (if any).
func (r *Router) eligible(c Call, u *upstream.Upstream) bool {
	return u.Usable() && (c.Only == nil || u == c.Only) && (c.Operator == "" || u.Operator == c.Operator) &&
		!slices.Contains(c.Exclude, u.Operator)
}

// beyondHeads reports whether c names a block above the served tip that no
// upstream able to take it has reached: then the ones holding the tip
// answer for it.
func (r *Router) beyondHeads(c Call) bool {
	if !c.Ahead || c.MinHead == 0 || c.Floor >= c.MinHead || r.heads == nil {
		return false
	}
	for _, u := range r.upstreams {
		if !r.eligible(c, u) {
			continue
		}
		if h, ok := r.heads.Head(u); ok && h >= c.MinHead {
			return false
		}
	}
	return true
}
