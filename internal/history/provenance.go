package history

import (
	"context"
	"errors"
	"fmt"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/rawdb"
	"github.com/ethereum/go-ethereum/core/types"
)

// Provenance is how the canonical decision for a block number was made:
// by braid's own proofs or by an operators' quorum. Strict mode
// (verify: strict) trusts only Proven decisions; other modes trust both.
// The order matters: a higher provenance replaces a lower one, never the
// reverse.
type Provenance uint8

const (
	// NotCanonical, as an argument (PutBlock, PutBlockRLP), stores a
	// block without making it canonical; as the least provenance a
	// lookup accepts it means Agreed.
	NotCanonical Provenance = iota
	// Agreed: the header K distinct operators agree on (a quorum read),
	// not proven by braid. A canonical record written before provenance
	// was recorded reads as Agreed: nothing says it was proven.
	Agreed
	// Proven: braid's trusted path (the served tip, EIP-2935 proofs,
	// parent-hash walks from a trusted header) — or an era1 file whose
	// SHA-256 is in go-ethereum's published list, a published trust root
	// like a checkpoint.
	Proven
)

func (p Provenance) String() string {
	switch p {
	case NotCanonical:
		return "not canonical"
	case Agreed:
		return "agreed"
	case Proven:
		return "proven"
	}
	return fmt.Sprintf("provenance(%d)", uint8(p))
}

// ErrProvenCanonical is returned when an agreed decision would replace a
// proven canonical hash of the same number: it never does.
var ErrProvenCanonical = errors.New("history: the number's canonical hash is proven; an agreed decision does not replace it")

// CanonicalSource gives the canonical header of a block number from
// braid's trusted path and how the decision was made (Proven, or Agreed
// by an operators' quorum). It is never a peer.
type CanonicalSource interface {
	CanonicalHeader(ctx context.Context, number uint64) (*types.Header, Provenance, error)
}

// provenance is the record's canonical decision: NotCanonical for a block
// that is not canonical, Agreed for a canonical record that predates
// provenance.
func (r *record) provenance() Provenance {
	if !r.Canonical {
		return NotCanonical
	}
	return max(r.Provenance, Agreed)
}

// Canonical is the canonical block hash of number, if the store holds one
// whose decision is at least least (Proven: only braid's proofs and
// published era1 files; Agreed or NotCanonical: any), with its
// provenance. Strict mode asks for Proven.
func (s *Store) Canonical(number uint64, least Provenance) (common.Hash, Provenance, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return common.Hash{}, NotCanonical, false
	}
	h := rawdb.ReadCanonicalHash(s.db, number)
	r := s.items[h]
	if h == (common.Hash{}) || r == nil || !r.Canonical || r.Number != number {
		return common.Hash{}, NotCanonical, false
	}
	if p := r.provenance(); p >= max(least, Agreed) {
		return h, p, true
	}
	return common.Hash{}, NotCanonical, false
}

// decide makes the block being written (hash, record next, body nil when
// it has none) canonical for its number with provenance p, within a
// write: a proven decision upgrades the block's agreed record; an agreed
// one never downgrades a proven record, nor replaces another block's
// proven canonical hash (ErrProvenCanonical). s.mu must be held.
func (s *Store) decide(index *meter, hash common.Hash, next *record, body *types.Body, p Provenance) (change, error) {
	if next.Canonical {
		next.Provenance = max(next.provenance(), p)
		return change{}, nil
	}
	prevHash := rawdb.ReadCanonicalHash(s.db, next.Number)
	if prev := s.items[prevHash]; p < Proven && prev != nil && prev.Canonical && prevHash != hash && prev.provenance() == Proven {
		return change{}, fmt.Errorf("%w: block %d is %s, not %s", ErrProvenCanonical, next.Number, prevHash.Hex(), hash.Hex())
	}
	next.Provenance = p
	return s.canonicalize(index, hash, next, body)
}

// decided reports whether a record already holds a decision at least p
// (nothing to write).
func (r *record) decided(p Provenance) bool {
	return p == NotCanonical || r.provenance() >= p
}
