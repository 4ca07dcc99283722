package devnet

import (
	"fmt"
	"math"
	"math/rand/v2"
)

// Faults are what a provider does wrong; the zero value is an honest
// provider. All faults combine: a request first meets Down, then
// LatencyMS, then HTTPStatus; each call in it then meets ErrorRate, then
// LagBlocks, and its answer Lie. Over WebSocket the same faults apply per
// message and per call; Provider.serveWS (ws.go) lists how each affects
// the connection and its notifications.
type Faults struct {
	// Down makes the provider a dead host: connections are closed
	// unanswered, and setting it drops open WebSocket connections.
	Down bool `json:"down,omitempty"`
	// LatencyMS delays every request by that many milliseconds (over
	// WebSocket: every answer and notification).
	LatencyMS int `json:"latency_ms,omitempty"`
	// ErrorRate (0..1) is the chance each call fails with -32603.
	ErrorRate float64 `json:"error_rate,omitempty"`
	// LagBlocks makes the provider serve as if its head were that many
	// blocks behind the chain's, pushed newHeads included.
	LagBlocks uint64 `json:"lag_blocks,omitempty"`
	// HTTPStatus (400..599) answers every request, WebSocket upgrades
	// included, with that status; 429 comes with Retry-After: 1.
	HTTPStatus int `json:"http_status,omitempty"`
	// Lie makes state, block, transaction, receipt and log answers
	// well-formed but wrong, the same wrong answer every time.
	// Subscription notifications stay honest.
	Lie bool `json:"lie,omitempty"`
	// LieVariant picks which lie (1 to 255, default 1): two providers
	// lying with different variants disagree with each other too.
	LieVariant int `json:"lie_variant,omitempty"`
	// LieKind is what the lie does: "alter" values (default), "drop" the
	// last transaction of a block or log of a list, or "add" a copy of it.
	LieKind string `json:"lie_kind,omitempty"`
	// LieMethod, when set, confines Lie to answers of that one method
	// (e.g. eth_getTransactionCount: a pool count no proof covers).
	LieMethod string `json:"lie_method,omitempty"`
	// LieBelow, when set, confines Lie to block objects of blocks numbered
	// below it: a node forging old history under an honest head.
	LieBelow uint64 `json:"lie_below,omitempty"`
	// PruneBelow makes the provider a node that pruned history (EIP-4444)
	// below that block number: bodies, receipts and transaction lookups
	// of older blocks are gone (go-ethereum's code 4444, "pruned history
	// unavailable", or null for lookups by transaction hash, as geth
	// answers; prune.go lists each method), headers and state stay.
	PruneBelow uint64 `json:"prune_below,omitempty"`
	// PruneKeep prunes every block but the newest PruneKeep: a moving
	// cutoff at head+1-PruneKeep (with PruneBelow, the higher one wins).
	PruneKeep uint64 `json:"prune_keep,omitempty"`
	// PoolBlind makes the provider a node whose pool has not seen the
	// chain's pending transactions yet (a wallet's just-sent one reached
	// other nodes first): reads at "pending" are answered at "latest".
	PoolBlind bool `json:"pool_blind,omitempty"`
}

// Validate reports the first out-of-range field in words a user can act on.
func (f Faults) Validate() error {
	switch {
	case f.LatencyMS < 0:
		return fmt.Errorf("latency_ms must not be negative, got %d", f.LatencyMS)
	case math.IsNaN(f.ErrorRate) || f.ErrorRate < 0 || f.ErrorRate > 1:
		return fmt.Errorf("error_rate must be between 0 and 1, got %v", f.ErrorRate)
	case f.LieKind != "" && f.LieKind != LieAlter && f.LieKind != LieDrop && f.LieKind != LieAdd:
		return fmt.Errorf("lie_kind must be %q, %q or %q, got %q", LieAlter, LieDrop, LieAdd, f.LieKind)
	case f.LieVariant < 0 || f.LieVariant > 255:
		return fmt.Errorf("lie_variant must be between 1 and 255, got %d", f.LieVariant)
	case f.HTTPStatus != 0 && (f.HTTPStatus < 400 || f.HTTPStatus > 599):
		return fmt.Errorf("http_status must be an error status between 400 and 599, got %d", f.HTTPStatus)
	}
	return nil
}

// IsZero reports whether the provider is honest.
func (f Faults) IsZero() bool { return f == Faults{} }

// fail draws whether one call fails by ErrorRate.
func (f Faults) fail() bool {
	return f.ErrorRate > 0 && rand.Float64() < f.ErrorRate
}
