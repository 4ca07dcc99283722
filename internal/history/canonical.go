package history

import (
	"fmt"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/rawdb"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/ethdb"
)

// SetCanonical records that hash is the canonical block of number, as
// braid's trusted path decided (never a peer), with how it decided (p:
// Proven or Agreed): the block's header must be stored. Its transactions
// become findable by hash (TxLookup); a block that was canonical for
// number before stops being so, and its lookup entries go. A proven
// decision upgrades an agreed one; an agreed decision never replaces a
// proven one (ErrProvenCanonical for another hash, nothing for the same).
func (s *Store) SetCanonical(number uint64, hash common.Hash, p Provenance) error {
	if p != Agreed && p != Proven {
		return fmt.Errorf("history: set canonical: provenance %v is not a decision", p)
	}
	s.mu.Lock()
	defer s.unlock()
	r, _, err := s.stored(hash, HeaderPart)
	if err != nil {
		return err
	}
	if r.Number != number {
		return fmt.Errorf("history: block %s is number %d, not %d", hash.Hex(), r.Number, number)
	}
	if r.decided(p) {
		return nil
	}
	return s.write(hash, r, func(_, index *meter, next *record) (change, error) {
		var body *types.Body
		if next.Parts&BodyPart != 0 {
			if body = rawdb.ReadBody(s.db, hash, number); body == nil {
				return change{}, fmt.Errorf("%w: block %s (record without body)", ErrNoBody, hash.Hex())
			}
		}
		return s.decide(index, hash, next, body, p)
	})
}

// canonicalize makes the block being written (hash, with record next) the
// canonical block of its number, within a write: the block canonical for
// the number before is demoted (its index entries go) and the block's
// transactions (body, nil when it has none) are indexed. s.mu must be
// held.
func (s *Store) canonicalize(index *meter, hash common.Hash, next *record, body *types.Body) (change, error) {
	var ch change
	prevHash := rawdb.ReadCanonicalHash(s.db, next.Number)
	if prev := s.items[prevHash]; prev != nil && prevHash != hash && prev.Canonical {
		if err := s.unindex(index, prevHash, prev); err != nil {
			return ch, err
		}
		demoted := *prev
		demoted.Canonical, demoted.Index, demoted.Provenance = false, 0, NotCanonical
		// prev's record is accounted in its Bytes already.
		if err := putRecord(index.KeyValueWriter, prevHash, &demoted); err != nil {
			return ch, err
		}
		ch.freed = int64(prev.Index)
		ch.protect = prevHash
		ch.after = func() { s.items[prevHash] = &demoted; delete(s.dirty, prevHash) }
	}
	rawdb.WriteCanonicalHash(index, hash, next.Number)
	if body != nil {
		writeTxLookups(index, next.Number, body)
	}
	next.Canonical = true
	return ch, nil
}

// unindex deletes a canonical block's canonical hash and the lookup
// entries of its transactions that still point at its number.
func (s *Store) unindex(w ethdb.KeyValueWriter, hash common.Hash, r *record) error {
	if rawdb.ReadCanonicalHash(s.db, r.Number) == hash {
		rawdb.DeleteCanonicalHash(w, r.Number)
	}
	if r.Parts&BodyPart == 0 {
		return nil
	}
	body := rawdb.ReadBody(s.db, hash, r.Number)
	if body == nil {
		return fmt.Errorf("%w: block %s (record without body)", ErrNoBody, hash.Hex())
	}
	for _, tx := range body.Transactions {
		if n := rawdb.ReadTxLookupEntry(s.db, tx.Hash()); n != nil && *n == r.Number {
			rawdb.DeleteTxLookupEntry(w, tx.Hash())
		}
	}
	return nil
}

// TxLocation is where a canonical transaction is.
type TxLocation struct {
	BlockHash common.Hash
	Number    uint64
	Index     uint64
}

// TxLookup finds a transaction of a canonical block the store holds with
// its body.
func (s *Store) TxLookup(txHash common.Hash) (*types.Transaction, TxLocation, bool) {
	s.mu.Lock()
	closed := s.closed
	s.mu.Unlock()
	if closed {
		return nil, TxLocation{}, false
	}
	tx, blockHash, number, index := rawdb.ReadCanonicalTransaction(s.db, txHash)
	if tx == nil {
		return nil, TxLocation{}, false
	}
	if _, ok := s.touch(blockHash, HeaderPart|BodyPart); !ok {
		return nil, TxLocation{}, false
	}
	return tx, TxLocation{BlockHash: blockHash, Number: number, Index: index}, true
}

// writeTxLookups indexes a canonical block's transactions. Block 0 is not
// indexed: rawdb encodes number 0 as an empty value, which it reads as no
// entry, so such entries could be neither found nor deleted (no real
// chain's genesis has transactions).
func writeTxLookups(w *meter, number uint64, body *types.Body) {
	if number > 0 {
		rawdb.WriteTxLookupEntries(w, number, txHashes(body.Transactions))
	}
}
