// Package status holds the shapes GET /status shows (Gateway, Network) and
// builds the snapshots of one part of braid at a time, from small
// interfaces: an upstream (state, health, breaker, rate budget, depth,
// and its heads as the head tracker knows them), a network's cache
// lookups, and the process's memory beside the answer cache's. Package
// gateway assembles them per network; nothing here changes what it reads.
package status

import (
	"math"
	"strconv"
	"time"

	"github.com/braidrpc/braid/internal/head"
	"github.com/braidrpc/braid/internal/upstream"
)

// Quorum is a network's quorum policy: k per method above 1.
type Quorum struct {
	K           int            `json:"k"`
	OnDispute   string         `json:"on_dispute"`
	OnShortfall string         `json:"on_shortfall"`
	Methods     map[string]int `json:"methods,omitempty"`
}

// Operator is one operator's standing: strikes for answers that lost
// disputes within the strike window, and a quarantine they caused.
type Operator struct {
	Name             string     `json:"name"`
	Upstreams        int        `json:"upstreams"`
	Strikes          int        `json:"strikes"`
	MaxStrikes       int        `json:"max_strikes"`
	QuarantinedUntil *time.Time `json:"quarantined_until,omitempty"`
}

// Cache is a network's answer-cache lookups since start: the JSON view of
// braid_cache_requests_total.
type Cache struct {
	Hits    uint64  `json:"hits"`
	Misses  uint64  `json:"misses"`
	HitRate float64 `json:"hit_rate"` // hits / (hits + misses); 0 before any
}

// CacheOf counts hits and misses.
func CacheOf(hits, misses uint64) *Cache {
	c := &Cache{Hits: hits, Misses: misses}
	if total := hits + misses; total > 0 {
		c.HitRate = Round3(float64(hits) / float64(total))
	}
	return c
}

// Upstream is one upstream in /status.
type Upstream struct {
	Name         string      `json:"name"`
	Operator     string      `json:"operator"`
	URL          string      `json:"url"`
	WebSocket    bool        `json:"websocket"`
	State        string      `json:"state"`
	Condition    string      `json:"condition"`
	Quarantine   string      `json:"quarantine,omitempty"`
	Head         *head.Heads `json:"head,omitempty"`
	LagBlocks    *uint64     `json:"lag_blocks,omitempty"`
	Score        float64     `json:"score"`
	LatencyMS    float64     `json:"latency_ms"`
	ErrorRate    float64     `json:"error_rate"`
	ThrottleRate float64     `json:"throttle_rate"`
	Throttled    bool        `json:"throttled"`
	Breaker      string      `json:"breaker"`
	Successes    uint64      `json:"successes"`
	Failures     uint64      `json:"failures"`
	Depth        Depths      `json:"depth"`
	Budget       Budget      `json:"rate_budget"`

	// BehindHighest is how far its latest is behind the network's highest
	// head (lag_blocks is against the served tip, which may be stalled).
	BehindHighest *uint64 `json:"behind_highest_blocks,omitempty"`
}

// Depths is how far back an upstream holds data, as braid learned it.
type Depths struct {
	Archive bool   `json:"archive"`
	State   string `json:"state"`
	History string `json:"history"`
}

// Budget shows an upstream's request-rate budget (per second; 0 is
// unlimited).
type Budget struct {
	Configured float64 `json:"configured_rps"`
	Effective  float64 `json:"effective_rps"`
	Observed   float64 `json:"observed_rps"`
}

// Heads is what the head tracker knows of an upstream (head.Tracker).
type Heads interface {
	Heads(u *upstream.Upstream) (head.Heads, bool)
	Lag(u *upstream.Upstream) (uint64, bool)
	BehindHighest(u *upstream.Upstream) (uint64, bool)
}

var _ Heads = (*head.Tracker)(nil)

// UpstreamOf is u's snapshot, with its heads as heads knows them.
func UpstreamOf(u *upstream.Upstream, heads Heads) Upstream {
	state, reason := u.State()
	snap := u.Health().Snapshot("")
	conf, eff, obs := u.Budget().Rate()
	us := Upstream{
		Name:         u.Name,
		Operator:     u.Operator,
		URL:          u.RedactedURL(),
		WebSocket:    u.WSURL != "",
		State:        state.String(),
		Condition:    string(u.CurrentCondition()),
		Score:        Round3(snap.Score),
		LatencyMS:    Round3(float64(snap.Latency) / float64(time.Millisecond)),
		ErrorRate:    Round3(snap.ErrorRate),
		ThrottleRate: Round3(snap.ThrottleRate),
		Throttled:    snap.Throttled,
		Breaker:      u.Breaker().State().String(),
		Successes:    snap.Successes,
		Failures:     snap.Failures,
		Depth: Depths{
			Archive: u.Archive,
			State:   depthString(u.Depth(upstream.StateData)),
			History: depthString(u.Depth(upstream.HistoryData)),
		},
		Budget: Budget{Configured: Round3(conf), Effective: Round3(eff), Observed: Round3(obs)},
	}
	if state == upstream.Quarantined {
		us.Quarantine = reason
	} else if until, why, ok := u.Suspended(); ok {
		us.Quarantine = why + " (until " + until.UTC().Format(time.RFC3339) + ")"
	}
	if h, ok := heads.Heads(u); ok {
		us.Head = &h
	}
	if lag, ok := heads.Lag(u); ok {
		us.LagBlocks = &lag
	}
	if behind, ok := heads.BehindHighest(u); ok {
		us.BehindHighest = &behind
	}
	return us
}

func depthString(d uint64) string {
	if d == upstream.Unlimited {
		return "unlimited"
	}
	return strconv.FormatUint(d, 10) + " blocks"
}

// Round3 rounds f to three decimals for display (0 for NaN and ±Inf).
func Round3(f float64) float64 {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return 0
	}
	return math.Round(f*1000) / 1000
}
