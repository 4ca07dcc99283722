package verify

import (
	"bytes"
	"container/list"
	"encoding/json"
	"sync"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
)

// HeaderFromJSON decodes a header (or a block object, whose extra members
// are ignored) and checks that it hashes to want. A block object's own
// "hash" member, when present, must say the same.
func HeaderFromJSON(raw json.RawMessage, want common.Hash) (*types.Header, error) {
	if len(bytes.TrimSpace(raw)) == 0 || bytes.Equal(bytes.TrimSpace(raw), []byte("null")) {
		return nil, errorf("no header for block %s", want.Hex())
	}
	var h types.Header
	if err := json.Unmarshal(raw, &h); err != nil {
		return nil, errorf("header of block %s does not decode: %v", want.Hex(), err)
	}
	if got := h.Hash(); got != want {
		return nil, errorf("header hashes to %s, not the block asked for (%s)", got.Hex(), want.Hex())
	}
	// A block object's own "hash" member, when present, must be exactly
	// the hash: a client reads it, so one that does not decode is a lie
	// too.
	var named struct {
		Hash json.RawMessage `json:"hash"`
	}
	if err := json.Unmarshal(raw, &named); err != nil {
		return nil, errorf("block object does not decode: %v", err)
	}
	if len(named.Hash) > 0 && string(named.Hash) != "null" {
		var got common.Hash
		if err := json.Unmarshal(named.Hash, &got); err != nil || got != want {
			return nil, errorf("block object names hash %s, its header hashes to %s", named.Hash, want.Hex())
		}
	}
	return &h, nil
}

// Headers is a bounded cache of verified headers by hash, plus the
// canonical hash of each block number braid has established.
type Headers struct {
	mu        sync.Mutex
	max       int
	order     *list.List // of common.Hash, most recent first
	byHash    map[common.Hash]*list.Element
	headers   map[common.Hash]*types.Header
	canonical map[uint64]common.Hash
}

// NewHeaders returns a cache holding at most size headers.
func NewHeaders(size int) *Headers {
	return &Headers{
		max: max(size, 1), order: list.New(),
		byHash: map[common.Hash]*list.Element{}, headers: map[common.Hash]*types.Header{},
		canonical: map[uint64]common.Hash{},
	}
}

// Get returns the verified header of hash, if cached.
func (c *Headers) Get(hash common.Hash) (*types.Header, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	h, ok := c.headers[hash]
	if ok {
		c.order.MoveToFront(c.byHash[hash])
	}
	return h, ok
}

// Add caches a header that was verified (it hashes to the hash it is
// stored under).
func (c *Headers) Add(h *types.Header) {
	hash := h.Hash()
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.byHash[hash]; ok {
		c.order.MoveToFront(e)
		return
	}
	c.byHash[hash] = c.order.PushFront(hash)
	c.headers[hash] = h
	for c.order.Len() > c.max {
		old := c.order.Remove(c.order.Back()).(common.Hash)
		delete(c.byHash, old)
		if oh := c.headers[old]; oh != nil && c.canonical[oh.Number.Uint64()] == old {
			delete(c.canonical, oh.Number.Uint64())
		}
		delete(c.headers, old)
	}
}

// SetCanonical records that hash is the block at number on the chain
// braid serves (established from a trusted tip).
func (c *Headers) SetCanonical(number uint64, hash common.Hash) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.canonical[number] = hash
	if len(c.canonical) > 4*c.max {
		// Bounded: forget the oldest numbers first.
		low := number
		for n := range c.canonical {
			low = min(low, n)
		}
		for n := range c.canonical {
			if n < low+uint64(c.max) && len(c.canonical) > 2*c.max {
				delete(c.canonical, n)
			}
		}
	}
}

// Canonical returns the established hash of block number.
func (c *Headers) Canonical(number uint64) (common.Hash, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	h, ok := c.canonical[number]
	return h, ok
}

// ForgetCanonicalFrom drops established hashes from number on (a reorg
// of the served chain).
func (c *Headers) ForgetCanonicalFrom(number uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for n := range c.canonical {
		if n >= number {
			delete(c.canonical, n)
		}
	}
}
