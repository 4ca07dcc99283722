package stream

import (
	"cmp"
	"context"
	"fmt"
	"slices"

	"github.com/ethereum/go-ethereum/common"

	"github.com/braidrpc/braid/internal/block"
)

// step brings the emitted chain to the current target.
func (f *Follower) step(ctx context.Context) error {
	// The consumers at the start are the ones this step serves: whether
	// logs are fetched is decided for them. One that arrives meanwhile
	// starts with the next event.
	f.mu.Lock()
	target, targetAt, wantLogs := f.target, f.targetAt, f.wantLogs > 0
	start, startSent, restart := f.start, f.startSent, f.restart
	f.restart = false
	served := make(map[*Subscription]bool, len(f.subs))
	for s := range f.subs {
		served[s] = true
	}
	f.mu.Unlock()
	if len(served) == 0 || restart {
		// Nobody listens: fetch nothing. A first consumer again: start
		// afresh from its starting point.
		f.chain = nil
		clear(f.fetched)
	}
	if len(served) == 0 || target.Hash == (common.Hash{}) {
		return nil // no consumer, or no served tip yet
	}
	if len(f.chain) == 0 {
		base, err := f.base(ctx, start, startSent)
		if err != nil {
			return err
		}
		f.chain = []*Block{{Header: base}}
	}
	if f.top().Hash == target.Hash {
		return nil
	}
	added, join, err := f.walk(ctx, target)
	if err != nil {
		return err
	}
	if wantLogs {
		if err := f.fetchLogs(ctx, added); err != nil {
			return err
		}
	}
	removed, keep := f.splice(join, added, target)
	f.publish(served, keep, added, removed)
	if f.delay != nil && len(added) > 0 && added[len(added)-1].Hash == target.Hash {
		f.delay(f.clock.Now().Sub(targetAt))
	}
	return nil
}

// walk fetches the blocks from the target back to one already emitted
// (join, its index in f.chain) and returns them ascending. join is -1
// when the walk ends below the remembered blocks or at the backfill limit.
func (f *Follower) walk(ctx context.Context, target block.Block) (added []*Block, join int, err error) {
	var branch []block.Header // descending
	hash, num := target.Hash, target.Number
	join = -1
	for {
		if i := f.index(num); i >= 0 && f.chain[i].Hash == hash {
			join = i
			break
		}
		if len(branch) == f.maxBF {
			f.log.Warn("block stream skipped a gap longer than the backfill limit",
				"from", f.top().Number, "to", target.Number, "max_backfill", f.maxBF)
			break
		}
		h, err := f.header(ctx, hash, num)
		if err != nil {
			return nil, 0, err
		}
		branch = append(branch, h)
		if num == 0 || num-1 < f.chain[0].Number {
			// Below what is remembered: a reorg deeper than Depth, or
			// a restart of the chain. Emit from here.
			f.log.Warn("block stream reorg reaches below the blocks it remembers",
				"number", num, "remembered_from", f.chain[0].Number)
			break
		}
		hash, num = h.ParentHash, num-1
	}
	added = make([]*Block, 0, len(branch))
	for i := len(branch) - 1; i >= 0; i-- {
		added = append(added, &Block{Header: branch[i]})
	}
	return added, join, nil
}

// fetchLogs fetches and encodes the logs of blocks.
func (f *Follower) fetchLogs(ctx context.Context, blocks []*Block) error {
	for _, b := range blocks {
		logs, err := f.src.Logs(ctx, b.Hash)
		if err != nil {
			return fmt.Errorf("logs of block %d %s: %w", b.Number, b.Hash, err)
		}
		if b.Logs, err = encodeLogs(b.Header, logs); err != nil {
			return err
		}
	}
	return nil
}

// splice works out which emitted blocks the new ones replace (removed)
// and which they extend (keep).
func (f *Follower) splice(join int, added []*Block, target block.Block) (removed, keep []*Block) {
	keep = f.chain
	if join >= 0 {
		removed, keep = f.chain[join+1:], f.chain[:join+1]
	} else if len(added) > 0 {
		cut := len(f.chain)
		for i, b := range f.chain {
			if b.Number >= added[0].Number {
				cut = i
				break
			}
		}
		removed, keep = f.chain[cut:], f.chain[:cut]
		if cut == 0 || keep[cut-1].Number+1 != added[0].Number {
			keep = nil // a gap: memory restarts at the new blocks
		}
	}
	if len(removed) > 0 {
		f.log.Info("block stream reorg", "removed", len(removed), "added", len(added),
			"from", removed[0].Number, "new_head", target.Number, "new_hash", target.Hash)
	}
	for _, b := range removed {
		for i := range b.Logs {
			if b.Logs[i].RemovedJSON == nil {
				b.Logs[i].RemovedJSON = encodeRemoved(b.Logs[i].Log)
			}
		}
	}
	return removed, keep
}

// publish makes keep+added the emitted chain and sends the event to the
// consumers this step serves.
func (f *Follower) publish(served map[*Subscription]bool, keep, added, removed []*Block) {
	type delivery struct {
		s     *Subscription
		since uint64
	}
	f.mu.Lock()
	f.seq++
	seq := f.seq
	subs := make([]delivery, 0, len(f.subs))
	for s := range f.subs {
		if !served[s] {
			s.since = seq // it was not sent these blocks: never take them back
			continue
		}
		subs = append(subs, delivery{s, s.since})
	}
	f.mu.Unlock()
	slices.SortFunc(subs, func(a, b delivery) int { return cmp.Compare(a.s.order, b.s.order) })
	for _, b := range added {
		b.seq = seq
	}
	chain := append(slices.Clip(keep), added...)
	if len(chain) > f.depth {
		chain = chain[len(chain)-f.depth:]
	}
	f.chain = chain
	clear(f.fetched)

	for _, d := range subs {
		ev := Event{Added: added, Removed: removed}
		if len(removed) > 0 && removed[0].seq <= d.since {
			// Only what this consumer was sent can be taken back.
			ev.Removed = nil
			for _, b := range removed {
				if b.seq > d.since {
					ev.Removed = append(ev.Removed, b)
				}
			}
		}
		d.s.deliver(ev)
	}
}

// base is the block the stream starts after, itself never sent: the
// served tip when the first consumer subscribed or, when none was known
// then (sent), the parent of the first tip announced since. Only its
// number and hash are needed (a walk back joins the chain at it), so the
// starting point is fixed at Subscribe and a failing source cannot move
// it.
func (f *Follower) base(ctx context.Context, start block.Block, sent bool) (block.Header, error) {
	if !sent || start.Number == 0 { // nothing comes before genesis
		return block.Header{Block: block.Block{Number: start.Number, Hash: start.Hash}}, nil
	}
	h, err := f.header(ctx, start.Hash, start.Number)
	if err != nil {
		return block.Header{}, err
	}
	return block.Header{Block: block.Block{Number: h.Number - 1, Hash: h.ParentHash}}, nil
}

func (f *Follower) top() *Block { return f.chain[len(f.chain)-1] }

// index is the position of block number n in f.chain, or -1.
func (f *Follower) index(n uint64) int {
	if len(f.chain) == 0 || n < f.chain[0].Number || n > f.top().Number {
		return -1
	}
	return int(n - f.chain[0].Number)
}

// header fetches (or recalls from a failed step) the header of hash and
// checks it is the block number the walk expects.
func (f *Follower) header(ctx context.Context, hash common.Hash, number uint64) (block.Header, error) {
	if h, ok := f.fetched[hash]; ok {
		return h, nil
	}
	h, err := f.src.Header(ctx, hash)
	if err != nil {
		return block.Header{}, fmt.Errorf("header %s: %w", hash, err)
	}
	if h.Hash != hash || h.Number != number {
		return block.Header{}, fmt.Errorf("%w: asked for block %d %s, got %d %s", ErrWrongHeader, number, hash, h.Number, h.Hash)
	}
	if len(f.fetched) < f.maxBF {
		f.fetched[hash] = h
	}
	return h, nil
}
