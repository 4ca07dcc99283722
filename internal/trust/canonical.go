package trust

import (
	"context"
	"encoding/json"
	"errors"
	"math/big"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/params"

	"github.com/braidrpc/braid/internal/block"
	"github.com/braidrpc/braid/internal/jsonrpc"
	"github.com/braidrpc/braid/internal/plan"
	"github.com/braidrpc/braid/internal/route"
	"github.com/braidrpc/braid/internal/upstream"
	"github.com/braidrpc/braid/internal/verify"
)

// This file establishes the headers verified answers are checked against.
// The trust root is the served tip: a block hash held by head.min_operators
// distinct operators. Every other header is reached from it: by hash (the
// header must hash to it), or, for a block number, through the EIP-2935
// history contract, whose storage slot for that number is proven against
// a trusted header's state root, and where that contract cannot name the
// block (before Prague, beyond verify.history_hops) by walking parent
// hashes down from a trusted header (walk.go).

// errAllNull: every operator able to answer said null, and null cannot be
// proven either way; the client gets null.
var errAllNull = errors.New("every operator answered null")

// Header returns the verified header of hash, from the cache or fetched
// (concurrent first requests for one header share one fetch).
func (r *Reader) Header(ctx context.Context, hash common.Hash) (*types.Header, error) {
	if h, ok := r.headers.Get(hash); ok {
		return h, nil
	}
	v, err, _ := r.sf.Do("header:"+hash.Hex(), func() (any, error) {
		// Shared by every caller waiting for this header: one leaving
		// must not fail the others.
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), r.timeout)
		defer cancel()
		return r.fetchHeader(ctx, "eth_getBlockByHash", hashParams(hash, false), hash)
	})
	if err != nil {
		return nil, err
	}
	return v.(*types.Header), nil
}

// fetchHeader asks method (eth_getBlockByHash, or eth_getHeaderByHash of
// a node that pruned the body) with params for the header of hash, takes
// the first answer that hashes to it, and caches it.
func (r *Reader) fetchHeader(ctx context.Context, method string, params json.RawMessage, hash common.Hash) (*types.Header, error) {
	var h *types.Header
	res, err := r.fetchVerified(ctx, route.Call{Method: method, Params: params, Class: plan.ClassBlock, Data: upstream.HistoryData},
		true, func(res *route.Result) error {
			var err error
			h, err = verify.HeaderFromJSON(res.Response.Result, hash)
			return err
		})
	if err == nil {
		err = errorAnswer(res)
	}
	if err != nil {
		return nil, err
	}
	r.headers.Add(h)
	return h, nil
}

// trusted returns the trust root's latest block, or an error the client
// can read while there is none.
func (r *Reader) trusted() (block.Block, error) {
	t := r.root.Trusted()
	if !t.Known {
		if e, ok := r.root.(Explainer); ok {
			if why := e.Untrusted(); why != "" {
				return block.Block{}, jsonrpc.Errorf(jsonrpc.CodeUnavailable, "no trusted block on network %s: %s", r.network, why)
			}
		}
		return block.Block{}, jsonrpc.Errorf(jsonrpc.CodeUnavailable,
			"no trusted block yet: too few operators agree on the chain head of network %s", r.network)
	}
	return t.Latest, nil
}

// CanonicalHash returns the hash of block number on the trusted chain.
func (r *Reader) CanonicalHash(ctx context.Context, number uint64) (common.Hash, error) {
	tip, err := r.trusted()
	if err != nil {
		return common.Hash{}, err
	}
	switch {
	case number > tip.Number:
		return common.Hash{}, &aboveTipError{number: number, tip: tip.Number}
	case number == tip.Number:
		return tip.Hash, nil
	}
	if h, ok := r.headers.Canonical(number); ok {
		return h, nil
	}
	hashes, err := r.historyHashes(ctx, tip, []uint64{number}, r.cfg.HistoryHops)
	if err != nil {
		return common.Hash{}, err
	}
	return hashes[0], nil
}

// canonicalRange returns the hashes of blocks from..to (to at most the
// trusted tip), asking the history contract for all unknown ones at once.
func (r *Reader) canonicalRange(ctx context.Context, from, to uint64) ([]common.Hash, error) {
	tip, err := r.trusted()
	if err != nil {
		return nil, err
	}
	if to > tip.Number {
		return nil, &aboveTipError{number: to, tip: tip.Number}
	}
	out := make([]common.Hash, to-from+1)
	var missing []uint64
	for i := range out {
		num := from + uint64(i)
		if num == tip.Number {
			out[i] = tip.Hash
		} else if h, ok := r.headers.Canonical(num); ok {
			out[i] = h
		} else {
			missing = append(missing, num)
		}
	}
	if len(missing) == 0 {
		return out, nil
	}
	hashes, err := r.historyHashes(ctx, tip, missing, r.cfg.HistoryHops)
	if err != nil {
		return nil, err
	}
	for i, num := range missing {
		out[num-from] = hashes[i]
	}
	return out, nil
}

// historyHashes proves the hashes of numbers (all below anchor) from the
// EIP-2935 history contract's storage at anchor: one eth_getProof for the
// numbers within its window, and, hops permitting, a hop to an older
// anchor for the others.
func (r *Reader) historyHashes(ctx context.Context, anchor block.Block, numbers []uint64, hops int) ([]common.Hash, error) {
	out := make([]common.Hash, len(numbers))
	var near []int // indexes of numbers within anchor's window
	var walk []int // indexes of numbers the history contract cannot name
	var deep []int // of them, those beyond the last hop's window
	byHop := map[uint64][]int{}
	for i, num := range numbers {
		if anchor.Number-num <= r.reach {
			near = append(near, i)
			continue
		}
		if hops <= 1 {
			deep = append(deep, i) // beyond the hops: walk parent hashes
			continue
		}
		// The block whose history window starts at num.
		hop := num + params.HistoryServeWindow
		byHop[hop] = append(byHop[hop], i)
	}
	if len(near) > 0 {
		slots := make([]common.Hash, len(near))
		for j, i := range near {
			slots[j] = common.BigToHash(new(big.Int).SetUint64(numbers[i] % params.HistoryServeWindow))
		}
		acct, err := r.provenStorage(ctx, anchor.Hash, params.HistoryStorageAddress, slots)
		if err != nil {
			return nil, err
		}
		for j, i := range near {
			h := acct.Storage[slots[j]]
			if h == (common.Hash{}) {
				walk = append(walk, i) // before Prague: walk parent hashes
				continue
			}
			out[i] = h
			r.headers.SetCanonical(numbers[i], h)
		}
	}
	for hop, idx := range byHop {
		hopHash, err := r.historyHashes(ctx, anchor, []uint64{hop}, hops-1)
		if err != nil {
			return nil, err
		}
		sub := make([]uint64, len(idx))
		for j, i := range idx {
			sub[j] = numbers[i]
		}
		hashes, err := r.historyHashes(ctx, block.Block{Number: hop, Hash: hopHash[0]}, sub, hops-1)
		if err != nil {
			return nil, err
		}
		for j, i := range idx {
			out[i] = hashes[j]
		}
	}
	for _, set := range []struct {
		idx  []int
		deep bool
	}{{walk, false}, {deep, true}} {
		if len(set.idx) == 0 {
			continue
		}
		sub := make([]uint64, len(set.idx))
		for j, i := range set.idx {
			sub[j] = numbers[i]
		}
		hashes, err := r.walkHashes(ctx, anchor, sub, set.deep)
		if err != nil {
			return nil, err
		}
		for j, i := range set.idx {
			out[i] = hashes[j]
		}
	}
	return out, nil
}

// walkHashes returns the canonical hashes of numbers the history contract
// at anchor cannot name, by walking parent hashes: for numbers beyond its
// window (deep), down from the oldest block that window names — proven
// from anchor's storage, so the walk is shorter by a whole window than one
// from the tip — and otherwise (or when that block is not named either:
// before Prague) down from the trusted tip.
func (r *Reader) walkHashes(ctx context.Context, anchor block.Block, numbers []uint64, deep bool) ([]common.Hash, error) {
	if deep && anchor.Number > r.reach {
		oldest := anchor.Number - r.reach
		if named, err := r.namedHash(ctx, anchor, oldest); err == nil {
			return r.walkCanonical(ctx, block.Block{Number: oldest, Hash: named}, numbers)
		}
	}
	tip, err := r.trusted()
	if err != nil {
		return nil, err
	}
	return r.walkCanonical(ctx, tip, numbers)
}

// namedHash is the hash of block number (within anchor's window) as the
// history contract's storage at anchor names it, proven against anchor's
// state root; an error when the slot is empty (before Prague).
func (r *Reader) namedHash(ctx context.Context, anchor block.Block, number uint64) (common.Hash, error) {
	if h, ok := r.headers.Canonical(number); ok {
		return h, nil
	}
	slot := common.BigToHash(new(big.Int).SetUint64(number % params.HistoryServeWindow))
	acct, err := r.provenStorage(ctx, anchor.Hash, params.HistoryStorageAddress, []common.Hash{slot})
	if err != nil {
		return common.Hash{}, err
	}
	h := acct.Storage[slot]
	if h == (common.Hash{}) {
		return common.Hash{}, errors.New("the history contract does not name the block")
	}
	r.headers.SetCanonical(number, h)
	return h, nil
}

// provenStorage returns account address at block hash, with slots,
// proven against the block's state root.
func (r *Reader) provenStorage(ctx context.Context, hash common.Hash, address common.Address, slots []common.Hash) (*verify.Account, error) {
	h, err := r.Header(ctx, hash)
	if err != nil {
		return nil, err
	}
	return r.Account(ctx, h, address, slots)
}

// Resolve turns a block parameter (absent, a tag, a number, a hash,
// or an EIP-1898 object) into the hash of the block to verify against.
func (r *Reader) Resolve(ctx context.Context, raw json.RawMessage) (common.Hash, error) {
	tip, err := r.trusted()
	if err != nil {
		return common.Hash{}, err
	}
	if len(raw) == 0 || string(raw) == "null" {
		return tip.Hash, nil
	}
	if raw[0] == '{' {
		var o struct {
			BlockHash        *common.Hash    `json:"blockHash"`
			BlockNumber      json.RawMessage `json:"blockNumber"`
			RequireCanonical bool            `json:"requireCanonical"`
		}
		if err := json.Unmarshal(raw, &o); err != nil {
			return common.Hash{}, jsonrpc.Errorf(jsonrpc.CodeInvalidParams, "invalid block: %v", err)
		}
		if o.BlockHash != nil {
			if o.RequireCanonical {
				h, err := r.Header(ctx, *o.BlockHash)
				if err != nil {
					return common.Hash{}, err
				}
				if c, err := r.CanonicalHash(ctx, h.Number.Uint64()); err != nil {
					return common.Hash{}, err
				} else if c != *o.BlockHash {
					return common.Hash{}, jsonrpc.Errorf(jsonrpc.CodeInvalidParams, "block %s is not canonical", o.BlockHash.Hex())
				}
			}
			return *o.BlockHash, nil
		}
		raw = o.BlockNumber
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return common.Hash{}, jsonrpc.Errorf(jsonrpc.CodeInvalidParams, "invalid block %s", raw)
	}
	switch s {
	case "latest":
		return tip.Hash, nil
	case "safe", "finalized":
		t := r.root.Trusted()
		ref := t.Safe
		if s == "finalized" {
			ref = t.Finalized
		}
		if ref.Hash == (common.Hash{}) {
			return common.Hash{}, jsonrpc.Errorf(jsonrpc.CodeUnavailable, "no %s block agreed yet", s)
		}
		return ref.Hash, nil
	case "earliest":
		return r.CanonicalHash(ctx, 0)
	case "pending":
		return common.Hash{}, jsonrpc.Errorf(jsonrpc.CodeUnverifiable, `the "pending" block cannot be verified: it is each node's own guess`)
	}
	if len(s) == 66 {
		var h common.Hash
		if err := h.UnmarshalText([]byte(s)); err == nil {
			return h, nil
		}
	}
	num, err := hexutil.DecodeUint64(s)
	if err != nil {
		return common.Hash{}, jsonrpc.Errorf(jsonrpc.CodeInvalidParams, "invalid block %q", s)
	}
	return r.CanonicalHash(ctx, num)
}
