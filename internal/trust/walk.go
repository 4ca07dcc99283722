package trust

import (
	"context"
	"encoding/json"
	"errors"
	"slices"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/core/types"

	"github.com/braidrpc/braid/internal/block"
	"github.com/braidrpc/braid/internal/jsonrpc"
	"github.com/braidrpc/braid/internal/plan"
	"github.com/braidrpc/braid/internal/route"
	"github.com/braidrpc/braid/internal/upstream"
	"github.com/braidrpc/braid/internal/verify"
)

// defaultWalkBatch is the most headers one step of a parent-hash walk
// asks of one operator (one round trip): a batch the common nodes take
// (lower still once operators refused one, see batchLimit).
const defaultWalkBatch = DefaultBatchLimit

// This file reaches blocks the EIP-2935 history contract cannot name
// (before Prague, or further back than verify.history_hops reach) by
// walking parent hashes down from a trusted header: headers by number in
// batches from one operator, each checked to hash to its child's parent
// hash, so a header is trusted only through the chain of hashes above it.
// Every verified header is cached by hash, so a later walk over the same
// blocks costs nothing.

// ancestorHashes returns the hashes of from's ancestors at numbers (each
// below from), walking parent hashes down from from, a trusted header.
// With canonical, from is on the served chain and so is every ancestor:
// their hashes are recorded as canonical.
func (r *Reader) ancestorHashes(ctx context.Context, from *types.Header, numbers []uint64, canonical ...bool) ([]common.Hash, error) {
	if len(numbers) == 0 {
		return nil, nil
	}
	top := from.Number.Uint64()
	lowest := slices.Min(numbers)
	if lowest >= top {
		return nil, jsonrpc.Errorf(jsonrpc.CodeInvalidParams, "block %d is not an ancestor of block %d", lowest, top)
	}
	if walk := uint64(r.cfg.ParentWalk); top-lowest > walk {
		return nil, jsonrpc.Errorf(jsonrpc.CodeUnverifiable,
			"block %d cannot be verified: it is %d blocks below trusted block %d, beyond what the chain's history contract (EIP-2935) names and further than braid walks parent hashes (verify.parent_walk = %d)",
			lowest, top-lowest, top, walk)
	}
	mark := len(canonical) > 0 && canonical[0]
	found := make(map[uint64]common.Hash, top-lowest)
	cur := from
	for cur.Number.Uint64() > lowest {
		parent, pn := cur.ParentHash, cur.Number.Uint64()-1
		found[pn] = parent
		if mark {
			r.headers.SetCanonical(pn, parent)
		}
		if h, ok := r.headers.Get(parent); ok {
			cur = h
			continue
		}
		lo := max(lowest, pn+1-min(r.walkBatch, pn+1))
		hs, err := r.walkStep(ctx, parent, pn, lo)
		if err != nil {
			return nil, err
		}
		// Every header of the batch names its own block: the numbers
		// between the batch's ends are answered by it too.
		for _, h := range hs {
			r.headers.Add(h)
			found[h.Number.Uint64()] = h.Hash()
			if mark {
				r.headers.SetCanonical(h.Number.Uint64(), h.Hash())
			}
		}
		cur = hs[len(hs)-1]
	}
	out := make([]common.Hash, len(numbers))
	for i, num := range numbers {
		out[i] = found[num]
	}
	return out, nil
}

// walkStep returns verified headers from number top (whose hash is want)
// down towards lo, newest first: at least the one at top. It asks one
// operator for top..lo by number in one batch (no larger than the
// operators take: a batch every operator refuses goes again, smaller) and
// keeps the headers that link by hash from want down; an operator whose
// chain is another (a reorg, a lagging node) is no liar, and the header at
// top is then fetched by hash.
func (r *Reader) walkStep(ctx context.Context, want common.Hash, top, lo uint64) ([]*types.Header, error) {
	call := route.Call{Method: "eth_getBlockByNumber", Class: plan.ClassBlock, Data: upstream.HistoryData,
		HasBlock: true, Block: top, MinHead: top}
	// Down to single calls (operators take no batches), the header at top
	// is fetched by hash.
	for tries := 0; tries < 3 && r.batch.get() > 1; {
		n := min(top-lo+1, uint64(r.batch.get()))
		call.Batch = walkBatch(top, n)
		res, err := r.fetch.Do(ctx, call)
		var f *route.Failure
		if errors.As(err, &f) && f.BatchRefused() && n > 1 {
			r.refusedBatch(int(n), "the parent-hash walk")
			continue // a smaller batch: each refusal at least halves it
		}
		tries++
		if err != nil || res.Unserved {
			break
		}
		hs, lie := linked(want, res.Batch)
		if lie != nil {
			r.caught(res.Upstream.Operator, res.Upstream, "eth_getBlockByNumber", lie)
		}
		if len(hs) > 0 {
			return hs, nil
		}
		call.Exclude = append(slices.Clip(call.Exclude), res.Upstream.Operator)
	}
	h, err := r.Header(ctx, want)
	if errors.Is(err, errAllNull) {
		return nil, jsonrpc.Errorf(jsonrpc.CodeUnavailable, "no operator knows block %s", want.Hex())
	}
	if err != nil {
		return nil, err
	}
	return []*types.Header{h}, nil
}

// walkBatch asks for the headers of the n blocks top, top-1, … by number
// (n at most top+1).
func walkBatch(top, n uint64) []upstream.BatchCall {
	calls := make([]upstream.BatchCall, 0, n)
	for i := range n {
		p, _ := json.Marshal([]any{hexutil.Uint64(top - i), false})
		calls = append(calls, upstream.BatchCall{Method: "eth_getBlockByNumber", Params: p})
	}
	return calls
}

// linked returns the headers of answers (by number, newest first) that
// form a chain of hashes down from want. The first answer not hashing to
// want is no lie (its node follows another chain); a later one that
// claims to be its child's parent and is not, is (lie).
func linked(want common.Hash, answers []*jsonrpc.Response) (hs []*types.Header, lie error) {
	for i, a := range answers {
		if a.Error != nil || string(a.Result) == "null" {
			return hs, nil
		}
		h, err := verify.HeaderFromJSON(a.Result, want)
		if err != nil {
			if i > 0 {
				var v *verify.Error
				if errors.As(err, &v) {
					lie = err
				}
			}
			return hs, lie
		}
		hs = append(hs, h)
		want = h.ParentHash
	}
	return hs, nil
}

// walkCanonical returns the canonical hashes of numbers (each below tip,
// a canonical block braid trusts: the served tip, or a block the history
// contract names) by walking parent hashes down from the lowest trusted
// canonical header above them that is at hand, tip at worst.
func (r *Reader) walkCanonical(ctx context.Context, tip block.Block, numbers []uint64) ([]common.Hash, error) {
	lowest := slices.Min(numbers)
	start := tip.Hash
	for num := lowest + 1; num < tip.Number && num-lowest <= uint64(r.cfg.ParentWalk); num++ {
		if h, ok := r.headers.Canonical(num); ok {
			if _, cached := r.headers.Get(h); cached {
				start = h
				break
			}
		}
	}
	from, err := r.Header(ctx, start)
	if err != nil {
		return nil, err
	}
	return r.ancestorHashes(ctx, from, numbers, true)
}

// CanonicalBelow returns the canonical hash of block number by walking
// parent hashes down from from, a header the caller holds as canonical and
// final — a history store's record of a finalized block it verified before:
// a trusted header chain below what the history contract and a walk from
// the tip reach. At most verify.parent_walk headers are walked; beyond, the
// refusal says why.
func (r *Reader) CanonicalBelow(ctx context.Context, from *types.Header, number uint64) (common.Hash, error) {
	r.headers.Add(from)
	hashes, err := r.ancestorHashes(ctx, from, []uint64{number}, true)
	if err != nil {
		return common.Hash{}, err
	}
	return hashes[0], nil
}
