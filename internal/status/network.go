package status

import (
	"github.com/braidrpc/braid/internal/archive"
	"github.com/braidrpc/braid/internal/beacon"
	"github.com/braidrpc/braid/internal/block"
	"github.com/braidrpc/braid/internal/plan"
	"github.com/braidrpc/braid/internal/replica"
	"github.com/braidrpc/braid/internal/stream"
	"github.com/braidrpc/braid/internal/trust"
)

// Gateway is what GET /status shows: every network's served tip and every
// upstream's state. URLs are shown redacted (scheme and host).
type Gateway struct {
	// Replica is this replica and the Redis it shares state through
	// (absent without redis.url).
	Replica  *replica.Status `json:"replica,omitempty"`
	Networks []Network       `json:"networks"`
	// Memory is the process's heap beside the answer cache's bytes.
	Memory Memory `json:"memory"`
}

// Network is one network in Gateway.
type Network struct {
	Name         string        `json:"name"`
	ChainID      uint64        `json:"chain_id"`
	Tip          block.Tip     `json:"tip"`
	MinOperators int           `json:"min_operators"`
	MaxLagBlocks uint64        `json:"max_lag_blocks"`
	Quorum       Quorum        `json:"quorum"`
	Operators    []Operator    `json:"operators"`
	Upstreams    []Upstream    `json:"upstreams"`
	Streams      stream.Counts `json:"streams"`
	// Replicas are the served tips every replica published (shared
	// through Redis; absent without it).
	Replicas []replica.Tip `json:"replicas,omitempty"`

	// TipAgeSeconds is how long the served latest block has not moved
	// (before the first tip: since start).
	TipAgeSeconds float64 `json:"tip_age_seconds"`
	// HighestHead is the highest latest block a usable upstream reports
	// (absent while none has reported).
	HighestHead *uint64 `json:"highest_head,omitempty"`
	// Stalled: the highest head has been above the tip for
	// head.stall_after with the tip not moving; StallReason says why.
	Stalled     bool   `json:"stalled"`
	StallReason string `json:"stall_reason,omitempty"`

	// Cache counts the cacheable calls since start (absent when the
	// cache is off).
	Cache *Cache `json:"cache,omitempty"`
	// Trust is where the served tip comes from: "operators" or "beacon";
	// Beacon is the light client's state with trust: beacon.
	Trust  string             `json:"trust"`
	Beacon *beacon.RootStatus `json:"beacon,omitempty"`
	// Lies are the recent answers that failed verification, newest
	// first (verify: strict).
	Lies []trust.Lie `json:"lies,omitempty"`
	// Methods says, in strict mode, how each method braid knows is
	// answered: proven, derived, quorum_only, or refused (with why).
	// Methods braid does not know are answered -32601.
	Methods *plan.MethodProofs `json:"methods,omitempty"`
	// Peers are the other gateways this network's peer node knows and
	// History its store and where history answers came from (absent
	// unless peers.enabled).
	Peers   []archive.PeerView     `json:"peers,omitempty"`
	History *archive.HistoryStatus `json:"history,omitempty"`
}

// BeaconStatus is the light client's state with what braid serves from it
// (trust: beacon).
type BeaconStatus = beacon.RootStatus
