package trust

import (
	"context"
	"encoding/json"
	"errors"
	"sync"
	"sync/atomic"

	"github.com/ethereum/go-ethereum/core/types"

	"github.com/braidrpc/braid/internal/evm"
	"github.com/braidrpc/braid/internal/route"
	"github.com/braidrpc/braid/internal/verify"
)

// This file sends batches within what the operators take: providers cap
// JSON-RPC batches (Erigon's default rpc.batch.limit is 100, go-ethereum's
// 1000, some hosted plans take a few calls or no batch at all), and a
// batch over the cap is refused whole. The local EVM's proofs and the
// parent-hash walk's steps (walk.go) learn the network's limit here.

// DefaultBatchLimit is the most calls one batch carries until operators
// refuse one that large: Erigon's default batch limit, the lowest of the
// common nodes' defaults.
const DefaultBatchLimit = 100

// batchLimit is how many calls the network's batches carry:
// DefaultBatchLimit, halved each time every operator asked refused a
// batch of that size, down to 1 (single calls). It never grows again:
// operators' caps are configuration, not load.
type batchLimit struct{ n atomic.Int64 }

func (b *batchLimit) get() int {
	if n := b.n.Load(); n > 0 {
		return int(n)
	}
	return DefaultBatchLimit
}

// lower makes the size at most n (at least 1); whether it changed.
func (b *batchLimit) lower(n int) bool {
	n = max(n, 1)
	for {
		cur := b.n.Load()
		if cur > 0 && cur <= int64(n) {
			return false
		}
		if b.n.CompareAndSwap(cur, int64(n)) {
			return true
		}
	}
}

// Proofs implements evm.Source: the queries' eth_getProof (and
// eth_getCode) as batches of at most the network's batch size, sent at
// once, each to one operator; what one could not serve or proved false
// goes to the next operator, until every query is proven. A batch every
// operator refuses is split in two and sent again (and the network's
// size lowered), down to single calls.
func (s EVMSource) Proofs(ctx context.Context, block *types.Header, queries []evm.Query) ([]evm.Proven, error) {
	out := make([]evm.Proven, len(queries))
	pending := make([]int, len(queries))
	for i := range pending {
		pending[i] = i
	}
	if err := s.proveChunks(ctx, block, queries, pending, out); err != nil {
		return nil, err
	}
	return out, nil
}

// proveChunks proves queries[pending] into out in chunks of at most the
// network's batch size, at the same time; the first error is returned.
func (s EVMSource) proveChunks(ctx context.Context, block *types.Header, queries []evm.Query, pending []int, out []evm.Proven) error {
	chunks := chunkQueries(queries, pending, s.r.batch.get())
	if len(chunks) == 1 {
		return s.proveChunk(ctx, block, queries, chunks[0], out)
	}
	errs := make([]error, len(chunks))
	var wg sync.WaitGroup
	for i, c := range chunks {
		wg.Go(func() { errs[i] = s.proveChunk(ctx, block, queries, c, out) })
	}
	wg.Wait()
	return firstError(errs)
}

func firstError(errs []error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// proveChunk proves one chunk: as a batch, or, once the network is down
// to single calls, one call at a time. A batch every operator refused
// lowers the network's size below the chunk's and goes again in smaller
// ones (a chunk of one query, as single calls).
func (s EVMSource) proveChunk(ctx context.Context, block *types.Header, queries []evm.Query, chunk []int, out []evm.Proven) error {
	if s.r.batch.get() == 1 && len(chunk) == 1 {
		return s.proveSingle(ctx, block, queries, chunk[0], out)
	}
	err := s.proveBatch(ctx, block, queries, chunk, out)
	var f *route.Failure
	if !errors.As(err, &f) || !f.BatchRefused() {
		return err
	}
	s.r.refusedBatch(batchCalls(queries, chunk), "the local EVM's proofs")
	if len(chunk) == 1 {
		return s.proveSingle(ctx, block, queries, chunk[0], out)
	}
	return s.proveChunks(ctx, block, queries, chunk, out)
}

// refusedBatch lowers the network's batch limit below n, the calls of a
// batch every operator refused, and logs it once per change.
func (r *Reader) refusedBatch(n int, what string) {
	if r.batch.lower(n / 2) {
		r.log.Info("operators refuse batches this large: batches go smaller", "network", r.network,
			"for", what, "refused_calls", n, "batch_calls", r.batch.get())
	}
}

func (s EVMSource) proveSingle(ctx context.Context, block *types.Header, queries []evm.Query, i int, out []evm.Proven) error {
	p, err := s.proveOne(ctx, block, queries[i])
	if err == nil {
		out[i] = p
	}
	return err
}

// chunkQueries splits pending into runs of at most size calls (a query is
// one call, two with its code; a query never splits). With size 1 every
// query is a chunk of its own.
func chunkQueries(queries []evm.Query, pending []int, size int) [][]int {
	var chunks [][]int
	var cur []int
	calls := 0
	for _, i := range pending {
		c := batchCalls(queries, []int{i})
		if len(cur) > 0 && calls+c > size {
			chunks = append(chunks, cur)
			cur, calls = nil, 0
		}
		cur = append(cur, i)
		calls += c
	}
	if len(cur) > 0 {
		chunks = append(chunks, cur)
	}
	return chunks
}

// batchCalls is how many calls the batch for queries[pending] holds.
func batchCalls(queries []evm.Query, pending []int) int {
	n := 0
	for _, i := range pending {
		n++
		if queries[i].Code {
			n++
		}
	}
	return n
}

// proveOne proves one query without a batch, for operators that take
// none: its eth_getProof (the next operator when one lies or cannot
// serve it), then its code by Code, checked against the proven code hash.
func (s EVMSource) proveOne(ctx context.Context, block *types.Header, q evm.Query) (evm.Proven, error) {
	keys := make([]string, len(q.Slots))
	for j, slot := range q.Slots {
		keys[j] = slot.Hex()
	}
	call := stateCall("eth_getProof", block)
	call.Params, _ = json.Marshal([]any{q.Address, keys, blockAt(block)})
	call.Hedge = true
	var acct *verify.Account
	res, err := s.r.fetchVerified(ctx, call, false, func(res *route.Result) error {
		a, err := verify.VerifyProof(block.Root, q.Address, q.Slots, res.Response.Result)
		acct = a
		return err
	})
	if err == nil && res.Response.Error != nil {
		err = res.Response.Error
	}
	if err != nil {
		return evm.Proven{}, err
	}
	p := evm.Proven{Account: acct}
	if !q.Code {
		return p, nil
	}
	hash := types.EmptyCodeHash
	if acct.Exists {
		hash = acct.CodeHash
	}
	if hash == types.EmptyCodeHash {
		return p, nil
	}
	p.Code, err = s.Code(ctx, block, q.Address, hash)
	if err != nil {
		return evm.Proven{}, err
	}
	return p, nil
}
