package trust

import (
	"context"
	"encoding/json"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"

	"github.com/braidrpc/braid/internal/plan"
	"github.com/braidrpc/braid/internal/route"
	"github.com/braidrpc/braid/internal/upstream"
	"github.com/braidrpc/braid/internal/verify"
)

// This file is what the history stage (internal/gateway, issue 15) needs
// of the verified reader: headers of blocks whose bodies the operators
// pruned, and a block's verified body and receipts while they still serve
// them, for the history store.

// ErrNotFound: every operator able to answer said null (an unknown hash).
var ErrNotFound = errAllNull

// PrunedHeader returns the verified header of hash like Header, but asks
// eth_getHeaderByHash: a node that pruned the block's body (EIP-4444)
// answers eth_getBlockByHash with 4444 and keeps the header.
func (r *Reader) PrunedHeader(ctx context.Context, hash common.Hash) (*types.Header, error) {
	if h, ok := r.headers.Get(hash); ok {
		return h, nil
	}
	return r.fetchHeader(ctx, "eth_getHeaderByHash", hashParams(hash), hash)
}

// BlockTxs returns the verified transactions of the block of header h.
func (r *Reader) BlockTxs(ctx context.Context, h *types.Header) ([]*types.Transaction, error) {
	b, err := r.blockTxs(ctx, h)
	return b.txs, err
}

// BlockReceipts returns the verified receipts of the block of header h, as
// copies the caller may change (logs included).
func (r *Reader) BlockReceipts(ctx context.Context, h *types.Header) (types.Receipts, error) {
	rs, _, _, err := r.blockReceipts(ctx, h)
	if err != nil {
		return nil, err
	}
	out := make(types.Receipts, len(rs))
	for i, rc := range rs {
		c := *rc
		c.Logs = make([]*types.Log, len(rc.Logs))
		for j, l := range rc.Logs {
			lc := *l
			c.Logs[j] = &lc
		}
		out[i] = &c
	}
	return out, nil
}

// Body returns the whole verified body of the block of header h from the
// operators: its transactions (checked against the transactions root), its
// withdrawals and its uncles' headers (blockUncles), the whole checked
// with verify.CheckBody. An answer that fails a check is a lie.
func (r *Reader) Body(ctx context.Context, h *types.Header) (*types.Body, error) {
	uncles, err := r.blockUncles(ctx, h)
	if err != nil {
		return nil, err
	}
	var body types.Body
	res, err := r.fetchVerified(ctx, route.Call{Method: "eth_getBlockByHash", Params: hashParams(h.Hash(), true),
		Class: plan.ClassBlock, Data: upstream.HistoryData, Hedge: true}, false, r.offChainNull(ctx, h, func(res *route.Result) error {
		txs, err := verify.VerifyBlockTxs(h, res.Response.Result)
		if err == nil {
			err = checkUncles(res.Response.Result, uncleHashes(uncles))
		}
		if err != nil {
			return err
		}
		var extra struct {
			Withdrawals []*types.Withdrawal `json:"withdrawals"`
		}
		if err := json.Unmarshal(res.Response.Result, &extra); err != nil {
			return &verify.Error{What: "block withdrawals: " + err.Error()}
		}
		body = types.Body{Transactions: txs, Withdrawals: extra.Withdrawals, Uncles: uncles}
		if h.WithdrawalsHash != nil && body.Withdrawals == nil {
			body.Withdrawals = []*types.Withdrawal{}
		}
		return verify.CheckBody(h, &body)
	}))
	if err == nil {
		err = errorAnswer(res)
	}
	if err != nil {
		return nil, err
	}
	return &body, nil
}

// LogFilter reads an eth_getLogs filter with its tags resolved against the
// trusted tip, as the verified reader reads it.
func (r *Reader) LogFilter(raw json.RawMessage) (*verify.LogFilter, error) {
	tip, err := r.trusted()
	if err != nil {
		return nil, err
	}
	return r.parseLogFilter(raw, tip)
}

// MaxLogRange is verify.max_log_range: the widest log range the history
// stage reads block by block.
func (r *Reader) MaxLogRange() uint64 { return r.cfg.MaxLogRange }

// CanonicalRange returns the hashes of blocks from..to on the trusted
// chain (to at most the trusted tip), proving all unknown ones at once.
func (r *Reader) CanonicalRange(ctx context.Context, from, to uint64) ([]common.Hash, error) {
	return r.canonicalRange(ctx, from, to)
}
