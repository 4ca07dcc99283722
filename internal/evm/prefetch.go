package evm

import (
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/core/vm"
)

// prefetch loads, in one Source batch, what the call will most likely
// read: the sender, the recipient (with its code), the fee recipient, and
// the hint: what the same call read when it last ran (on an earlier
// block; no round trip), else whatever one operator's
// eth_createAccessList names. The hint is a guess: a wrong one costs
// fetches on demand later, never a wrong answer, and a failed prefetch
// only leaves everything to be fetched on demand. A call that already ran
// to the end on this block (eth_estimateGas after eth_call) finds its
// state at hand and asks for nothing.
func (r *run) prefetch(coinbase common.Address, precompiles vm.PrecompiledContracts) {
	if r.shared.seenCall(r.fingerprint) {
		return
	}
	hint, known := r.e.cache.hints.get(r.fingerprint)
	if !known {
		var err error
		hint, err = r.src.AccessList(r.ctx, r.block, r.req.Args.hint(), r.req.State)
		r.reader.count(func(s *Stats) { s.AccessLists++ })
		if err != nil {
			r.e.cfg.Logger.Debug("evm: no access-list hint", "block", r.block.Number, "err", err)
		}
	}
	queries := r.plan(hint, coinbase, precompiles)
	if err := r.reader.load(queries, false); err != nil {
		r.e.cfg.Logger.Debug("evm: prefetch failed; fetching on demand", "block", r.block.Number, "err", err)
	}
}

// plan turns the call and a hint into queries, at most MaxPrefetch
// accounts plus slots from the hint. Code is asked for every account the
// call may run (not precompiles, not accounts whose code is overridden,
// not accounts whose last known code is at hand), but not for the sender
// and the fee recipient, which are rarely contracts.
func (r *run) plan(hint types.AccessList, coinbase common.Address, precompiles vm.PrecompiledContracts) []Query {
	var (
		queries []Query
		index   = map[common.Address]int{}
		seen    = map[common.Address]map[common.Hash]bool{}
	)
	add := func(addr common.Address, code bool, slots []common.Hash) {
		i, ok := index[addr]
		if !ok {
			i = len(queries)
			index[addr] = i
			seen[addr] = map[common.Hash]bool{}
			queries = append(queries, Query{Address: addr})
		}
		_, isPrecompile := precompiles[addr]
		o, overridden := r.req.State[addr]
		if code && !isPrecompile && !(overridden && o.Code != nil) && !r.reader.keepLastCode(addr) {
			queries[i].Code = true
		}
		for _, s := range slots {
			if !seen[addr][s] {
				seen[addr][s] = true
				queries[i].Slots = append(queries[i].Slots, s)
			}
		}
	}
	add(r.req.Args.from(), false, nil)
	add(coinbase, false, nil)
	if to := r.req.Args.To; to != nil {
		add(*to, true, nil)
	}
	budget := r.e.cfg.MaxPrefetch
	for _, t := range hint {
		if budget <= 0 {
			break
		}
		budget--
		slots := t.StorageKeys
		if len(slots) > budget {
			slots = slots[:budget]
		}
		budget -= len(slots)
		add(t.Address, true, slots)
	}
	return queries
}
