package simulation

import (
	"context"
	"errors"
	"fmt"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/braidrpc/braid/internal/history"
	"github.com/braidrpc/braid/internal/ledger"
	"github.com/braidrpc/braid/internal/peers"
)

// maxHolders is how many holders a search returns (peers'
// Limits.MaxHolders default).
const maxHolders = 16

var (
	// honestData is what an honest holder sends: the receipts of an
	// empty block, which pass peers.CheckReceipts.
	honestData = []byte{0xc0}
	// falseData is what a liar sends: it fails the check (malformed).
	falseData  = []byte{0x01, 0x02}
	errNoBlock = errors.New("simulation: no such block")
	errFailed  = errors.New("simulation: no answer")
	// errRefused: a store's keeper would not take a repaired block.
	errRefused = fmt.Errorf("simulation: the keeper refused the block: %w", history.ErrFull)
)

// Header gives the canonical header of block n (history.HeaderSource):
// the simulation's trusted path.
func (w *world) Header(_ context.Context, n uint64) (*types.Header, error) {
	if n >= uint64(len(w.headers)) {
		return nil, fmt.Errorf("%w: %d", errNoBlock, n)
	}
	return w.headers[n], nil
}

// age is block b's age now.
func (w *world) age(b uint64) peers.Age {
	head, _ := w.head()
	return peers.Age{Number: b, Depth: head - b, Known: true}
}

// key is the content a fetch asks for: a block's receipts.
func (w *world) key(b uint64) peers.Key {
	return peers.Key{Kind: peers.Receipts, Hash: w.hashes[b]}
}

// findHolders is a DHT search: up to maxHolders random advertisers of
// block b, self left out. Offline peers' records are still found.
func (w *world) findHolders(self *node, b uint64) []peer.ID {
	list := w.holders[b].list
	var out []peer.ID
	add := func(slot int32) {
		if n := w.nodes[slot]; n != self {
			out = append(out, n.id)
		}
	}
	if len(list) <= maxHolders+1 {
		for _, i := range w.rnd.Perm(len(list)) {
			add(list[i])
		}
	} else {
		seen := map[int32]bool{}
		for len(out) < maxHolders && len(seen) < len(list) {
			s := list[w.rnd.IntN(len(list))]
			if !seen[s] {
				seen[s] = true
				add(s)
			}
		}
	}
	if len(out) > maxHolders {
		out = out[:maxHolders]
	}
	return out
}

// record tells both sides' ledgers of a finished exchange, as a
// peers.Node does: the fetcher's (In) and the holder's (Out).
func (w *world) record(from, to *node, b uint64, res peers.Result, holders int) {
	now := w.clk.Now()
	key, age := w.key(b), w.age(b)
	bytes := 0
	if res == peers.Verified || res == peers.Lie {
		bytes = w.p.BlockBytes
	}
	if from.led != nil {
		t := peers.Transfer{Peer: to.id, Direction: peers.In, Key: key, Result: res, Bytes: bytes, Age: age, Holders: holders, At: now}
		switch res {
		case peers.Verified:
			from.led.Delivered(t)
		case peers.Lie:
			from.led.Lied(t)
		default:
			from.led.Missed(t)
		}
	}
	if to.led != nil && to.honest() && res != peers.Failed {
		out := peers.Served
		switch res {
		case peers.NotHeld, peers.Refused, peers.Evicted:
			out = res
		}
		sent := 0
		if out == peers.Served {
			sent = w.p.BlockBytes
		}
		to.led.Served(peers.Transfer{Peer: from.id, Direction: peers.Out, Key: key, Result: out, Bytes: sent, Age: age, At: now})
	}
	w.count(to, res)
}

// unadmitted is how a holder answers without admission: an offline peer
// not at all, a liar with false content, an honest peer that evicted it
// recently saying so (its claim is stale), a fake (or an honest peer
// whose record is older) saying it does not hold it. ok is true when the
// request needs admission (an honest holder of b).
func (w *world) unadmitted(to *node, b uint64) (res peers.Result, ok bool) {
	switch {
	case to == nil || to.gone || !to.online:
		return peers.Failed, false
	case to.role == Liar:
		return peers.Lie, false
	case to.role != Fake && !to.store.has(b) && to.store.evicted(w.hashes[b], w.clk.Now()):
		return peers.Evicted, false
	case to.role == Fake || !to.store.has(b):
		return peers.NotHeld, false
	}
	return 0, true
}

// direct is one request from one peer to another outside the demand
// rounds (audits, repair): admitted now if the holder has budget and a
// free slot.
func (w *world) direct(from *node, id peer.ID, b uint64, holders int) peers.Result {
	to := w.byID[id]
	res, ok := w.unadmitted(to, b)
	if ok {
		res = peers.Refused
		if to.budget > 0 {
			t, err := to.led.Request(peers.Inbound{Peer: from.id, Key: w.key(b), Age: w.age(b), At: w.clk.Now()})
			if err == nil {
				if t.Admitted() {
					res = w.serve(to, b)
					t.Done()
				} else {
					t.Cancel()
				}
			}
		}
	}
	if to == nil {
		to = &node{id: id}
	}
	w.record(from, to, b, res, holders)
	return res
}

// serve spends a holder's budget on block b.
func (w *world) serve(to *node, b uint64) peers.Result {
	to.budget--
	to.store.use(b, w.clk.Now())
	return peers.Verified
}

// view is one peer's view of the network: ledger.Network.
type view struct {
	w    *world
	self *node
}

var _ ledger.Network = view{}

// FindHolders searches the DHT for key's block.
func (v view) FindHolders(_ context.Context, key peers.Key) ([]peer.AddrInfo, error) {
	b, ok := v.w.byHash[key.Hash]
	if !ok {
		return nil, nil
	}
	ids := v.w.findHolders(v.self, b)
	out := make([]peer.AddrInfo, len(ids))
	for i, id := range ids {
		out[i] = peer.AddrInfo{ID: id}
	}
	return out, nil
}

// FetchFrom asks one peer for key (an audit), checking what comes with
// check, as peers.Node.FetchFrom does.
func (v view) FetchFrom(_ context.Context, id peer.ID, key peers.Key, age peers.Age, check peers.Check) ([]byte, peers.Transfer, error) {
	b, ok := v.w.byHash[key.Hash]
	t := peers.Transfer{Peer: id, Direction: peers.In, Key: key, Age: age, At: v.w.clk.Now()}
	if !ok {
		t.Result = peers.NotHeld
		return nil, t, errFailed
	}
	t.Result = v.w.direct(v.self, id, b, 0)
	data := honestData
	if t.Result == peers.Lie {
		data = falseData
	}
	if t.Result == peers.Verified || t.Result == peers.Lie {
		if err := check(data); err != nil {
			return nil, t, fmt.Errorf("%w: %w", errFailed, err)
		}
		if t.Result == peers.Verified {
			return data, t, nil
		}
	}
	return nil, t, errFailed
}

// fill fetches block b for n's repair and offers it to n's store: an
// error wrapping history.ErrFull when the store would not take it.
func (w *world) fill(n *node) ledger.Fill {
	return func(_ context.Context, b uint64, _ common.Hash) error {
		ids := w.findHolders(n, b)
		if n.led != nil {
			ids = n.led.Rank(w.key(b), w.age(b), ids)
		}
		for _, id := range ids {
			if w.direct(n, id, b, len(ids)) == peers.Verified {
				if !w.keep(n, b) {
					return errRefused
				}
				return nil
			}
		}
		return errFailed
	}
}
