package history

import (
	"io/fs"
	"path/filepath"
	"testing"

	"github.com/ethereum/go-ethereum/rlp"
)

// Benchmarks of the store (docs/benchmarks.md, "History store"):
//
//	go test -run '^$' -bench . -benchmem ./internal/history/
//
// "devnet" blocks are like the devnet's: 4 transactions of ~100 bytes of
// calldata, one log each; "mainnet" blocks are a synthetic stand-in for a
// busy mainnet block: 150 transactions of 250 bytes, two logs each.

type blockShape struct {
	name            string
	txs, data, logs int
}

var shapes = []blockShape{{"devnet", 4, 100, 1}, {"mainnet", 150, 250, 2}}

// benchBlocks makes n distinct blocks of a shape.
func benchBlocks(b *testing.B, shape blockShape, n int) []*synthBlock {
	b.Helper()
	out := make([]*synthBlock, n)
	for i := range out {
		out[i] = makeBlockWith(b, uint64(i+1), shape.txs, byte(i), false, shape.data, shape.logs)
	}
	return out
}

// BenchmarkStorePut stores whole blocks (header, body, receipts, canonical
// hash and tx index): one block per op, in a store far from its bound.
func BenchmarkStorePut(b *testing.B) {
	for _, shape := range shapes {
		b.Run(shape.name, func(b *testing.B) {
			blocks := benchBlocks(b, shape, min(b.N, 500))
			s, _, _ := openStore(b, Options{MaxBytes: 1 << 40})
			b.ResetTimer()
			for i := range b.N {
				blk := blocks[i%len(blocks)]
				if i >= len(blocks) { // a fresh block, made off the clock
					b.StopTimer()
					blk = makeBlockWith(b, uint64(i+1), shape.txs, byte(i), false, shape.data, shape.logs)
					b.StartTimer()
				}
				if err := putBlock(b, s, blk); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkStorePutEvicting stores blocks into a full store, so every put
// also pays for eviction (planned in batches of 1/64 of the bound).
func BenchmarkStorePutEvicting(b *testing.B) {
	shape := shapes[0]
	blocks := benchBlocks(b, shape, 4000)
	s, _, _ := openStore(b, Options{MaxBytes: 4 << 20})
	for _, blk := range blocks[:2000] {
		if err := putBlock(b, s, blk); err != nil {
			b.Fatal(err)
		}
	}
	b.ResetTimer()
	for i := range b.N {
		blk := blocks[2000+i%2000]
		if s.Has(blk.hash(), HeaderPart) {
			b.StopTimer()
			blk = makeBlockWith(b, uint64(10000+i), shape.txs, byte(i), false, shape.data, shape.logs)
			b.StartTimer()
		}
		if err := putBlock(b, s, blk); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkStoreGet reads a whole block back as types (Block), as a
// history answer does before rendering; BenchmarkStoreGetRLP reads the raw
// body and receipts, as serving a peer does.
func BenchmarkStoreGet(b *testing.B) {
	for _, shape := range shapes {
		b.Run(shape.name, func(b *testing.B) {
			blocks := benchBlocks(b, shape, 200)
			s, _, _ := openStore(b, Options{MaxBytes: 1 << 40})
			for _, blk := range blocks {
				if err := putBlock(b, s, blk); err != nil {
					b.Fatal(err)
				}
			}
			b.ResetTimer()
			for i := range b.N {
				if _, ok := s.Block(blocks[i%len(blocks)].hash()); !ok {
					b.Fatal("missing")
				}
			}
		})
	}
}

func BenchmarkStoreGetRLP(b *testing.B) {
	for _, shape := range shapes {
		b.Run(shape.name, func(b *testing.B) {
			blocks := benchBlocks(b, shape, 200)
			s, _, _ := openStore(b, Options{MaxBytes: 1 << 40})
			for _, blk := range blocks {
				if err := putBlock(b, s, blk); err != nil {
					b.Fatal(err)
				}
			}
			b.ResetTimer()
			for i := range b.N {
				h := blocks[i%len(blocks)].hash()
				if _, ok := s.BodyRLP(h); !ok {
					b.Fatal("missing")
				}
				if _, ok := s.ReceiptsRLP(h); !ok {
					b.Fatal("missing")
				}
			}
		})
	}
}

// BenchmarkStoreSizePerBlock stores 1,000 devnet or 200 mainnet blocks and reports
// per block: the canonical RLP (header, body, receipts in the storage
// encoding), the bytes the store accounts, and the files on disk after a
// full compaction (pebble's tables; its write-ahead logs are transient and
// deleted once their memtables are flushed).
func BenchmarkStoreSizePerBlock(b *testing.B) {
	for _, shape := range shapes {
		b.Run(shape.name, func(b *testing.B) {
			n := 1000
			if shape.txs > 100 {
				n = 200
			}
			blocks := benchBlocks(b, shape, n)
			for range b.N {
				s, _, dir := openStore(b, Options{MaxBytes: 1 << 40})
				var raw int64
				for _, blk := range blocks {
					if err := putBlock(b, s, blk); err != nil {
						b.Fatal(err)
					}
					raw += rlpSize(b, blk.header) + rlpSize(b, blk.body) + int64(len(mustStorage(b, s, blk)))
				}
				if err := s.kv.Compact(nil, nil); err != nil {
					b.Fatal(err)
				}
				accounted := s.Size()
				if err := s.Close(); err != nil {
					b.Fatal(err)
				}
				b.ReportMetric(float64(raw)/float64(n), "rlp-B/block")
				b.ReportMetric(float64(accounted)/float64(n), "accounted-B/block")
				b.ReportMetric(float64(tableSize(b, dir))/float64(n), "sst-B/block")
			}
		})
	}
}

func rlpSize(b *testing.B, v any) int64 {
	raw, err := rlp.EncodeToBytes(v)
	if err != nil {
		b.Fatal(err)
	}
	return int64(len(raw))
}

func mustStorage(b *testing.B, s *Store, blk *synthBlock) []byte {
	raw, ok := s.ReceiptsRLP(blk.hash())
	if !ok {
		b.Fatal("no receipts")
	}
	return raw
}

// tableSize sums the sizes of pebble's table files in dir.
func tableSize(b *testing.B, dir string) int64 {
	var total int64
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || filepath.Ext(path) != ".sst" {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		total += info.Size()
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	return total
}
