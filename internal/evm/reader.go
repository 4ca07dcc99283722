package evm

import (
	"context"
	"fmt"
	"sync"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/state"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"

	"github.com/braidrpc/braid/internal/jsonrpc"
)

// reader is the state.Reader of one call: proven state of the call's
// block, from the block's shared state, else fetched through the Source.
// go-ethereum cannot be told of a failure by Code, CodeSize or Has, so the
// reader records the first failure (Err) and, once failed, fetches
// nothing more. It is safe for concurrent use.
type reader struct {
	src    Source
	block  *types.Header
	shared *blockState
	own    *blockState // what did not fit in shared
	cache  *stateCache

	mu       sync.Mutex
	ctx      context.Context
	err      error
	stats    Stats
	budget   int // fetches on demand left
	limit    int // fetches on demand allowed
	overflow bool
	ownCodes map[common.Hash][]byte
	reads    *reads // what the call read, for the next block's prefetch
	// deferred are an operator's hinted slots past the prefetch's cap, by
	// account, up to readsLimit in all; hintSlots of them go with a fetch
	// on demand of one of them.
	deferred  map[common.Address][]common.Hash
	nDeferred int
	hintSlots int
}

var _ state.Reader = (*reader)(nil)

func newReader(ctx context.Context, src Source, block *types.Header, shared *blockState, cache *stateCache, budget, readsLimit int) *reader {
	return &reader{
		src: src, block: block, shared: shared, own: newBlockState(-1), cache: cache,
		ctx: ctx, budget: budget, limit: budget, ownCodes: map[common.Hash][]byte{},
		reads: newReads(readsLimit), deferred: map[common.Address][]common.Hash{},
	}
}

// deferSlots keeps an operator's hinted slots of addr that the prefetch
// left out, within the reads limit.
func (r *reader) deferSlots(addr common.Address, slots []common.Hash) {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := min(len(slots), r.reads.limit-r.nDeferred)
	if n <= 0 {
		return
	}
	r.deferred[addr] = append(r.deferred[addr], slots[:n]...)
	r.nDeferred += n
}

// withDeferred is what to fetch for a read of addr's slot that is not
// known: the slot and, when the hint named it (the hint was right about
// the account), up to hintSlots more of the account's deferred slots.
// When the hint did not name it, the account's deferred slots are
// dropped: the hint was wrong about it, so a bogus hint costs no more
// than its capped prefetch.
func (r *reader) withDeferred(addr common.Address, slot common.Hash) []common.Hash {
	r.mu.Lock()
	defer r.mu.Unlock()
	list := r.deferred[addr]
	if len(list) == 0 {
		return []common.Hash{slot}
	}
	named := false
	for _, s := range list {
		if s == slot {
			named = true
			break
		}
	}
	if !named {
		delete(r.deferred, addr)
		return []common.Hash{slot}
	}
	out := []common.Hash{slot}
	rest := list[:0:0]
	for _, s := range list {
		switch {
		case s == slot:
		case len(out) <= r.hintSlots:
			out = append(out, s)
		default:
			rest = append(rest, s)
		}
	}
	r.deferred[addr] = rest
	return out
}

// read records that the call read addr (and slot, when not nil).
func (r *reader) read(addr common.Address, slot *common.Hash) {
	r.mu.Lock()
	r.reads.add(addr, slot)
	r.mu.Unlock()
}

// accessList is what the call read so far.
func (r *reader) accessList() types.AccessList {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.reads.accessList()
}

// Err is the first failure the reader met, nil if none.
func (r *reader) Err() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.err
}

// Stats is what the reader asked of its Source so far.
func (r *reader) Stats() Stats {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.stats
}

// setContext replaces the context later fetches run under.
func (r *reader) setContext(ctx context.Context) {
	r.mu.Lock()
	r.ctx = ctx
	r.mu.Unlock()
}

func (r *reader) fail(err error) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.err == nil {
		r.err = err
	}
	return r.err
}

// Account implements state.Reader.
func (r *reader) Account(addr common.Address) (*types.StateAccount, error) {
	r.read(addr, nil)
	if f, ok := r.facts(addr); ok {
		return f.stateAccount(), nil
	}
	if err := r.load([]Query{{Address: addr}}, true); err != nil {
		return nil, err
	}
	f, ok := r.facts(addr)
	if !ok {
		return nil, r.fail(contractErr("account %s missing after its proof was stored", addr.Hex()))
	}
	return f.stateAccount(), nil
}

// Storage implements state.Reader.
func (r *reader) Storage(addr common.Address, slot common.Hash) (common.Hash, error) {
	r.read(addr, &slot)
	if v, ok := r.slot(addr, slot); ok {
		return v, nil
	}
	if err := r.load([]Query{{Address: addr, Slots: r.withDeferred(addr, slot)}}, true); err != nil {
		return common.Hash{}, err
	}
	v, ok := r.slot(addr, slot)
	if !ok {
		return common.Hash{}, r.fail(contractErr("slot %s of %s missing after its proof was stored", slot.Hex(), addr.Hex()))
	}
	return v, nil
}

// Code implements state.Reader: nil on a failure, which is recorded.
func (r *reader) Code(addr common.Address, codeHash common.Hash) []byte {
	if codeHash == types.EmptyCodeHash {
		return nil
	}
	if c, ok := r.cachedCode(codeHash); ok {
		return c
	}
	if !r.spend() {
		return nil
	}
	ctx := r.context()
	code, err := r.src.Code(ctx, r.block, addr, codeHash)
	r.count(func(s *Stats) { s.Codes++; s.Misses++; s.CodeBytes += len(code) })
	switch {
	case err != nil:
		r.fail(err)
		return nil
	case crypto.Keccak256Hash(code) != codeHash:
		r.fail(contractErr("code of %s does not hash to %s", addr.Hex(), codeHash.Hex()))
		return nil
	}
	r.storeCode(codeHash, code)
	return code
}

// Has implements state.Reader: whether the code is there (fetching it).
func (r *reader) Has(addr common.Address, codeHash common.Hash) bool {
	return len(r.Code(addr, codeHash)) > 0
}

// CodeSize implements state.Reader.
func (r *reader) CodeSize(addr common.Address, codeHash common.Hash) int {
	return len(r.Code(addr, codeHash))
}

func (r *reader) facts(addr common.Address) (facts, bool) {
	if f, ok := r.shared.get(addr); ok {
		return f, true
	}
	return r.own.get(addr)
}

func (r *reader) slot(addr common.Address, slot common.Hash) (common.Hash, bool) {
	if v, ok := r.shared.slot(addr, slot); ok {
		return v, true
	}
	return r.own.slot(addr, slot)
}

func (r *reader) cachedCode(h common.Hash) ([]byte, bool) {
	r.mu.Lock()
	c, ok := r.ownCodes[h]
	r.mu.Unlock()
	if ok {
		return c, true
	}
	return r.cache.codes.Get(h)
}

// storeCode keeps code for this call and for later ones (the shared cache
// may evict it, this call's copy stays).
func (r *reader) storeCode(h common.Hash, code []byte) {
	r.cache.codes.Add(h, code)
	r.mu.Lock()
	r.ownCodes[h] = code
	r.mu.Unlock()
}

// keepLastCode keeps for this call the code addr had when last proven,
// if it is at hand; false if not.
func (r *reader) keepLastCode(addr common.Address) bool {
	h, code, ok := r.cache.lastCode(addr)
	if ok {
		r.mu.Lock()
		r.ownCodes[h] = code
		r.mu.Unlock()
	}
	return ok
}

func (r *reader) context() context.Context {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.ctx
}

func (r *reader) count(f func(*Stats)) {
	r.mu.Lock()
	f(&r.stats)
	r.mu.Unlock()
}

// spend takes one fetch from the budget for fetches on demand; false
// (with the failure recorded) once the reader failed or the budget is
// spent.
func (r *reader) spend() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	switch {
	case r.err != nil:
		return false
	case r.budget <= 0:
		r.err = &Error{Code: jsonrpc.CodeLimitExceeded, Message: fmt.Sprintf(
			"the call reads more state than braid fetches for one call (%d fetches after the prefetch)", r.limit)}
		return false
	}
	r.budget--
	return true
}

// need trims queries to what is not known yet: accounts not proven,
// slots not proven, code not at hand.
func (r *reader) need(queries []Query) []Query {
	var out []Query
	for _, q := range queries {
		f, known := r.facts(q.Address)
		var slots []common.Hash
		asked := make(map[common.Hash]bool, len(q.Slots))
		for _, s := range q.Slots {
			if _, ok := r.slot(q.Address, s); !ok && !asked[s] {
				asked[s] = true
				slots = append(slots, s)
			}
		}
		code := q.Code
		if known && code {
			_, have := r.cachedCode(f.codeHash())
			code = !have && f.codeHash() != types.EmptyCodeHash
		}
		if !known || len(slots) > 0 || code {
			out = append(out, Query{Address: q.Address, Slots: slots, Code: code})
		}
	}
	return out
}

// load fetches what queries ask for that is not known yet, in one Proofs
// call, checks that the answer fits the question and stores it. A load on
// demand spends the budget and records its failure; a prefetch does
// neither (what it fails to get is fetched on demand).
func (r *reader) load(queries []Query, onDemand bool) error {
	queries = r.need(queries)
	if len(queries) == 0 {
		return nil
	}
	if onDemand && !r.spend() {
		return r.Err()
	}
	proven, err := r.src.Proofs(r.context(), r.block, queries)
	r.count(func(s *Stats) {
		s.Batches++
		if onDemand {
			s.Misses++
		}
	})
	if err == nil {
		err = r.store(queries, proven)
	}
	if err != nil && onDemand {
		return r.fail(err)
	}
	return err
}

// store checks a Proofs answer against its queries and keeps it.
func (r *reader) store(queries []Query, proven []Proven) error {
	if len(proven) != len(queries) {
		return contractErr("%d answers to %d queries", len(proven), len(queries))
	}
	for i, q := range queries {
		if err := fits(q, proven[i]); err != nil {
			return err
		}
	}
	for i, q := range queries {
		p := proven[i]
		a := fromVerified(p.Account)
		if !r.shared.add(q.Address, a) {
			r.own.add(q.Address, a)
			r.mu.Lock()
			r.overflow = true
			r.mu.Unlock()
		}
		if q.Code && a.codeHash() != types.EmptyCodeHash {
			r.storeCode(a.codeHash(), p.Code)
		}
		if a.codeHash() != types.EmptyCodeHash {
			r.cache.codeHashes.Add(q.Address, a.codeHash())
		}
		r.count(func(s *Stats) { s.Accounts++; s.Slots += len(q.Slots); s.CodeBytes += len(p.Code) })
	}
	return nil
}

// fits checks that a Source's answer is for the query: the same account,
// every slot asked for, code that hashes to the proven code hash.
func fits(q Query, p Proven) error {
	a := p.Account
	switch {
	case a == nil:
		return contractErr("no account in the answer for %s", q.Address.Hex())
	case a.Address != q.Address:
		return contractErr("answer for %s is about %s", q.Address.Hex(), a.Address.Hex())
	case a.Balance == nil || a.Balance.Sign() < 0 || a.Balance.BitLen() > 256:
		return contractErr("account %s has no valid balance", q.Address.Hex())
	}
	for _, s := range q.Slots {
		if _, ok := a.Storage[s]; !ok {
			return contractErr("slot %s of %s not in the answer", s.Hex(), q.Address.Hex())
		}
	}
	want := a.CodeHash
	if !a.Exists {
		want = types.EmptyCodeHash
	}
	if q.Code && crypto.Keccak256Hash(p.Code) != want {
		return contractErr("code of %s does not hash to its proven code hash %s", q.Address.Hex(), want.Hex())
	}
	return nil
}

// overflowed reports whether some proven state did not fit in the block's
// shared state.
func (r *reader) overflowed() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.overflow
}
