package archive

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
type fillSource struct{ a *Archive }

var _ history.Source = fillSource{}

// Head is the trusted tip's number.
func (s fillSource) Head(ctx context.Context) (uint64, error) {
	tip := s.a.tip()
	if !tip.Known {
		return 0, errors.New("no served tip yet")
	}
	return tip.Latest.Number, nil
}

// Header is the canonical header of number from the trusted path.
func (s fillSource) Header(ctx context.Context, number uint64) (*types.Header, error) {
	h, _, err := s.CanonicalHeader(ctx, number)
	return h, err
}

// CanonicalHeader is the canonical header of number from the trusted
// path, with how it was decided (history.Agreed when an operators' quorum
// settled it).
func (s fillSource) CanonicalHeader(ctx context.Context, number uint64) (*types.Header, history.Provenance, error) {
	hash, p, err := s.a.canonical(ctx, number)
	if err != nil {
		return nil, history.NotCanonical, err
	}
	h, err := s.a.trustedHeader(ctx, hash)
	return h, p, err
}

// Body is the block's body in canonical RLP: a provider's, checked through
// the verified reader (transactions, withdrawals and uncles), else fetched
// from peers.
func (s fillSource) Body(ctx context.Context, hash common.Hash, number uint64) ([]byte, error) {
	h, err := s.a.trustedHeader(ctx, hash)
	if err != nil {
		return nil, err
	}
	body, perr := s.a.reader.Body(ctx, h)
	if perr == nil {
		return rlp.EncodeToBytes(body)
	}
	raw, _, err := s.a.node.Fetch(ctx, peers.Key{Kind: peers.Body, Hash: hash}, s.a.ageOf(h), peers.CheckBody(h))
	if err != nil {
		return nil, fmt.Errorf("providers: %w; peers: %w", perr, err)
	}
	return raw, nil
}

// Receipts are the block's receipts: a provider's, checked through the
// verified reader, in the consensus encoding; else a peer's, in the
// storage encoding, checked against the stored body.
func (s fillSource) Receipts(ctx context.Context, hash common.Hash, number uint64) ([]byte, verify.ReceiptsEncoding, error) {
	a := s.a
	h, err := a.trustedHeader(ctx, hash)
	if err != nil {
		return nil, 0, err
	}
	rs, perr := a.reader.BlockReceipts(ctx, h)
	if perr == nil {
		raw, err := rlp.EncodeToBytes(rs)
		return raw, verify.ReceiptsConsensus, err
	}
	body, ok := a.store.Body(hash)
	if !ok {
		return nil, 0, perr
	}
	raw, _, err := a.node.Fetch(ctx, peers.Key{Kind: peers.Receipts, Hash: hash}, a.ageOf(h), peers.CheckReceipts(h, body.Transactions))
	if err != nil {
		return nil, 0, fmt.Errorf("providers: %w; peers: %w", perr, err)
	}
	return raw, verify.ReceiptsStorage, nil
}
