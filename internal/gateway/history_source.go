package gateway

import (
	"context"
	"errors"
	"fmt"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/rlp"

	"github.com/braidrpc/braid/internal/history"
	"github.com/braidrpc/braid/internal/peers"
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
	tip := s.n.Tip()
	if !tip.Known {
		return 0, errors.New("no served tip yet")
	}
	return tip.Latest.Number, nil
}

// Header is the canonical header of number from the trusted path.
func (s fillSource) Header(ctx context.Context, number uint64) (*types.Header, error) {
	hash, err := s.n.trustedCanonical(ctx, number)
	if err != nil {
		return nil, err
	}
	return s.n.trustedHeader(ctx, hash)
}

// Body is the block's body in canonical RLP: a provider's, checked through
// the verified reader (transactions, withdrawals and uncles), else fetched
// from peers.
func (s fillSource) Body(ctx context.Context, hash common.Hash, number uint64) ([]byte, error) {
	h, err := s.n.trustedHeader(ctx, hash)
	if err != nil {
		return nil, err
	}
	body, perr := s.n.trust.Body(ctx, h)
	if perr == nil {
		return rlp.EncodeToBytes(body)
	}
	raw, _, err := s.n.archive.node.Fetch(ctx, peers.Key{Kind: peers.Body, Hash: hash}, s.n.ageOf(h), peers.CheckBody(h))
	if err != nil {
		return nil, fmt.Errorf("providers: %w; peers: %w", perr, err)
	}
	return raw, nil
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
	rs, perr := n.trust.BlockReceipts(ctx, h)
	if perr == nil {
		raw, err := rlp.EncodeToBytes(rs)
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
