package trust

import (
	"context"
	"encoding/json"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"

	"github.com/braidrpc/braid/internal/jsonrpc"
	"github.com/braidrpc/braid/internal/plan"
	"github.com/braidrpc/braid/internal/route"
	"github.com/braidrpc/braid/internal/upstream"
	"github.com/braidrpc/braid/internal/verify"
)

// blockReceipts returns the verified receipts of the block of header h
// (from the cache when verified before) and their raw answers. They are
// checked against the block's verified transactions too: the receipts
// root does not cover a receipt's transaction hash, sender, recipient or
// contract address.
func (r *Reader) blockReceipts(ctx context.Context, h *types.Header) ([]*types.Receipt, []json.RawMessage, *route.Result, error) {
	if c, ok := r.receipts.get(h.Hash()); ok {
		return c.rs, c.raws, nil, nil
	}
	body, err := r.blockTxs(ctx, h)
	if err != nil {
		return nil, nil, nil, err
	}
	var rs []*types.Receipt
	var raws []json.RawMessage
	res, err := r.fetchVerified(ctx, route.Call{Method: "eth_getBlockReceipts", Params: hashParams(h.Hash()),
		Class: plan.ClassBlock, Data: upstream.HistoryData, Hedge: true}, false, r.offChainNull(ctx, h, func(res *route.Result) error {
		var err error
		rs, raws, err = verify.VerifyReceiptsTxs(h, body.txs, res.Response.Result)
		return err
	}))
	if err != nil {
		return nil, nil, nil, err
	}
	if err := errorAnswer(res); err != nil {
		return nil, nil, nil, err // the nodes' own error, not receipts
	}
	r.receipts.add(h.Hash(), cachedReceipts{rs, raws})
	r.keptReceipts(h, rs)
	return rs, raws, res, nil
}

// verifiedReceipt answers eth_getTransactionReceipt with a receipt that is
// the one its verified block's receipts hold for the transaction.
func (r *Reader) verifiedReceipt(ctx context.Context, pl *plan.Plan) (json.RawMessage, error) {
	return r.verifiedByTxHash(ctx, pl, func(raw json.RawMessage, want common.Hash) error {
		h, err := r.minedHeader(ctx, raw)
		if err != nil {
			return err
		}
		rs, raws, _, err := r.blockReceipts(ctx, h)
		if err != nil {
			return err
		}
		return verify.VerifyReceipt(rs, raws, raw, want)
	})
}

// verifiedBlockReceipts answers eth_getBlockReceipts with receipts that
// rebuild the block's receipts root.
func (r *Reader) verifiedBlockReceipts(ctx context.Context, pl *plan.Plan) (json.RawMessage, error) {
	h, err := r.blockHeader(ctx, pl.Args[0])
	if err != nil {
		return nil, err
	}
	rs, raws, res, err := r.blockReceipts(ctx, h)
	if err != nil {
		return nil, err
	}
	if res != nil {
		return answer(res)
	}
	_ = rs
	return jsonrpc.JoinArray(raws), nil
}

type cachedReceipts struct {
	rs   []*types.Receipt
	raws []json.RawMessage
}
