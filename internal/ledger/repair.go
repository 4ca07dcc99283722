package ledger

import (
	"context"
	"errors"
	"time"

	"github.com/ethereum/go-ethereum/common"

	"github.com/braidrpc/braid/internal/history"
	"github.com/braidrpc/braid/internal/peers"
)

// Fill fetches a block (header from braid's trusted path, body and
// receipts from peers, verified) and stores it: the lead implements it over
// peers.Node.Fetch and history.Store.PutBlockRLP. A store that would not
// take it (worth less than everything it would displace) returns an error
// wrapping history.ErrFull.
type Fill func(ctx context.Context, number uint64, hash common.Hash) error

// Repair counts what one RepairOnce did.
type Repair struct {
	Looked int  // old blocks whose holders were counted
	Rare   int  // of them, held by fewer than TargetCopies (weighed)
	Filled int  // of them, fetched and stored
	Full   bool // the store refused one: it holds only content worth more
}

// repairFloor remembers the value of a block the store refused, so repair
// does not fetch content worth no more until it expires.
type repairFloor struct {
	value float64
	until time.Time
}

// RepairOnce looks at RepairBatch random old blocks (from RepairFrom to
// AgeDepth below the tip) this node does not hold, counts their holders
// (weighed by standing: peers that failed audits count for little) and
// fills those held by fewer than TargetCopies, unless the store refused
// content worth as much lately. This is how the network drifts to cover
// the long tail: a gateway with room keeps what is old and rare, because
// that is what earns the most.
func (l *Ledger) RepairOnce(ctx context.Context, net Network, headers history.HeaderSource, fill Fill) Repair {
	var r Repair
	head, known := l.headNow()
	if !known || head < l.cfg.AgeDepth+l.cfg.RepairFrom {
		return r
	}
	last := head - l.cfg.AgeDepth
	for range l.cfg.RepairBatch {
		if ctx.Err() != nil {
			break
		}
		l.mu.Lock()
		n := l.cfg.RepairFrom + l.rnd.Uint64N(last-l.cfg.RepairFrom+1)
		l.mu.Unlock()
		h, err := headers.Header(ctx, n)
		if err != nil {
			continue
		}
		hash := h.Hash()
		if l.holds(hash) {
			continue
		}
		key := peers.Key{Kind: peers.Receipts, Hash: hash}
		holders, err := net.FindHolders(ctx, key)
		if err != nil {
			continue
		}
		age := depthAge(n, head, true)
		now := l.now()
		l.mu.Lock()
		copies := l.observe(key, age, ids(holders), now, nil)
		l.found.put(hash, copies)
		floor := l.full
		l.mu.Unlock()
		r.Looked++
		if copies >= l.cfg.TargetCopies {
			continue
		}
		r.Rare++
		value := ageFactor(&l.cfg, age) * rarityFactor(&l.cfg, copies+1)
		if now.Before(floor.until) && value <= floor.value {
			continue
		}
		switch err := fill(ctx, n, hash); {
		case err == nil:
			r.Filled++
		case errors.Is(err, history.ErrFull):
			r.Full = true
			l.mu.Lock()
			l.full = repairFloor{value: value, until: now.Add(10 * max(l.cfg.RepairInterval, time.Minute))}
			l.mu.Unlock()
		default:
			l.log.Debug("repair fill", "number", n, "err", err)
		}
	}
	l.metrics.repair(r)
	return r
}

// holds reports whether this node holds the block.
func (l *Ledger) holds(hash common.Hash) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.held.m[hash] != nil
}
