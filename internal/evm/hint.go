package evm

import (
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/lru"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/rlp"
)

// This file remembers, across blocks, what each call read: the state a
// call read on one block is the best guess of what it reads on the next
// (a dApp polling a balance or a quote every block), better than asking
// an operator for eth_createAccessList again, and costs no round trip. A
// guess is our own execution's record over proven state, so no operator
// can plant one; a wrong one (the call took another path) costs fetches
// on demand, never correctness, and is replaced by what the call read.

// hintCacheBytes bounds the remembered reads (RLP-encoded access lists).
const hintCacheBytes = 4 << 20

// hints are the reads of calls that ran to the end, by fingerprint.
type hints struct {
	lists *lru.SizeConstrainedCache[common.Hash, []byte]
}

func newHints() *hints {
	return &hints{lists: lru.NewSizeConstrainedCache[common.Hash, []byte](hintCacheBytes)}
}

// get returns what the call with fingerprint fp read when it last ran.
func (h *hints) get(fp common.Hash) (types.AccessList, bool) {
	b, ok := h.lists.Get(fp)
	if !ok {
		return nil, false
	}
	var list types.AccessList
	if rlp.DecodeBytes(b, &list) != nil {
		return nil, false
	}
	return list, true
}

// put remembers what the call with fingerprint fp read.
func (h *hints) put(fp common.Hash, list types.AccessList) {
	if b, err := rlp.EncodeToBytes(list); err == nil {
		h.lists.Add(fp, b)
	}
}

// reads records what a call read through its reader, in the order first
// read, up to limit accounts plus slots (the prefetch takes no more).
type reads struct {
	limit int
	size  int
	index map[common.Address]int
	seen  map[common.Address]map[common.Hash]bool
	list  types.AccessList
}

func newReads(limit int) *reads {
	return &reads{limit: limit, index: map[common.Address]int{}, seen: map[common.Address]map[common.Hash]bool{}}
}

// add records a read of addr (and of slot, when slot is not nil).
// The caller holds the reader's lock.
func (r *reads) add(addr common.Address, slot *common.Hash) {
	i, ok := r.index[addr]
	if !ok {
		if r.size >= r.limit {
			return
		}
		r.size++
		i = len(r.list)
		r.index[addr] = i
		r.seen[addr] = map[common.Hash]bool{}
		r.list = append(r.list, types.AccessTuple{Address: addr, StorageKeys: []common.Hash{}})
	}
	if slot == nil || r.seen[addr][*slot] || r.size >= r.limit {
		return
	}
	r.size++
	r.seen[addr][*slot] = true
	r.list[i].StorageKeys = append(r.list[i].StorageKeys, *slot)
}

// accessList is a copy of what was read.
func (r *reads) accessList() types.AccessList {
	out := make(types.AccessList, len(r.list))
	for i, t := range r.list {
		out[i] = types.AccessTuple{Address: t.Address, StorageKeys: append([]common.Hash{}, t.StorageKeys...)}
	}
	return out
}
