package status

import (
	"fmt"
	"time"

	"github.com/braidrpc/braid/internal/block"
	"github.com/braidrpc/braid/internal/head"
	"github.com/braidrpc/braid/internal/upstream"
)

// Health is one network's line in /healthz.
type Health struct {
	Usable    int    `json:"usable"`
	Upstreams int    `json:"upstreams"`
	Problem   string `json:"problem,omitempty"`
}

// HealthOf says whether a network of ups has a usable upstream, and if
// not, why not.
func HealthOf(ups []*upstream.Upstream) Health {
	h := Health{Upstreams: len(ups)}
	counts := map[upstream.State]int{}
	suspended := 0
	for _, u := range ups {
		s, _ := u.State()
		counts[s]++
		if _, _, ok := u.Suspended(); ok && s == upstream.Ready {
			suspended++
		}
	}
	h.Usable = counts[upstream.Ready] - suspended
	if h.Usable == 0 {
		h.Problem = fmt.Sprintf("no usable upstream: %d unverified (chain id not confirmed yet), %d quarantined, %d suspended for lost disputes",
			counts[upstream.Unverified], counts[upstream.Quarantined], suspended)
	}
	return h
}

// Readiness is one network's line in /readyz.
type Readiness struct {
	Ready bool `json:"ready"`
	// Tip is the served latest block number; null before the first.
	Tip *uint64 `json:"tip"`
	// TipAgeSeconds is how long the served tip has not moved.
	TipAgeSeconds float64 `json:"tip_age_seconds"`
	// HighestHead is the highest latest block a usable upstream reports.
	HighestHead *uint64 `json:"highest_head,omitempty"`
	Problem     string  `json:"problem,omitempty"`
}

// ReadinessOf says whether a network can serve now: a usable upstream
// (h), a served tip, and a tip that is not stalled (p, head.stall_after).
// trustProblem is why a light client's tip cannot be trusted now (trust:
// beacon; "" otherwise): never a fallback to operators.
func ReadinessOf(h Health, tip block.Tip, p head.Progress, trustProblem string) Readiness {
	r := Readiness{TipAgeSeconds: Round3(p.TipAge.Seconds())}
	if tip.Known {
		num := tip.Latest.Number
		r.Tip = &num
	}
	if p.HighestKnown {
		hi := p.Highest
		r.HighestHead = &hi
	}
	switch {
	case h.Problem != "":
		r.Problem = h.Problem
	case trustProblem != "":
		r.Problem = trustProblem
	case !tip.Known:
		r.Problem = "no served tip yet: " + p.Reason
	case p.Stalled:
		r.Problem = fmt.Sprintf("served tip %d cannot advance (unchanged for %s, highest head %d): %s",
			tip.Latest.Number, p.TipAge.Round(time.Second), p.Highest, p.Reason)
	default:
		r.Ready = true
	}
	return r
}
