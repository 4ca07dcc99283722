package history

import (
	"fmt"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/rawdb"
	"github.com/ethereum/go-ethereum/ethdb"
	"github.com/ethereum/go-ethereum/rlp"
)

// Parts names the parts of a block the store holds.
type Parts uint8

const (
	HeaderPart Parts = 1 << iota
	BodyPart
	ReceiptsPart
	// AllParts is a block's header, body and receipts.
	AllParts = HeaderPart | BodyPart | ReceiptsPart
)

// braid's own keys start with "~", which no go-ethereum rawdb key does.
const (
	recordPrefix = "~braid/block/" // + block hash: the block's record
	fillKey      = "~braid/fill"   // the Filler's progress
)

// recordCost is the bytes accounted for a block's record: its key, an
// upper bound of its RLP value and the entry overhead.
const recordCost = int64(len(recordPrefix)+common.HashLength) + 64 + EntryOverhead

// record is what the store keeps about one block, in memory and under
// recordPrefix+hash.
type record struct {
	Number    uint64
	Parts     Parts
	PreMerge  bool   // the header has a non-zero difficulty
	Canonical bool   // the canonical hash of Number is this block's
	Bytes     uint64 // accounted bytes of the content and this record
	Index     uint64 // accounted bytes of the canonical hash and tx lookups
	Stored    uint64 // Unix nanoseconds of the first write
	Used      uint64 // Unix nanoseconds of the last read or write
	Reads     uint64
	// Provenance is how the canonical decision was made (Canonical set);
	// absent in records written before it was kept, which read as Agreed.
	Provenance Provenance `rlp:"optional"`
}

// total is the bytes the block accounts for.
func (r *record) total() int64 { return int64(r.Bytes + r.Index) }

func recordKey(hash common.Hash) []byte {
	return append([]byte(recordPrefix), hash.Bytes()...)
}

func putRecord(w ethdb.KeyValueWriter, hash common.Hash, r *record) error {
	enc, err := rlp.EncodeToBytes(r)
	if err != nil {
		return fmt.Errorf("history: encode record: %w", err)
	}
	return w.Put(recordKey(hash), enc)
}

// load reads every record, restoring the accounting. A record that does
// not decode is dropped with its block, which would otherwise be
// unaccounted.
func (s *Store) load() error {
	it := s.kv.NewIterator([]byte(recordPrefix), nil)
	defer it.Release()
	b := s.kv.NewBatch()
	defer b.Close()
	for it.Next() {
		hash := common.BytesToHash(it.Key()[len(recordPrefix):])
		r := new(record)
		if len(it.Key()) != len(recordPrefix)+common.HashLength || rlp.DecodeBytes(it.Value(), r) != nil {
			s.log.Warn("history: dropping a block with an unreadable record", "hash", hash)
			if n, ok := rawdb.ReadHeaderNumber(s.kv, hash); ok {
				rawdb.DeleteBlock(b, hash, n)
			}
			if err := b.Delete(append([]byte(nil), it.Key()...)); err != nil {
				return err
			}
			continue
		}
		s.items[hash] = r
		s.size += r.total()
	}
	if err := it.Error(); err != nil {
		return fmt.Errorf("history: read records: %w", err)
	}
	return b.Write()
}

// flushDirty writes the records whose read stamps changed.
func (s *Store) flushDirty(w ethdb.KeyValueWriter) {
	for hash := range s.dirty {
		if r := s.items[hash]; r != nil {
			if err := putRecord(w, hash, r); err != nil {
				s.log.Warn("history: write record", "hash", hash, "err", err)
			}
		}
	}
	clear(s.dirty)
}

// meter counts the bytes of what is put through it: key, value and
// EntryOverhead per entry.
type meter struct {
	ethdb.KeyValueWriter
	bytes int64
}

func (m *meter) Put(key, value []byte) error {
	m.bytes += int64(len(key)+len(value)) + EntryOverhead
	return m.KeyValueWriter.Put(key, value)
}
