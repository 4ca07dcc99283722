package upstream

import (
	"math"
	"sync"
)

// Data is the kind of historical data a request needs.
type Data int

const (
	// HistoryData: blocks, transactions, receipts, logs.
	HistoryData Data = iota
	// StateData: balances, code, storage, nonces, calls at a block.
	StateData
)

func (d Data) String() string {
	if d == StateData {
		return "state"
	}
	return "history"
}

// Unlimited is the depth of an archive node, or of one whose limit braid
// has not learned yet.
const Unlimited = math.MaxUint64

// depth learns how far back an upstream holds data, in blocks below its
// own head. It starts unlimited (or is unlimited for good with archive:
// true) and shrinks when the upstream says it lacks data at some depth; a
// later answer at a greater depth raises it again (a node that was resynced
// or upgraded).
type depth struct {
	mu      sync.Mutex
	archive bool
	limit   [2]uint64 // per Data: data deeper than limit is missing
}

func newDepth(archive bool) *depth {
	return &depth{archive: archive, limit: [2]uint64{Unlimited, Unlimited}}
}

// lacks records that the upstream did not have data at depth d.
func (dp *depth) lacks(kind Data, d uint64) {
	if dp.archive {
		return
	}
	dp.mu.Lock()
	defer dp.mu.Unlock()
	if d < dp.limit[kind] {
		dp.limit[kind] = d
		if kind == HistoryData && d < dp.limit[StateData] {
			dp.limit[StateData] = d // no block, no state at it either
		}
	}
}

// holds records that the upstream answered at depth d.
func (dp *depth) holds(kind Data, d uint64) {
	dp.mu.Lock()
	defer dp.mu.Unlock()
	if dp.limit[kind] != Unlimited && d >= dp.limit[kind] {
		dp.limit[kind] = d + 1
	}
}

// mayHold reports whether data at depth d may be there.
func (dp *depth) mayHold(kind Data, d uint64) bool {
	if dp.archive {
		return true
	}
	dp.mu.Lock()
	defer dp.mu.Unlock()
	return d < dp.limit[kind]
}

func (dp *depth) get(kind Data) uint64 {
	dp.mu.Lock()
	defer dp.mu.Unlock()
	return dp.limit[kind]
}

// LacksData records that the upstream answered "missing" for data at depth
// blocks below its head.
func (u *Upstream) LacksData(kind Data, depth uint64) { u.depth.lacks(kind, depth) }

// HoldsData records an answer for data at depth blocks below its head.
func (u *Upstream) HoldsData(kind Data, depth uint64) { u.depth.holds(kind, depth) }

// MayHold reports whether the upstream may hold data at depth blocks below
// its head.
func (u *Upstream) MayHold(kind Data, depth uint64) bool { return u.depth.mayHold(kind, depth) }

// Depth returns the learned depth for kind (Unlimited when none learned).
func (u *Upstream) Depth(kind Data) uint64 { return u.depth.get(kind) }
