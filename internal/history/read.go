package history

import (
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/rawdb"
	"github.com/ethereum/go-ethereum/core/types"
)

// The getters return what the store holds without verifying it again (it
// was verified before it was stored) and stamp the block as used. ok is
// false when the part is not stored or the store is closed.

// Header returns a stored header.
func (s *Store) Header(hash common.Hash) (*types.Header, bool) {
	n, ok := s.touch(hash, HeaderPart)
	if !ok {
		return nil, false
	}
	h := rawdb.ReadHeader(s.db, hash, n)
	return h, h != nil
}

// HeaderRLP returns a stored header in canonical RLP, to serve a peer.
func (s *Store) HeaderRLP(hash common.Hash) ([]byte, bool) {
	n, ok := s.touch(hash, HeaderPart)
	if !ok {
		return nil, false
	}
	raw := rawdb.ReadHeaderRLP(s.db, hash, n)
	return raw, len(raw) > 0
}

// Body returns a stored body.
func (s *Store) Body(hash common.Hash) (*types.Body, bool) {
	n, ok := s.touch(hash, BodyPart)
	if !ok {
		return nil, false
	}
	b := rawdb.ReadBody(s.db, hash, n)
	return b, b != nil
}

// BodyRLP returns a stored body in canonical RLP, to serve a peer.
func (s *Store) BodyRLP(hash common.Hash) ([]byte, bool) {
	n, ok := s.touch(hash, BodyPart)
	if !ok {
		return nil, false
	}
	raw := rawdb.ReadBodyRLP(s.db, hash, n)
	return raw, len(raw) > 0
}

// Receipts returns stored receipts with their consensus fields (type,
// status, cumulative gas, bloom, logs) set; ethjson derives the rest.
func (s *Store) Receipts(hash common.Hash) (types.Receipts, bool) {
	n, ok := s.touch(hash, BodyPart|ReceiptsPart)
	if !ok {
		return nil, false
	}
	return s.readReceipts(hash, n, nil)
}

// readReceipts reads receipts in the storage encoding and restores their
// types (from the body's transactions) and blooms.
func (s *Store) readReceipts(hash common.Hash, n uint64, body *types.Body) (types.Receipts, bool) {
	rs := rawdb.ReadRawReceipts(s.db, hash, n)
	if rs == nil {
		return nil, false
	}
	if body == nil {
		if body = rawdb.ReadBody(s.db, hash, n); body == nil {
			return nil, false
		}
	}
	if len(body.Transactions) != len(rs) {
		s.log.Warn("history: stored receipts do not match the stored body", "hash", hash)
		return nil, false
	}
	for i, r := range rs {
		r.Type = body.Transactions[i].Type()
		r.Bloom = types.CreateBloom(r)
	}
	return rs, true
}

// ReceiptsRLP returns stored receipts in the storage encoding
// (verify.ReceiptsStorage), to serve a peer: the smallest of go-ethereum's
// encodings, checkable with the block's body.
func (s *Store) ReceiptsRLP(hash common.Hash) ([]byte, bool) {
	n, ok := s.touch(hash, ReceiptsPart)
	if !ok {
		return nil, false
	}
	raw := rawdb.ReadReceiptsRLP(s.db, hash, n)
	return raw, len(raw) > 0
}

// Block is what the store holds of one block; missing parts are nil.
type Block struct {
	Header   *types.Header
	Body     *types.Body
	Receipts types.Receipts // consensus fields, as Receipts returns them
}

// Block returns every stored part of a block, for rendering
// (ethjson.Renderer.NewBlock). ok is false when not even its header is
// stored.
func (s *Store) Block(hash common.Hash) (*Block, bool) {
	s.mu.Lock()
	var parts Parts
	if r := s.items[hash]; r != nil {
		parts = r.Parts
	}
	s.mu.Unlock()
	n, ok := s.touch(hash, HeaderPart)
	if !ok {
		return nil, false
	}
	b := &Block{Header: rawdb.ReadHeader(s.db, hash, n)}
	if b.Header == nil {
		return nil, false
	}
	if parts&BodyPart != 0 {
		b.Body = rawdb.ReadBody(s.db, hash, n)
	}
	if parts&ReceiptsPart != 0 && b.Body != nil {
		b.Receipts, _ = s.readReceipts(hash, n, b.Body)
	}
	return b, true
}
