package evm

import (
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/core/vm"
)

// prefetch loads what the call will most likely read before it runs. A
// call that ran before (on an earlier block) takes what it read then, in
// one batch: no hint asked. A call new to the executor asks one operator
// for eth_createAccessList and, at the same time, proves what needs no
// hint: the sender, the recipient (with its code), the fee recipient
// and, when a call to the same contract with the same selector ran
// before, what that call read with its slots derived again from this
// call's arguments (shape.go). A second batch then proves only what the
// hint adds; nothing, when the guess was right, so the call costs one
// round trip in time. A hint or guess is unchecked: a wrong one costs
// fetches on demand later, never a wrong answer; an operator's hint is
// capped (HintEntries, HintSlots) so that a bogus one costs a bounded
// number of proofs; a failed prefetch only leaves everything to be
// fetched on demand. A call that already ran to the end on this block
// (eth_estimateGas after eth_call) finds its state at hand and asks for
// nothing.
func (r *run) prefetch(coinbase common.Address, precompiles vm.PrecompiledContracts) {
	if r.shared.seenCall(r.fingerprint) {
		return
	}
	if own, known := r.e.cache.hints.get(r.fingerprint); known {
		r.load(r.plan(own, coinbase, precompiles, false))
		return
	}
	hints := make(chan types.AccessList, 1)
	go func() { hints <- r.askHint() }()
	var guess types.AccessList
	if key, ok := shapeKey(r.req); ok {
		guess, _ = r.e.cache.shapes.guess(key, r.req.Args.data(), r.req.Args.from())
	}
	before := r.reader.Stats().Batches
	r.load(r.plan(guess, coinbase, precompiles, false))
	hint := <-hints
	if r.reader.Stats().Batches > before {
		r.reader.count(func(s *Stats) { s.Overlapped++ })
	}
	r.load(r.plan(hint, coinbase, precompiles, true))
}

// askHint is one operator's eth_createAccessList of the call, nil when
// there is none.
func (r *run) askHint() types.AccessList {
	hint, err := r.src.AccessList(r.ctx, r.block, r.req.Args.hint(), r.req.State)
	r.reader.count(func(s *Stats) { s.AccessLists++ })
	if err != nil {
		r.e.cfg.Logger.Debug("evm: no access-list hint", "block", r.block.Number, "err", err)
	}
	return hint
}

// load prefetches queries; a failure leaves them to be fetched on demand.
func (r *run) load(queries []Query) {
	if err := r.reader.load(queries, false); err != nil {
		r.e.cfg.Logger.Debug("evm: prefetch failed; fetching on demand", "block", r.block.Number, "err", err)
	}
}

// plan turns the call and a list into queries. Code is asked for every
// account the call may run (not precompiles, not accounts whose code is
// overridden, not accounts whose last known code is at hand), but not for
// the sender and the fee recipient, which are rarely contracts. The
// executor's own lists (what a call read, a guess from one like it) are
// taken up to MaxPrefetch accounts plus slots; an operator's hint
// (capped) up to HintEntries, with at most HintSlots slots of one account
// at first: the account's further slots are left with the reader, to be
// fetched when the call reads one of them.
func (r *run) plan(list types.AccessList, coinbase common.Address, precompiles vm.PrecompiledContracts, capped bool) []Query {
	p := planner{r: r, precompiles: precompiles, index: map[common.Address]int{}, seen: map[common.Address]map[common.Hash]bool{}}
	p.add(r.req.Args.from(), false, nil)
	p.add(coinbase, false, nil)
	if to := r.req.Args.To; to != nil {
		p.add(*to, true, nil)
	}
	budget, perAccount := r.e.cfg.MaxPrefetch, len(list)+r.e.cfg.MaxPrefetch
	if capped {
		budget, perAccount = r.e.cfg.HintEntries, r.e.cfg.HintSlots
	}
	for _, t := range list {
		if budget <= 0 {
			break
		}
		budget--
		n := min(len(t.StorageKeys), budget, perAccount)
		budget -= n
		p.add(t.Address, true, t.StorageKeys[:n])
		if capped && n < len(t.StorageKeys) {
			r.reader.deferSlots(t.Address, t.StorageKeys[n:])
		}
	}
	return p.queries
}

// planner gathers a plan's queries, one per account.
type planner struct {
	r           *run
	precompiles vm.PrecompiledContracts
	queries     []Query
	index       map[common.Address]int
	seen        map[common.Address]map[common.Hash]bool
}

func (p *planner) add(addr common.Address, code bool, slots []common.Hash) {
	i, ok := p.index[addr]
	if !ok {
		i = len(p.queries)
		p.index[addr] = i
		p.seen[addr] = map[common.Hash]bool{}
		p.queries = append(p.queries, Query{Address: addr})
	}
	_, isPrecompile := p.precompiles[addr]
	o, overridden := p.r.req.State[addr]
	if code && !isPrecompile && !(overridden && o.Code != nil) && !p.r.reader.keepLastCode(addr) {
		p.queries[i].Code = true
	}
	for _, s := range slots {
		if !p.seen[addr][s] {
			p.seen[addr][s] = true
			p.queries[i].Slots = append(p.queries[i].Slots, s)
		}
	}
}
