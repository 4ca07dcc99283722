package trust

import (
	"context"
	"encoding/json"
	"errors"
	"strconv"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/core/types"

	"github.com/braidrpc/braid/internal/jsonrpc"
	"github.com/braidrpc/braid/internal/plan"
	"github.com/braidrpc/braid/internal/route"
	"github.com/braidrpc/braid/internal/upstream"
	"github.com/braidrpc/braid/internal/verify"
)

// fetchConcurrency bounds the fetches one verified read runs at once
// (headers and receipts of a log range).
const fetchConcurrency = 16

func hashParams(h common.Hash, rest ...any) json.RawMessage {
	p, _ := json.Marshal(append([]any{h.Hex()}, rest...))
	return p
}

// blockBody is a block's verified transactions and uncle hashes.
type blockBody struct {
	txs    []*types.Transaction
	hashes []common.Hash
	uncles []common.Hash
}

// blockTxs returns the verified transactions of the block of header h,
// from the cache when they were verified before.
func (r *Reader) blockTxs(ctx context.Context, h *types.Header) (blockBody, error) {
	if b, ok := r.bodies.get(h.Hash()); ok {
		return b, nil
	}
	body, res, err := r.fetchBody(ctx, h)
	if err == nil {
		err = errorAnswer(res)
	}
	return body, err
}

// fetchBody fetches the full block of header h, verifies its
// transactions and uncles, caches them, and returns them with the
// verified answer.
func (r *Reader) fetchBody(ctx context.Context, h *types.Header) (blockBody, *route.Result, error) {
	uncles, err := r.blockUncles(ctx, h)
	if err != nil {
		return blockBody{}, nil, err
	}
	body := blockBody{uncles: uncleHashes(uncles)}
	res, err := r.fetchVerified(ctx, route.Call{Method: "eth_getBlockByHash", Params: hashParams(h.Hash(), true),
		Class: plan.ClassBlock, Data: upstream.HistoryData, Hedge: true}, false, r.offChainNull(ctx, h, func(res *route.Result) error {
		txs, err := verify.VerifyBlockTxs(h, res.Response.Result)
		if err == nil {
			err = checkUncles(res.Response.Result, body.uncles)
		}
		if err != nil {
			return err
		}
		body.txs, body.hashes = txs, make([]common.Hash, len(txs))
		for i, tx := range txs {
			body.hashes[i] = tx.Hash()
		}
		return nil
	}))
	if err != nil {
		return blockBody{}, nil, err
	}
	if res.Response.Error == nil {
		r.bodies.add(h.Hash(), body)
		r.keptBody(h, body.txs, res.Response.Result)
	}
	return body, res, nil
}

// blockHeader resolves a block parameter to its verified header; a hash
// no operator knows is errAllNull, and so is one of a block that is not
// on braid's trusted chain (a side or reorged-out block, or a fork the
// operators agree on and the trust root does not): a node following the
// trusted chain may never have seen it, and braid answers for that chain
// only. Where the trusted path cannot tell (beyond its reach) the block
// is served on its own hash.
func (r *Reader) blockHeader(ctx context.Context, raw json.RawMessage) (*types.Header, error) {
	hash, err := r.Resolve(ctx, raw)
	if err != nil {
		return nil, err
	}
	h, err := r.Header(ctx, hash)
	if err != nil {
		return nil, err
	}
	canon, err := r.CanonicalHash(ctx, h.Number.Uint64())
	var above *aboveTipError
	switch {
	case errors.As(err, &above), err == nil && canon != hash:
		return nil, errAllNull
	}
	return h, nil
}

func fullTxs(pl *plan.Plan) bool {
	return len(pl.Args) > 1 && string(pl.Args[1]) == "true"
}

// verifiedBlock answers eth_getBlockByHash/ByNumber with a block whose
// header hashes to the trusted hash and whose transactions (and
// withdrawals) rebuild its roots. A hashes-only answer is checked against
// the verified full block.
func (r *Reader) verifiedBlock(ctx context.Context, pl *plan.Plan) (json.RawMessage, error) {
	var arg json.RawMessage
	if len(pl.Args) > 0 {
		arg = pl.Args[0]
	}
	h, err := r.blockHeader(ctx, arg)
	if err != nil {
		return nil, err
	}
	if fullTxs(pl) {
		// Fetched and checked afresh: the client gets a verified answer
		// (the body cache holds decoded transactions, not answers).
		_, res, err := r.fetchBody(ctx, h)
		if err != nil {
			return nil, err
		}
		return answer(res)
	}
	body, err := r.blockTxs(ctx, h)
	if err != nil {
		return nil, err
	}
	res, err := r.fetchVerified(ctx, route.Call{Method: "eth_getBlockByHash", Params: hashParams(h.Hash(), false),
		Class: plan.ClassBlock, Data: upstream.HistoryData, Hedge: true}, false, r.offChainNull(ctx, h, func(res *route.Result) error {
		if err := verify.VerifyBlockHashes(h, res.Response.Result, body.hashes); err != nil {
			return err
		}
		return checkUncles(res.Response.Result, body.uncles)
	}))
	if err != nil {
		return nil, err
	}
	return answer(res)
}

// txLocation is where a transaction or receipt answer says it was mined.
type txLocation struct {
	BlockHash   *common.Hash    `json:"blockHash"`
	BlockNumber *hexutil.Uint64 `json:"blockNumber"`
}

// minedHeader returns the verified header of the canonical block an
// answer says it is in, or a *verify.Error when that block is not the
// served chain's block at that number.
func (r *Reader) minedHeader(ctx context.Context, raw json.RawMessage) (*types.Header, error) {
	var loc txLocation
	if err := json.Unmarshal(raw, &loc); err != nil || loc.BlockHash == nil || loc.BlockNumber == nil {
		return nil, &verify.Error{What: "the answer does not say which block it is in"}
	}
	canon, err := r.CanonicalHash(ctx, uint64(*loc.BlockNumber))
	if err != nil {
		var above *aboveTipError
		if errors.As(err, &above) {
			return nil, &verify.Error{What: "the answer names block " + strconv.FormatUint(uint64(*loc.BlockNumber), 10) + ", beyond the trusted head"}
		}
		return nil, err
	}
	if canon != *loc.BlockHash {
		return nil, &verify.Error{What: "the answer names block " + loc.BlockHash.Hex() + ", which is not the chain's block at that height"}
	}
	return r.Header(ctx, canon)
}

// verifiedTxByHash answers eth_getTransactionByHash: a mined transaction
// must be in its (canonical, verified) block at the index it claims; a
// pending one must at least hash to what was asked.
func (r *Reader) verifiedTxByHash(ctx context.Context, pl *plan.Plan) (json.RawMessage, error) {
	return r.verifiedByTxHash(ctx, pl, func(raw json.RawMessage, want common.Hash) error {
		var loc txLocation
		_ = json.Unmarshal(raw, &loc)
		if loc.BlockHash == nil {
			return verify.VerifyTransaction(nil, nil, raw, want) // pending
		}
		h, err := r.minedHeader(ctx, raw)
		if err != nil {
			return err
		}
		body, err := r.blockTxs(ctx, h)
		if err != nil {
			return err
		}
		return verify.VerifyTransaction(h, body.hashes, raw, want)
	})
}

// verifiedByTxHash answers a method whose first argument is a
// transaction hash with the first answer check accepts for it.
func (r *Reader) verifiedByTxHash(ctx context.Context, pl *plan.Plan, check func(raw json.RawMessage, want common.Hash) error) (json.RawMessage, error) {
	var want common.Hash
	if err := json.Unmarshal(pl.Args[0], &want); err != nil {
		return nil, jsonrpc.Errorf(jsonrpc.CodeInvalidParams, "invalid params: hash: %v", err)
	}
	res, err := r.fetchVerified(ctx, route.Call{Method: pl.Method, Params: pl.Params, Class: plan.ClassTx, Hedge: true},
		true, func(res *route.Result) error { return check(res.Response.Result, want) })
	if err != nil {
		return nil, err
	}
	return answer(res)
}

// verifiedTxByIndex answers eth_getTransactionByBlock*AndIndex from a
// verified block.
func (r *Reader) verifiedTxByIndex(ctx context.Context, pl *plan.Plan) (json.RawMessage, error) {
	h, err := r.blockHeader(ctx, pl.Args[0])
	if err != nil {
		return nil, err
	}
	var idx hexutil.Uint64
	if err := json.Unmarshal(pl.Args[1], &idx); err != nil {
		return nil, jsonrpc.Errorf(jsonrpc.CodeInvalidParams, "invalid params: index: %v", err)
	}
	body, err := r.blockTxs(ctx, h)
	if err != nil {
		return nil, err
	}
	txs := body.hashes
	if uint64(idx) >= uint64(len(txs)) {
		return json.RawMessage("null"), nil // proven: the block has fewer transactions
	}
	res, err := r.fetchVerified(ctx, route.Call{Method: "eth_getTransactionByBlockHashAndIndex", Params: hashParams(h.Hash(), idx),
		Class: plan.ClassTx, Data: upstream.HistoryData, Hedge: true}, false, r.offChainNull(ctx, h, func(res *route.Result) error {
		return verify.VerifyTransaction(h, txs, res.Response.Result, txs[idx])
	}))
	if err != nil {
		return nil, err
	}
	return answer(res)
}
