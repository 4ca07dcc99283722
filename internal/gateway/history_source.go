package gateway

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/rlp"

	"github.com/braidrpc/braid/internal/history"
	"github.com/braidrpc/braid/internal/peers"
	"github.com/braidrpc/braid/internal/plan"
	"github.com/braidrpc/braid/internal/route"
	"github.com/braidrpc/braid/internal/upstream"
	"github.com/braidrpc/braid/internal/verify"
)

// fillSource is where a network's history filler gets content: headers and
// the head from braid's trusted path, bodies and receipts from the
// providers while they still serve them (checked through the verified
// reader) and from peers otherwise. The filler's store verifies everything
// again before keeping it.
type fillSource struct{ n *Network }

var _ history.Source = fillSource{}

// Head is the trusted tip's number.
func (s fillSource) Head(ctx context.Context) (uint64, error) {
	tip, err := s.n.trustedTip()
	if err != nil {
		return 0, err
	}
	return tip.Number, nil
}

// Header is the canonical header of number from the trusted path.
func (s fillSource) Header(ctx context.Context, number uint64) (*types.Header, error) {
	hash, err := s.n.trustedCanonical(ctx, number)
	if err != nil {
		return nil, err
	}
	return s.n.trustedHeader(ctx, hash)
}

// Body is the block's body in canonical RLP: rebuilt from a provider's
// verified full block (its transactions, withdrawals and uncle headers),
// else fetched from peers.
func (s fillSource) Body(ctx context.Context, hash common.Hash, number uint64) ([]byte, error) {
	h, err := s.n.trustedHeader(ctx, hash)
	if err != nil {
		return nil, err
	}
	body, perr := s.providerBody(ctx, h)
	if perr == nil {
		return rlp.EncodeToBytes(body)
	}
	raw, _, err := s.n.archive.node.Fetch(ctx, peers.Key{Kind: peers.Body, Hash: hash}, s.n.ageOf(h), peers.CheckBody(h))
	if err != nil {
		return nil, fmt.Errorf("providers: %w; peers: %w", perr, err)
	}
	return raw, nil
}

// providerBody rebuilds a body from providers' answers, each checked: the
// transactions against the header's root (the verified reader), the
// withdrawals and uncles by the store when it keeps the body.
func (s fillSource) providerBody(ctx context.Context, h *types.Header) (*types.Body, error) {
	n := s.n
	var body types.Body
	res, err := n.fetchVerified(ctx, route.Call{Method: "eth_getBlockByHash", Params: hashParams(h.Hash(), true),
		Class: plan.ClassBlock, Data: upstream.HistoryData, Hedge: true}, false, func(res *route.Result) error {
		txs, err := verify.VerifyBlockTxs(h, res.Response.Result)
		if err != nil {
			return err
		}
		var extra struct {
			Withdrawals []*types.Withdrawal `json:"withdrawals"`
			Uncles      []common.Hash       `json:"uncles"`
		}
		if err := json.Unmarshal(res.Response.Result, &extra); err != nil {
			return &verify.Error{What: "block withdrawals: " + err.Error()}
		}
		body = types.Body{Transactions: txs, Withdrawals: extra.Withdrawals}
		if h.WithdrawalsHash != nil && body.Withdrawals == nil {
			body.Withdrawals = []*types.Withdrawal{}
		}
		if len(extra.Uncles) > 0 {
			uncles, err := s.uncles(ctx, h, len(extra.Uncles))
			if err != nil {
				return err
			}
			body.Uncles = uncles
		}
		return verify.CheckBody(h, &body)
	})
	if err == nil {
		err = errorAnswer(res)
	}
	if err != nil {
		return nil, err
	}
	return &body, nil
}

// uncles fetches a block's uncle headers by index.
func (s fillSource) uncles(ctx context.Context, h *types.Header, count int) ([]*types.Header, error) {
	out := make([]*types.Header, count)
	for i := range out {
		res, err := s.n.router.Do(ctx, route.Call{Method: "eth_getUncleByBlockHashAndIndex",
			Params: hashParams(h.Hash(), hexutil.Uint64(i)), Class: plan.ClassBlock, Data: upstream.HistoryData})
		if err != nil {
			return nil, err
		}
		if res.Response.Error != nil {
			return nil, errors.New(res.Response.Error.Message)
		}
		var u types.Header
		if err := json.Unmarshal(res.Response.Result, &u); err != nil {
			return nil, &verify.Error{What: "uncle header: " + err.Error()}
		}
		out[i] = &u
	}
	return out, nil
}

// Receipts are the block's receipts: a provider's, checked through the
// verified reader, in the consensus encoding; else a peer's, in the
// storage encoding, checked against the stored body.
func (s fillSource) Receipts(ctx context.Context, hash common.Hash, number uint64) ([]byte, verify.ReceiptsEncoding, error) {
	n := s.n
	h, err := n.trustedHeader(ctx, hash)
	if err != nil {
		return nil, 0, err
	}
	rs, _, _, perr := n.blockReceipts(ctx, h)
	if perr == nil {
		raw, err := rlp.EncodeToBytes(types.Receipts(rs))
		return raw, verify.ReceiptsConsensus, err
	}
	body, ok := n.archive.store.Body(hash)
	if !ok {
		return nil, 0, perr
	}
	raw, _, err := n.archive.node.Fetch(ctx, peers.Key{Kind: peers.Receipts, Hash: hash}, n.ageOf(h), peers.CheckReceipts(h, body.Transactions))
	if err != nil {
		return nil, 0, fmt.Errorf("providers: %w; peers: %w", perr, err)
	}
	return raw, verify.ReceiptsStorage, nil
}
