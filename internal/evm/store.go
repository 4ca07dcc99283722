package evm

import (
	"sync"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/lru"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/holiman/uint256"

	"github.com/braidrpc/braid/internal/verify"
)

// facts is what a proof says about an account itself. Once stored it is
// never changed, so it can be copied out of a lock and read freely.
type facts struct {
	exists bool
	state  types.StateAccount // valid when exists
}

// stateAccount is a copy of the account for a state.Reader, which may
// change it (nil when the account does not exist).
func (f facts) stateAccount() *types.StateAccount {
	if !f.exists {
		return nil
	}
	c := f.state
	c.Balance = new(uint256.Int).Set(f.state.Balance)
	c.CodeHash = common.CopyBytes(f.state.CodeHash)
	return &c
}

// codeHash is the account's code hash (the empty code's for none).
func (f facts) codeHash() common.Hash {
	if !f.exists {
		return types.EmptyCodeHash
	}
	return common.BytesToHash(f.state.CodeHash)
}

// noStorage reports whether every slot of the account is known to be zero.
func (f facts) noStorage() bool {
	return !f.exists || f.state.Root == types.EmptyRootHash
}

// account is one proven account and the storage slots proven with it.
type account struct {
	facts
	slots map[common.Hash]common.Hash
}

// fromVerified turns a proven account into an account entry.
func fromVerified(v *verify.Account) *account {
	a := &account{facts: facts{exists: v.Exists}, slots: make(map[common.Hash]common.Hash, len(v.Storage))}
	if v.Exists {
		bal, _ := uint256.FromBig(v.Balance) // a trie balance fits: it was RLP-decoded from a uint256
		a.state = types.StateAccount{Nonce: v.Nonce, Balance: bal, Root: v.StorageRoot, CodeHash: v.CodeHash.Bytes()}
	}
	for k, val := range v.Storage {
		a.slots[k] = val
	}
	return a
}

// blockState is state proven against one block's state root. Everything
// in it is a checked fact about that root, so calls on the same block can
// share it. It holds at most limit entries (accounts plus slots) and
// refuses more (limit < 0: no limit). It also remembers which calls ran to
// the end on the block (by fingerprint): their state is then here.
type blockState struct {
	mu       sync.RWMutex
	accounts map[common.Address]*account
	size     int
	limit    int
	calls    map[common.Hash]struct{}
}

func newBlockState(limit int) *blockState {
	return &blockState{accounts: map[common.Address]*account{}, limit: limit, calls: map[common.Hash]struct{}{}}
}

// get returns the account's facts; ok is false when it is not known.
func (b *blockState) get(addr common.Address) (f facts, ok bool) {
	b.mu.RLock()
	defer b.mu.RUnlock()
	if a := b.accounts[addr]; a != nil {
		return a.facts, true
	}
	return facts{}, false
}

// slot returns a storage slot's value; ok is false when it is not known.
// Every slot of an account without storage is known: zero.
func (b *blockState) slot(addr common.Address, slot common.Hash) (common.Hash, bool) {
	b.mu.RLock()
	defer b.mu.RUnlock()
	a := b.accounts[addr]
	switch {
	case a == nil:
		return common.Hash{}, false
	case a.noStorage():
		return common.Hash{}, true
	}
	v, ok := a.slots[slot]
	return v, ok
}

// add merges a proven account in; false when it does not fit (then
// nothing of it is added).
func (b *blockState) add(addr common.Address, a *account) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	have := b.accounts[addr]
	cost := 0
	if have == nil {
		cost++
	}
	for k := range a.slots {
		if have == nil {
			cost++
		} else if _, dup := have.slots[k]; !dup {
			cost++
		}
	}
	if b.limit >= 0 && b.size+cost > b.limit {
		return false
	}
	if have == nil {
		have = &account{facts: a.facts, slots: make(map[common.Hash]common.Hash, len(a.slots))}
		b.accounts[addr] = have
	}
	for k, v := range a.slots {
		have.slots[k] = v
	}
	b.size += cost
	return true
}

// sawCall remembers that a call with fingerprint fp ran to the end on the
// block; seenCall reports whether one did.
func (b *blockState) sawCall(fp common.Hash) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.limit < 0 || len(b.calls) < b.limit {
		b.calls[fp] = struct{}{}
	}
}

func (b *blockState) seenCall(fp common.Hash) bool {
	b.mu.RLock()
	defer b.mu.RUnlock()
	_, ok := b.calls[fp]
	return ok
}

// stateCache keeps the proven state of the last few blocks calls ran on,
// code by hash (code never changes for its hash, whatever the block), and
// the code hash each account last had: a guess, good across blocks, of
// whose code is at hand already.
type stateCache struct {
	limit      int
	mu         sync.Mutex // makes finding or making a block's state atomic
	blocks     *lru.Cache[common.Hash, *blockState]
	codes      *lru.SizeConstrainedCache[common.Hash, []byte]
	codeHashes *lru.Cache[common.Address, common.Hash]
	hints      *hints  // what calls read on earlier blocks (hint.go)
	shapes     *shapes // how calls like a new one read (shape.go)
}

// codeHashGuesses is how many accounts' last code hash are remembered.
const codeHashGuesses = 4096

func newStateCache(blocks, entries, codeBytes int) *stateCache {
	return &stateCache{
		limit:      entries,
		blocks:     lru.NewCache[common.Hash, *blockState](blocks),
		codes:      lru.NewSizeConstrainedCache[common.Hash, []byte](uint64(codeBytes)),
		codeHashes: lru.NewCache[common.Address, common.Hash](codeHashGuesses),
		hints:      newHints(),
		shapes:     newShapes(),
	}
}

// lastCode returns the code addr had when last proven, if it is at hand:
// then a prefetch need not ask for it (if the code changed since, it is
// fetched on demand).
func (c *stateCache) lastCode(addr common.Address) (common.Hash, []byte, bool) {
	h, ok := c.codeHashes.Get(addr)
	if !ok {
		return common.Hash{}, nil, false
	}
	code, ok := c.codes.Get(h)
	return h, code, ok
}

// block returns the shared state of the block with hash h.
func (c *stateCache) block(h common.Hash) *blockState {
	c.mu.Lock()
	defer c.mu.Unlock()
	if b, ok := c.blocks.Get(h); ok {
		return b
	}
	b := newBlockState(c.limit)
	c.blocks.Add(h, b)
	return b
}
