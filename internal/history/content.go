package history

import (
	"errors"
	"fmt"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/rawdb"
	"github.com/ethereum/go-ethereum/core/types"

	"github.com/braidrpc/braid/internal/verify"
)

// change is what one write does besides its own block's content: bytes it
// frees elsewhere (a block that stops being canonical) and what to apply
// in memory once the batch is written.
type change struct {
	freed   int64
	protect common.Hash // another block the change rewrites: not to be evicted by it
	after   func()
}

// write applies one atomic change to the block hash: fill writes content
// (accounted to the block's Bytes) and index entries (its Index) through
// meters over one batch, with the evictions that make room and the block's
// record. rec is the block's record, nil for a new block. s.mu must be
// held.
func (s *Store) write(hash common.Hash, rec *record, fill func(content, index *meter, next *record) (change, error)) error {
	if s.closed {
		return ErrClosed
	}
	b := s.kv.NewBatch()
	defer b.Close()
	content, index := &meter{KeyValueWriter: b}, &meter{KeyValueWriter: b}
	next := record{Stored: s.now()}
	if rec != nil {
		next = *rec
	} else {
		next.Bytes = uint64(recordCost)
	}
	next.Used = s.now()
	ch, err := fill(content, index, &next)
	if err != nil {
		return err
	}
	next.Bytes += uint64(content.bytes)
	next.Index += uint64(index.bytes)
	var old int64
	if rec != nil {
		old = rec.total()
	}
	need := next.total() - old - ch.freed
	victims, err := s.makeRoom(b, need, hash, &next, ch.protect)
	if err != nil {
		return err
	}
	for _, v := range victims {
		delete(s.dirty, v.hash)
	}
	delete(s.dirty, hash)
	s.flushDirty(b)
	now := s.opts.Clock.Now()
	if err := errors.Join(putRecord(b, hash, &next), s.buryVictims(b, victims, hash, next.Parts, now)); err != nil {
		return err
	}
	if err := b.Write(); err != nil {
		return fmt.Errorf("history: write: %w", err)
	}
	s.forget(victims)
	s.buried(victims, hash, next.Parts, now)
	if ch.after != nil {
		ch.after()
	}
	s.items[hash] = &next
	s.size += need
	if s.opts.Notify != nil {
		for _, v := range victims {
			s.events = append(s.events, Event{Hash: v.hash, Number: v.rec.Number})
		}
		if rec == nil || next.Parts != rec.Parts {
			s.events = append(s.events, Event{Hash: hash, Number: next.Number, Parts: next.Parts})
		}
	}
	return nil
}

// Event tells Options.Notify what a write changed: the block now holds
// Parts; Parts 0 means it was evicted.
type Event struct {
	Hash   common.Hash
	Number uint64
	Parts  Parts
}

// unlock releases s.mu and then tells Options.Notify what the writes under
// it changed, so the callback may call the store.
func (s *Store) unlock() {
	events := s.events
	s.events = nil
	s.mu.Unlock()
	for _, e := range events {
		s.opts.Notify(e)
	}
}

// PutHeader stores a header the caller trusts. Storing one already stored
// only marks it used.
func (s *Store) PutHeader(h *types.Header) error {
	if h == nil || h.Number == nil {
		return fmt.Errorf("history: no header")
	}
	hash := h.Hash()
	s.mu.Lock()
	defer s.unlock()
	if r := s.items[hash]; r != nil {
		r.Used = s.now()
		s.dirty[hash] = true
		return nil
	}
	return s.write(hash, nil, func(content, _ *meter, next *record) (change, error) {
		next.Number, next.Parts = h.Number.Uint64(), HeaderPart
		next.PreMerge = h.Difficulty != nil && h.Difficulty.Sign() > 0
		rawdb.WriteHeader(content, h)
		return change{}, nil
	})
}

// stored returns the record of a block holding parts and its header, or
// an error naming what is missing. s.mu must be held.
func (s *Store) stored(hash common.Hash, parts Parts) (*record, *types.Header, error) {
	if s.closed {
		return nil, nil, ErrClosed
	}
	r := s.items[hash]
	if r == nil {
		return nil, nil, fmt.Errorf("%w: block %s", ErrNoHeader, hash.Hex())
	}
	if parts&BodyPart != 0 && r.Parts&BodyPart == 0 {
		return nil, nil, fmt.Errorf("%w: block %s", ErrNoBody, hash.Hex())
	}
	h := rawdb.ReadHeader(s.db, hash, r.Number)
	if h == nil {
		return nil, nil, fmt.Errorf("%w: block %s (record without header)", ErrNoHeader, hash.Hex())
	}
	return r, h, nil
}

// PutBody stores the body of a block whose header is stored, after
// checking it against that header (verify.CheckBody). Storing one already
// stored does nothing.
func (s *Store) PutBody(hash common.Hash, body *types.Body) error {
	s.mu.Lock()
	defer s.unlock()
	r, h, err := s.stored(hash, HeaderPart)
	if err != nil {
		return err
	}
	if r.Parts&BodyPart != 0 {
		return nil
	}
	if err := verify.CheckBody(h, body); err != nil {
		return err
	}
	return s.putBody(hash, r, body)
}

// PutBodyRLP is PutBody for a body in canonical RLP, as a peer or an era
// file sends it (verify.DecodeBody).
func (s *Store) PutBodyRLP(hash common.Hash, raw []byte) error {
	s.mu.Lock()
	defer s.unlock()
	r, h, err := s.stored(hash, HeaderPart)
	if err != nil {
		return err
	}
	if r.Parts&BodyPart != 0 {
		return nil
	}
	body, err := verify.DecodeBody(h, raw)
	if err != nil {
		return err
	}
	return s.putBody(hash, r, body)
}

// putBody writes a verified body and, for a canonical block, its
// transactions' lookup entries. s.mu must be held.
func (s *Store) putBody(hash common.Hash, r *record, body *types.Body) error {
	return s.write(hash, r, func(content, index *meter, next *record) (change, error) {
		rawdb.WriteBody(content, hash, next.Number, body)
		if next.Canonical {
			writeTxLookups(index, next.Number, body)
		}
		next.Parts |= BodyPart
		return change{}, nil
	})
}

// PutReceipts stores the receipts of a block whose header and body are
// stored, after checking them (verify.CheckReceipts: their types and
// blooms must be set, as go-ethereum's JSON and consensus RLP set them).
// Storing them again does nothing.
func (s *Store) PutReceipts(hash common.Hash, receipts types.Receipts) error {
	return s.putReceipts(hash, func(h *types.Header, txs []*types.Transaction) (types.Receipts, error) {
		return receipts, verify.CheckReceipts(h, txs, receipts)
	})
}

// PutReceiptsRLP is PutReceipts for receipts in RLP of encoding enc, as a
// peer or an era file sends them (verify.DecodeReceipts).
func (s *Store) PutReceiptsRLP(hash common.Hash, raw []byte, enc verify.ReceiptsEncoding) error {
	return s.putReceipts(hash, func(h *types.Header, txs []*types.Transaction) (types.Receipts, error) {
		return verify.DecodeReceipts(h, txs, raw, enc)
	})
}

func (s *Store) putReceipts(hash common.Hash, check func(*types.Header, []*types.Transaction) (types.Receipts, error)) error {
	s.mu.Lock()
	defer s.unlock()
	r, h, err := s.stored(hash, HeaderPart|BodyPart)
	if err != nil {
		return err
	}
	if r.Parts&ReceiptsPart != 0 {
		return nil
	}
	body := rawdb.ReadBody(s.db, hash, r.Number)
	if body == nil {
		return fmt.Errorf("%w: block %s (record without body)", ErrNoBody, hash.Hex())
	}
	receipts, err := check(h, body.Transactions)
	if err != nil {
		return err
	}
	return s.write(hash, r, func(content, _ *meter, next *record) (change, error) {
		rawdb.WriteReceipts(content, hash, next.Number, receipts)
		next.Parts |= ReceiptsPart
		return change{}, nil
	})
}

func txHashes(txs []*types.Transaction) []common.Hash {
	out := make([]common.Hash, len(txs))
	for i, tx := range txs {
		out[i] = tx.Hash()
	}
	return out
}

// PutBlockRLP stores a whole block in one write: the trusted header h and
// its body and receipts in RLP (receipts of encoding enc), each verified
// against h (verify.DecodeBody, verify.DecodeReceipts) before anything is
// written, and makes it canonical with that provenance unless canonical is
// NotCanonical (by SetCanonical's rules). Parts already stored stay as
// they are. Importers and peers that fetch whole blocks
// use it: one batch instead of four.
func (s *Store) PutBlockRLP(h *types.Header, body, receipts []byte, enc verify.ReceiptsEncoding, canonical Provenance) error {
	if h == nil || h.Number == nil {
		return fmt.Errorf("history: no header")
	}
	b, err := verify.DecodeBody(h, body)
	if err != nil {
		return err
	}
	rs, err := verify.DecodeReceipts(h, b.Transactions, receipts, enc)
	if err != nil {
		return err
	}
	return s.putBlock(h, b, rs, canonical)
}

// PutBlock is PutBlockRLP for decoded content (receipts with their types
// and blooms set), checked with verify.CheckBody and verify.CheckReceipts.
func (s *Store) PutBlock(h *types.Header, body *types.Body, receipts types.Receipts, canonical Provenance) error {
	if h == nil || h.Number == nil {
		return fmt.Errorf("history: no header")
	}
	if err := verify.CheckBody(h, body); err != nil {
		return err
	}
	if err := verify.CheckReceipts(h, body.Transactions, receipts); err != nil {
		return err
	}
	return s.putBlock(h, body, receipts, canonical)
}

// putBlock writes the parts of a verified block the store lacks.
func (s *Store) putBlock(h *types.Header, body *types.Body, receipts types.Receipts, canonical Provenance) error {
	if canonical > Proven {
		return fmt.Errorf("history: put block: unknown provenance %v", canonical)
	}
	hash := h.Hash()
	s.mu.Lock()
	defer s.unlock()
	r := s.items[hash]
	if r != nil && r.Parts == AllParts && r.decided(canonical) {
		r.Used = s.now()
		s.dirty[hash] = true
		return nil
	}
	return s.write(hash, r, func(content, index *meter, next *record) (change, error) {
		if next.Parts&HeaderPart == 0 {
			next.Number, next.Parts = h.Number.Uint64(), HeaderPart
			next.PreMerge = h.Difficulty != nil && h.Difficulty.Sign() > 0
			rawdb.WriteHeader(content, h)
		}
		if next.Parts&BodyPart == 0 {
			rawdb.WriteBody(content, hash, next.Number, body)
			if next.Canonical {
				writeTxLookups(index, next.Number, body)
			}
			next.Parts |= BodyPart
		}
		if next.Parts&ReceiptsPart == 0 {
			rawdb.WriteReceipts(content, hash, next.Number, receipts)
			next.Parts |= ReceiptsPart
		}
		if canonical != NotCanonical {
			return s.decide(index, hash, next, body, canonical)
		}
		return change{}, nil
	})
}
