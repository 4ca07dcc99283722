package strict

import (
	"sync"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"

	"github.com/braidrpc/braid/internal/clock"
)

// This file remembers the transactions braid itself broadcast and an
// operator accepted, by sender and nonce: braid saw them signed, so they
// count in the sender's pending nonce whatever the operators' pools say.
// A wallet that sends through braid and asks for its next nonce at once
// gets it even while the operators' pools have not all seen the first
// transaction, without braid believing any one operator's count.

const (
	// relayTTL is how long a relayed transaction counts: a transaction
	// that is neither mined nor re-sent by then is likely dropped, and a
	// nonce counted for it would leave the wallet's next one behind a gap.
	relayTTL = 10 * time.Minute
	// relaySenders bounds the senders remembered; the one relayed to
	// longest ago goes first.
	relaySenders = 4096
)

// relayed is the transactions braid relayed, by sender. The zero value is
// not usable: see newRelayed.
type relayed struct {
	clock clock.Clock
	mu    sync.Mutex
	by    map[common.Address]*sender
}

// sender is one account's relayed nonces and when each was relayed.
type sender struct {
	nonces map[uint64]time.Time
	last   time.Time
}

func newRelayed(c clock.Clock) *relayed {
	if c == nil {
		c = clock.Real{}
	}
	return &relayed{clock: c, by: make(map[common.Address]*sender)}
}

// add remembers tx, an operator having accepted it. A transaction whose
// sender cannot be recovered is not one any node accepts; it is ignored.
func (r *relayed) add(tx *types.Transaction) {
	from, err := types.Sender(types.LatestSignerForChainID(tx.ChainId()), tx)
	if err != nil {
		return
	}
	now := r.clock.Now()
	r.mu.Lock()
	defer r.mu.Unlock()
	s := r.by[from]
	if s == nil {
		if len(r.by) >= relaySenders {
			r.dropOldest()
		}
		s = &sender{nonces: make(map[uint64]time.Time)}
		r.by[from] = s
	}
	if len(s.nonces) >= pendingSlack {
		s.expire(now, true)
	}
	s.nonces[tx.Nonce()] = now
	s.last = now
}

// next is n raised past every nonce from n upward that braid relayed for
// addr within relayTTL without a gap: the count a pool holding them would
// give. Nonces below floor (mined, as proven) are forgotten.
func (r *relayed) next(addr common.Address, n, floor uint64) uint64 {
	now := r.clock.Now()
	r.mu.Lock()
	defer r.mu.Unlock()
	s := r.by[addr]
	if s == nil {
		return n
	}
	for nonce := range s.nonces {
		if nonce < floor {
			delete(s.nonces, nonce)
		}
	}
	s.expire(now, false)
	if len(s.nonces) == 0 {
		delete(r.by, addr)
		return n
	}
	for range pendingSlack {
		if _, ok := s.nonces[n]; !ok {
			break
		}
		n++
	}
	return n
}

// expire drops the nonces older than relayTTL, and with full also the
// oldest one, to make room.
func (s *sender) expire(now time.Time, full bool) {
	var oldest uint64
	var at time.Time
	for nonce, t := range s.nonces {
		if now.Sub(t) > relayTTL {
			delete(s.nonces, nonce)
			continue
		}
		if at.IsZero() || t.Before(at) {
			oldest, at = nonce, t
		}
	}
	if full && len(s.nonces) >= pendingSlack {
		delete(s.nonces, oldest)
	}
}

// dropOldest forgets the sender relayed to longest ago. r.mu is held.
func (r *relayed) dropOldest() {
	var oldest common.Address
	var at time.Time
	for addr, s := range r.by {
		if at.IsZero() || s.last.Before(at) {
			oldest, at = addr, s.last
		}
	}
	delete(r.by, oldest)
}
