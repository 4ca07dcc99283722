package cache

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"testing"
	"time"
)

// benchKeys returns n distinct keys shaped like the gateway's: chain,
// method and canonical params.
func benchKeys(n int) []string { return fillKeys(make([]string, n)) }

// fillKeys fills keys with distinct keys and returns it.
func fillKeys(keys []string) []string {
	for i := range keys {
		switch i % 3 {
		case 0:
			keys[i] = fmt.Sprintf(`1:eth_getBlockByNumber:["0x%x",false]`, 19_000_000+i)
		case 1:
			keys[i] = fmt.Sprintf(`1:eth_getTransactionReceipt:["0x%064x"]`, i)
		default:
			keys[i] = fmt.Sprintf(`1:eth_call:[{"to":"0x%040x","data":"0x70a08231%064x"},"0x%x"]`, i%97, i, 19_000_000+i)
		}
	}
	return keys
}

// benchValues returns n values of 1–2 KiB, each its own allocation, as
// answers read off upstream responses would be.
func benchValues(n int, rng *rand.Rand) [][]byte { return fillValues(make([][]byte, n), rng) }

// fillValues fills vals with fresh 1–2 KiB values and returns it.
func fillValues(vals [][]byte, rng *rand.Rand) [][]byte {
	for i := range vals {
		v := make([]byte, 1024+rng.IntN(1024))
		for j := range v {
			v[j] = byte('a' + j%26)
		}
		vals[i] = v
	}
	return vals
}

func BenchmarkMemoryGetHit(b *testing.B) {
	for _, bc := range []struct {
		name string
		ttl  time.Duration
	}{
		{"ttl=0", 0},
		{"ttl=1h", time.Hour}, // a hit also reads the clock
	} {
		b.Run(bc.name, func(b *testing.B) {
			const n = 10_000
			keys := benchKeys(n)
			vals := benchValues(n, rand.New(rand.NewPCG(1, 2)))
			m := NewMemory(MemoryOptions{MaxBytes: 256 << 20})
			for i, k := range keys {
				m.Set(bg, k, vals[i], bc.ttl)
			}
			if st := m.Stats(); st.Entries != n {
				b.Fatalf("only %d of %d entries stored", st.Entries, n)
			}
			b.ReportAllocs()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				i := rand.IntN(n)
				for pb.Next() {
					if _, ok := m.Get(bg, keys[i]); !ok {
						b.Errorf("miss on %s", keys[i])
						return
					}
					if i++; i == n {
						i = 0
					}
				}
			})
		})
	}
}

func BenchmarkMemorySet(b *testing.B) {
	for _, bc := range []struct {
		name string
		keys int // distinct keys set in turn; the store holds about 10,000
	}{
		{"replace", 5_000},
		{"evict", 100_000},
	} {
		b.Run(bc.name, func(b *testing.B) {
			keys := benchKeys(bc.keys)
			val := make([]byte, 1500) // shared: the store never modifies values
			m := NewMemory(MemoryOptions{MaxBytes: 10_000 * (1600 + EntryOverhead())})
			b.ReportAllocs()
			b.ResetTimer()
			for i := range b.N {
				m.Set(bg, keys[i%len(keys)], val, time.Minute)
			}
		})
	}
}

// BenchmarkMemoryHeapPerEntry measures the heap a store costs per resident
// entry, to compare with EntryOverhead. Keys and values are allocated before
// the store is filled, so the heap growth while filling is the store's own
// bookkeeping: entries, index maps and ghost queues. "fill" inserts 100k
// entries into a store that holds them all; "steady" inserts 250k into one
// that holds about 100k, so eviction has run long enough for every ghost to
// be full. The measurement runs once; the timed loop is then Get over the
// inserted keys of that large store (hits, and for "steady" misses too).
//
// Reported: heap-bytes/entry (bookkeeping plus the key and value heap),
// bookkeeping-bytes/entry, accounted-bytes/entry (Stats().Bytes/Entries) and
// overhead-bytes/entry (EntryOverhead, for comparison).
func BenchmarkMemoryHeapPerEntry(b *testing.B) {
	for _, bc := range []struct {
		name     string
		inserts  int
		resident int // entries the store is sized for
	}{
		{"fill", 100_000, 200_000},
		{"steady", 250_000, 100_000},
	} {
		b.Run(bc.name, func(b *testing.B) {
			keys, vals := make([]string, bc.inserts), make([][]byte, bc.inserts)
			h0 := liveHeap()
			fillKeys(keys)
			fillValues(vals, rand.New(rand.NewPCG(1, 3)))
			h1 := liveHeap()
			var raw int64
			for j := range keys {
				raw += int64(len(keys[j]) + len(vals[j]))
			}
			avg := raw / int64(bc.inserts)
			m := NewMemory(MemoryOptions{MaxBytes: int64(bc.resident) * (avg + EntryOverhead())})
			for j := range keys {
				m.Set(bg, keys[j], vals[j], 0)
			}
			h2 := liveHeap()
			st := m.Stats()
			if bc.inserts <= bc.resident && st.Entries != bc.inserts {
				b.Fatalf("fill kept %d of %d", st.Entries, bc.inserts)
			}
			keyval := float64(h1-h0) / float64(bc.inserts)
			bookkeeping := float64(h2-h1) / float64(st.Entries)

			i := 0
			for b.Loop() {
				m.Get(bg, keys[i])
				if i++; i == len(keys) {
					i = 0
				}
			}
			b.ReportMetric(keyval+bookkeeping, "heap-bytes/entry")
			b.ReportMetric(bookkeeping, "bookkeeping-bytes/entry")
			b.ReportMetric(float64(st.Bytes)/float64(st.Entries), "accounted-bytes/entry")
			b.ReportMetric(float64(EntryOverhead()), "overhead-bytes/entry")
			runtime.KeepAlive(keys)
			runtime.KeepAlive(vals)
		})
	}
}

// liveHeap returns the heap in use after a full collection.
func liveHeap() int64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return int64(ms.HeapAlloc)
}
