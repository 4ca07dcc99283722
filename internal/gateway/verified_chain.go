package gateway

import (
	"context"
	"encoding/json"
	"errors"
	"strconv"
	"sync"

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

// blockBody is a block's verified transactions.
type blockBody struct {
	txs    []*types.Transaction
	hashes []common.Hash
}

// blockTxs returns the verified transactions of the block of header h,
// from the cache when they were verified before.
func (n *Network) blockTxs(ctx context.Context, h *types.Header) (blockBody, error) {
	if b, ok := n.bodies.get(h.Hash()); ok {
		return b, nil
	}
	body, res, err := n.fetchBody(ctx, h)
	if err == nil {
		err = errorAnswer(res)
	}
	return body, err
}

// fetchBody fetches the full block of header h, verifies its
// transactions, caches them, and returns them with the verified answer.
func (n *Network) fetchBody(ctx context.Context, h *types.Header) (blockBody, *route.Result, error) {
	var body blockBody
	res, err := n.fetchVerified(ctx, route.Call{Method: "eth_getBlockByHash", Params: hashParams(h.Hash(), true),
		Class: plan.ClassBlock, Data: upstream.HistoryData, Hedge: true}, false, func(res *route.Result) error {
		txs, err := verify.VerifyBlockTxs(h, res.Response.Result)
		if err != nil {
			return err
		}
		body = blockBody{txs: txs, hashes: make([]common.Hash, len(txs))}
		for i, tx := range txs {
			body.hashes[i] = tx.Hash()
		}
		return nil
	})
	if err != nil {
		return blockBody{}, nil, err
	}
	if res.Response.Error == nil {
		n.bodies.add(h.Hash(), body)
	}
	return body, res, nil
}

// blockHeader resolves a block parameter to its verified header; a hash
// no operator knows is errAllNull.
func (n *Network) blockHeader(ctx context.Context, raw json.RawMessage) (*types.Header, error) {
	hash, err := n.resolveBlock(ctx, raw)
	if err != nil {
		return nil, err
	}
	return n.header(ctx, hash)
}

func fullTxs(pl *plan.Plan) bool {
	return len(pl.Args) > 1 && string(pl.Args[1]) == "true"
}

// verifiedBlock answers eth_getBlockByHash/ByNumber with a block whose
// header hashes to the trusted hash and whose transactions (and
// withdrawals) rebuild its roots. A hashes-only answer is checked against
// the verified full block.
func (n *Network) verifiedBlock(ctx context.Context, pl *plan.Plan) (json.RawMessage, error) {
	var arg json.RawMessage
	if len(pl.Args) > 0 {
		arg = pl.Args[0]
	}
	h, err := n.blockHeader(ctx, arg)
	if err != nil {
		return nil, err
	}
	if fullTxs(pl) {
		// Fetched and checked afresh: the client gets a verified answer
		// (the body cache holds decoded transactions, not answers).
		_, res, err := n.fetchBody(ctx, h)
		if err != nil {
			return nil, err
		}
		return answer(res)
	}
	body, err := n.blockTxs(ctx, h)
	if err != nil {
		return nil, err
	}
	txs := body.hashes
	res, err := n.fetchVerified(ctx, route.Call{Method: "eth_getBlockByHash", Params: hashParams(h.Hash(), false),
		Class: plan.ClassBlock, Data: upstream.HistoryData, Hedge: true}, false, func(res *route.Result) error {
		return verify.VerifyBlockHashes(h, res.Response.Result, txs)
	})
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
func (n *Network) minedHeader(ctx context.Context, raw json.RawMessage) (*types.Header, error) {
	var loc txLocation
	if err := json.Unmarshal(raw, &loc); err != nil || loc.BlockHash == nil || loc.BlockNumber == nil {
		return nil, &verify.Error{What: "the answer does not say which block it is in"}
	}
	canon, err := n.canonicalHash(ctx, uint64(*loc.BlockNumber))
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
	return n.header(ctx, canon)
}

// verifiedTxByHash answers eth_getTransactionByHash: a mined transaction
// must be in its (canonical, verified) block at the index it claims; a
// pending one must at least hash to what was asked.
func (n *Network) verifiedTxByHash(ctx context.Context, pl *plan.Plan) (json.RawMessage, error) {
	var want common.Hash
	if err := json.Unmarshal(pl.Args[0], &want); err != nil {
		return nil, jsonrpc.Errorf(jsonrpc.CodeInvalidParams, "invalid params: hash: %v", err)
	}
	res, err := n.fetchVerified(ctx, route.Call{Method: pl.Method, Params: pl.Params, Class: plan.ClassTx, Hedge: true},
		true, func(res *route.Result) error {
			var loc txLocation
			_ = json.Unmarshal(res.Response.Result, &loc)
			if loc.BlockHash == nil {
				return verify.VerifyTransaction(nil, nil, res.Response.Result, want) // pending
			}
			h, err := n.minedHeader(ctx, res.Response.Result)
			if err != nil {
				return err
			}
			body, err := n.blockTxs(ctx, h)
			if err != nil {
				return err
			}
			return verify.VerifyTransaction(h, body.hashes, res.Response.Result, want)
		})
	if err != nil {
		return nil, err
	}
	return answer(res)
}

// verifiedTxByIndex answers eth_getTransactionByBlock*AndIndex from a
// verified block.
func (n *Network) verifiedTxByIndex(ctx context.Context, pl *plan.Plan) (json.RawMessage, error) {
	h, err := n.blockHeader(ctx, pl.Args[0])
	if err != nil {
		return nil, err
	}
	var idx hexutil.Uint64
	if err := json.Unmarshal(pl.Args[1], &idx); err != nil {
		return nil, jsonrpc.Errorf(jsonrpc.CodeInvalidParams, "invalid params: index: %v", err)
	}
	body, err := n.blockTxs(ctx, h)
	if err != nil {
		return nil, err
	}
	txs := body.hashes
	if uint64(idx) >= uint64(len(txs)) {
		return json.RawMessage("null"), nil // proven: the block has fewer transactions
	}
	res, err := n.fetchVerified(ctx, route.Call{Method: "eth_getTransactionByBlockHashAndIndex", Params: hashParams(h.Hash(), idx),
		Class: plan.ClassTx, Data: upstream.HistoryData, Hedge: true}, false, func(res *route.Result) error {
		return verify.VerifyTransaction(h, txs, res.Response.Result, txs[idx])
	})
	if err != nil {
		return nil, err
	}
	return answer(res)
}

// blockReceipts returns the verified receipts of the block of header h
// (from the cache when verified before) and their raw answers. They are
// checked against the block's verified transactions too: the receipts
// root does not cover a receipt's transaction hash, sender, recipient or
// contract address.
func (n *Network) blockReceipts(ctx context.Context, h *types.Header) ([]*types.Receipt, []json.RawMessage, *route.Result, error) {
	if c, ok := n.receipts.get(h.Hash()); ok {
		return c.rs, c.raws, nil, nil
	}
	body, err := n.blockTxs(ctx, h)
	if err != nil {
		return nil, nil, nil, err
	}
	var rs []*types.Receipt
	var raws []json.RawMessage
	res, err := n.fetchVerified(ctx, route.Call{Method: "eth_getBlockReceipts", Params: hashParams(h.Hash()),
		Class: plan.ClassBlock, Data: upstream.HistoryData, Hedge: true}, false, func(res *route.Result) error {
		var err error
		rs, raws, err = verify.VerifyReceiptsTxs(h, body.txs, res.Response.Result)
		return err
	})
	if err != nil {
		return nil, nil, nil, err
	}
	if err := errorAnswer(res); err != nil {
		return nil, nil, nil, err // the nodes' own error, not receipts
	}
	n.receipts.add(h.Hash(), cachedReceipts{rs, raws})
	return rs, raws, res, nil
}

// verifiedReceipt answers eth_getTransactionReceipt with a receipt that is
// the one its verified block's receipts hold for the transaction.
func (n *Network) verifiedReceipt(ctx context.Context, pl *plan.Plan) (json.RawMessage, error) {
	var want common.Hash
	if err := json.Unmarshal(pl.Args[0], &want); err != nil {
		return nil, jsonrpc.Errorf(jsonrpc.CodeInvalidParams, "invalid params: hash: %v", err)
	}
	res, err := n.fetchVerified(ctx, route.Call{Method: pl.Method, Params: pl.Params, Class: plan.ClassTx, Hedge: true},
		true, func(res *route.Result) error {
			h, err := n.minedHeader(ctx, res.Response.Result)
			if err != nil {
				return err
			}
			rs, raws, _, err := n.blockReceipts(ctx, h)
			if err != nil {
				return err
			}
			return verify.VerifyReceipt(rs, raws, res.Response.Result, want)
		})
	if err != nil {
		return nil, err
	}
	return answer(res)
}

// verifiedBlockReceipts answers eth_getBlockReceipts with receipts that
// rebuild the block's receipts root.
func (n *Network) verifiedBlockReceipts(ctx context.Context, pl *plan.Plan) (json.RawMessage, error) {
	h, err := n.blockHeader(ctx, pl.Args[0])
	if err != nil {
		return nil, err
	}
	rs, raws, res, err := n.blockReceipts(ctx, h)
	if err != nil {
		return nil, err
	}
	if res != nil {
		return answer(res)
	}
	_ = rs
	return joinRaw(raws), nil
}

func joinRaw(raws []json.RawMessage) json.RawMessage {
	out := []byte{'['}
	for i, r := range raws {
		if i > 0 {
			out = append(out, ',')
		}
		out = append(out, r...)
	}
	return append(out, ']')
}

type cachedReceipts struct {
	rs   []*types.Receipt
	raws []json.RawMessage
}

// bounded is a small cache that forgets its oldest entries past max.
type bounded[V any] struct {
	mu    sync.Mutex
	max   int
	order []common.Hash
	byKey map[common.Hash]V
}

func newBounded[V any](size int) *bounded[V] {
	return &bounded[V]{max: max(size, 1), byKey: map[common.Hash]V{}}
}

func (c *bounded[V]) get(k common.Hash) (V, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	v, ok := c.byKey[k]
	return v, ok
}

func (c *bounded[V]) add(k common.Hash, v V) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.byKey[k]; ok {
		return
	}
	c.byKey[k] = v
	c.order = append(c.order, k)
	for len(c.order) > c.max {
		delete(c.byKey, c.order[0])
		c.order = c.order[1:]
	}
}
