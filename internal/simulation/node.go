package simulation

import (
	"fmt"
	"slices"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/multiformats/go-multihash"

	"github.com/braidrpc/braid/internal/history"
	"github.com/braidrpc/braid/internal/ledger"
)

// Role is how a peer behaves.
type Role uint8

// The roles.
const (
	// Normal peers keep what their keeping policy says, within a
	// bounded store, and serve it.
	Normal Role = iota
	// Archival peers keep every block and serve more, until they leave.
	Archival
	// FreeRider peers ask and never keep or serve anything.
	FreeRider
	// Liar peers advertise old content and answer with false content.
	Liar
	// Fake peers advertise old content and say they do not hold it.
	Fake
	roles
)

// String names the role.
func (r Role) String() string {
	return [...]string{"normal", "archival", "free-rider", "liar", "fake"}[r]
}

// node is one simulated peer.
type node struct {
	slot   int
	gen    int
	id     peer.ID
	role   Role
	online bool
	gone   bool // archival peer that left (its slot stays empty)
	store  *store
	led    *ledger.Ledger // nil in regime None
	// advertised are the blocks a liar or fake claims.
	advertised []uint64
	budget     int // requests it may still serve this step
}

// honest reports whether the peer serves what it holds, truthfully.
func (n *node) honest() bool { return n.role == Normal || n.role == Archival }

// peerID is the identity of the gen-th peer in slot.
func peerID(slot, gen int) peer.ID {
	h, err := multihash.Sum(fmt.Appendf(nil, "sim-peer-%d-%d", slot, gen), multihash.IDENTITY, -1)
	if err != nil {
		panic(err) // identity hashing of a short input cannot fail
	}
	return peer.ID(h)
}

// store is a peer's bounded set of blocks, evicted in its Keeper's order
// by history.Store's own rule (history.EvictionOrder, history.Displaces):
// the first block in that order goes, and a new block worth less than it
// is refused. It evicts one block per write, where history.Store frees a
// 64th of its bound at once. Its evictions are remembered as
// history.Store remembers them (the same history.Tombstones, at most a
// store's worth), so a request for a block evicted within the DHT record
// validity is answered "evicted".
type store struct {
	limit  int // blocks; 0: unbounded (archival)
	keeper history.Keeper
	items  map[uint64]*history.Item
	tombs  *history.Tombstones
}

func newStore(limit int, k history.Keeper) *store {
	return &store{limit: limit, keeper: k, items: map[uint64]*history.Item{},
		tombs: history.NewTombstones(history.DefaultTombstoneTTL, max(limit, 1))}
}

func (s *store) has(n uint64) bool { return s != nil && s.items[n] != nil }

// evicted reports whether the store evicted the block hash recently.
func (s *store) evicted(hash common.Hash, now time.Time) bool {
	if s == nil {
		return false
	}
	_, ok := s.tombs.Get(hash, history.AllParts, now)
	return ok
}

// use marks a held block read now (the LRU keeper's value).
func (s *store) use(n uint64, now time.Time) {
	if it := s.items[n]; it != nil {
		it.Used = now
		it.Reads++
	}
}

// put offers block n: it returns whether it is kept and the block it
// evicted, if any (evicted is false when none was).
func (s *store) put(n uint64, hash common.Hash, bytes int, now time.Time) (kept bool, evicted uint64, did bool) {
	if s.items[n] != nil {
		s.use(n, now)
		return true, 0, false
	}
	it := &history.Item{Hash: hash, Number: n, Parts: history.AllParts, Bytes: int64(bytes), Stored: now, Used: now}
	if s.limit > 0 && len(s.items) >= s.limit {
		var victim *history.Item
		vv := 0.0
		for _, held := range s.items {
			v := s.keeper.Value(*held, now)
			if victim == nil || history.EvictionOrder(*held, v, *victim, vv) < 0 {
				victim, vv = held, v
			}
		}
		if !history.Displaces(s.keeper.Value(*it, now), vv) {
			return false, 0, false
		}
		s.tombs.Add(victim.Hash, history.AllParts, now)
		delete(s.items, victim.Number)
		evicted, did = victim.Number, true
	}
	s.tombs.Clear(hash, history.AllParts)
	s.items[n] = it
	return true, evicted, did
}

// sortedKeys are the held blocks by number (deterministic order).
func (s *store) sortedKeys() []uint64 {
	ks := make([]uint64, 0, len(s.items))
	for k := range s.items {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}

// holderSet is the peers (by slot) advertising one block, with O(1)
// membership changes and random picks.
type holderSet struct {
	list []int32
	pos  map[int32]int32
}

func (h *holderSet) add(slot int) {
	if h.pos == nil {
		h.pos = map[int32]int32{}
	}
	s := int32(slot)
	if _, ok := h.pos[s]; ok {
		return
	}
	h.pos[s] = int32(len(h.list))
	h.list = append(h.list, s)
}

func (h *holderSet) remove(slot int) {
	s := int32(slot)
	i, ok := h.pos[s]
	if !ok {
		return
	}
	last := h.list[len(h.list)-1]
	h.list[i] = last
	h.pos[last] = i
	h.list = h.list[:len(h.list)-1]
	delete(h.pos, s)
}
