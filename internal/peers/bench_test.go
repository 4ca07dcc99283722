package peers

import (
	"context"
	"fmt"
	"math/big"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/params"
	"github.com/ethereum/go-ethereum/trie"

	"github.com/braidrpc/braid/internal/await"
	"github.com/braidrpc/braid/internal/history"
)

// benchBlock is a made-up, self-consistent old block: its header commits
// to its transactions and receipts.
type benchBlock struct {
	header   *types.Header
	body     *types.Body
	receipts types.Receipts
}

// Shape of the benchmark blocks: about what a busy pre-merge mainnet block
// held (150 transactions, two logs each with three topics and 64 bytes of
// data: about 55 KB of receipts in the storage encoding).
const (
	benchTxs  = 150
	benchLogs = 2
)

var (
	benchOnce   sync.Once
	benchBlocks []*benchBlock
)

// blocksForBench returns 1,000 consecutive made-up blocks, built once.
func blocksForBench() []*benchBlock {
	benchOnce.Do(func() {
		parent := common.Hash{}
		for n := range uint64(1000) {
			b := makeBenchBlock(1_000_000+n, parent)
			benchBlocks = append(benchBlocks, b)
			parent = b.header.Hash()
		}
	})
	return benchBlocks
}

func makeBenchBlock(number uint64, parent common.Hash) *benchBlock {
	body := &types.Body{}
	var receipts types.Receipts
	gas := uint64(0)
	for i := range benchTxs {
		to := common.Address{byte(number), byte(number >> 8), byte(i)}
		tx := types.NewTx(&types.LegacyTx{Nonce: number<<16 | uint64(i), GasPrice: big.NewInt(params.GWei),
			Gas: 90_000, To: &to, Value: big.NewInt(1), Data: make([]byte, 68)})
		body.Transactions = append(body.Transactions, tx)
		gas += 50_000
		r := &types.Receipt{Type: tx.Type(), Status: types.ReceiptStatusSuccessful, CumulativeGasUsed: gas}
		for l := range benchLogs {
			r.Logs = append(r.Logs, &types.Log{Address: to,
				Topics: []common.Hash{{1, byte(l)}, common.BigToHash(big.NewInt(int64(number))), {byte(i)}},
				Data:   make([]byte, 64)})
		}
		r.Bloom = types.CreateBloom(r)
		receipts = append(receipts, r)
	}
	h := &types.Header{ParentHash: parent, UncleHash: types.EmptyUncleHash, Number: new(big.Int).SetUint64(number),
		Difficulty: big.NewInt(1), GasLimit: 15_000_000, GasUsed: gas, Time: 1_500_000_000 + number*13,
		TxHash:      types.DeriveSha(types.Transactions(body.Transactions), trie.NewStackTrie(nil)),
		ReceiptHash: types.DeriveSha(receipts, trie.NewStackTrie(nil)), Bloom: types.MergeBloom(receipts)}
	return &benchBlock{header: h, body: body, receipts: receipts}
}

// benchPair is a holder of the 1,000 blocks (in a history store, their
// receipts announced) and a fetcher, on loopback.
func benchPair(b *testing.B, lim Limits) (fetcher, holder *Node, store *history.Store) {
	b.Helper()
	blocks := blocksForBench()
	store = openStore(b)
	nodes := cluster(b, 2, func(i int, o *Options) {
		o.Limits = lim
		o.Provide.Workers = 16
		if i == 1 {
			o.Holder = store
		}
	})
	for _, bb := range blocks {
		if err := store.PutBlock(bb.header, bb.body, bb.receipts, history.Proven); err != nil {
			b.Fatal(err)
		}
		nodes[1].Provide(Key{Receipts, bb.header.Hash()})
	}
	waitProvided(b, nodes[1], len(blocks))
	return nodes[0], nodes[1], store
}

// percentiles reports the p50 and p99 of ds in microseconds.
func percentiles(b *testing.B, ds []time.Duration) {
	slices.Sort(ds)
	b.ReportMetric(float64(ds[len(ds)/2].Microseconds()), "p50-µs")
	b.ReportMetric(float64(ds[len(ds)*99/100].Microseconds()), "p99-µs")
}

// BenchmarkPeerFetchReceipts1000 fetches (finds in the DHT, transfers and
// verifies against the header) the receipts of 1,000 consecutive old
// blocks from a peer, 16 at a time: one op is the 1,000 blocks.
func BenchmarkPeerFetchReceipts1000(b *testing.B) {
	for _, tc := range []struct {
		name string
		lim  Limits
	}{
		{"default-limits", Limits{}},
		{"unthrottled", Limits{Rate: 1e6, Burst: 1e6, StreamsPerPeer: 64}},
	} {
		b.Run(tc.name, func(b *testing.B) {
			blocks := blocksForBench()
			fetcher, _, store := benchPair(b, tc.lim)
			var total atomic.Int64
			lat := make([]time.Duration, 0, b.N*len(blocks))
			var mu sync.Mutex
			b.ResetTimer()
			start := time.Now()
			for range b.N {
				work := make(chan *benchBlock)
				var wg sync.WaitGroup
				for range 16 {
					wg.Go(func() {
						for bb := range work {
							t0 := time.Now()
							data, _, err := fetcher.Fetch(context.Background(), Key{Receipts, bb.header.Hash()}, Age{},
								CheckReceipts(bb.header, bb.body.Transactions))
							if err != nil {
								b.Error(err)
								return
							}
							total.Add(int64(len(data)))
							mu.Lock()
							lat = append(lat, time.Since(t0))
							mu.Unlock()
						}
					})
				}
				for _, bb := range blocks {
					work <- bb
				}
				close(work)
				wg.Wait()
			}
			elapsed := time.Since(start)
			b.StopTimer()
			b.ReportMetric(float64(b.N*len(blocks))/elapsed.Seconds(), "blocks/s")
			b.ReportMetric(float64(total.Load())/elapsed.Seconds()/1e6, "MB/s")
			b.ReportMetric(float64(total.Load())/float64(b.N*len(blocks)), "bytes/block")
			percentiles(b, lat)
			_ = store
		})
	}
}

// BenchmarkHistoryRead reads one old block's receipts: from the local
// history store (as served: the store verified them when they were
// stored), from a peer (DHT lookup, transfer and verification against the
// header), and, for scale, the verification alone.
func BenchmarkHistoryRead(b *testing.B) {
	blocks := blocksForBench()
	fetcher, _, store := benchPair(b, Limits{Rate: 1e6, Burst: 1e6})
	timed := func(b *testing.B, read func(bb *benchBlock) error) {
		lat := make([]time.Duration, 0, b.N)
		for i := range b.N {
			bb := blocks[i%len(blocks)]
			t0 := time.Now()
			if err := read(bb); err != nil {
				b.Fatal(err)
			}
			lat = append(lat, time.Since(t0))
		}
		percentiles(b, lat)
	}
	b.Run("store", func(b *testing.B) {
		timed(b, func(bb *benchBlock) error {
			if _, ok := store.ReceiptsRLP(bb.header.Hash()); !ok {
				return fmt.Errorf("block %d not stored", bb.header.Number)
			}
			return nil
		})
	})
	b.Run("peer", func(b *testing.B) {
		timed(b, func(bb *benchBlock) error {
			_, _, err := fetcher.Fetch(context.Background(), Key{Receipts, bb.header.Hash()}, Age{},
				CheckReceipts(bb.header, bb.body.Transactions))
			return err
		})
	})
	b.Run("verify-only", func(b *testing.B) {
		raws := map[common.Hash][]byte{}
		for _, bb := range blocks {
			raws[bb.header.Hash()], _ = store.ReceiptsRLP(bb.header.Hash())
		}
		timed(b, func(bb *benchBlock) error {
			return CheckReceipts(bb.header, bb.body.Transactions)(raws[bb.header.Hash()])
		})
	})
}

// BenchmarkPeers50 runs 50 nodes in one process on loopback and reports
// what they cost (goroutines and heap per node, once their DHT settled)
// and a fetch's latency between them: one op is a header fetched by a
// random node from the one node holding it.
func BenchmarkPeers50(b *testing.B) {
	const count = 50
	blocks := blocksForBench()
	goroutines, heap := runtime.NumGoroutine(), heapInUse()
	stores := make([]*history.Store, count)
	nodes := cluster(b, count, func(i int, o *Options) {
		stores[i] = openStore(b)
		o.Holder = stores[i]
	})
	for _, n := range nodes {
		await.Within(b, peerWait, "routing tables to fill", func() bool { return n.dht.RoutingTable().Size() >= 8 })
	}
	for i, bb := range blocks[:count] {
		if err := stores[i].PutHeader(bb.header); err != nil {
			b.Fatal(err)
		}
		nodes[i].Provide(Key{Header, bb.header.Hash()})
	}
	for _, n := range nodes {
		waitProvided(b, n, 1)
	}
	perNodeGoroutines := float64(runtime.NumGoroutine()-goroutines) / count
	perNodeHeap := float64(heapInUse()-heap) / count / (1 << 20)
	var conns int
	for _, n := range nodes {
		conns += len(n.host.Network().Peers())
	}
	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := range b.N {
		held := i % count
		bb := blocks[held]
		n := nodes[(held+1+i%(count-1))%count]
		t0 := time.Now()
		_, tr, err := n.Fetch(context.Background(), Key{Header, bb.header.Hash()}, Age{}, CheckHeader(bb.header.Hash()))
		if err != nil {
			b.Fatal(err)
		}
		if tr.Peer != nodes[held].ID() {
			b.Fatal(fmt.Sprint("delivered by ", tr.Peer))
		}
		lat = append(lat, time.Since(t0))
	}
	b.StopTimer()
	percentiles(b, lat)
	b.ReportMetric(perNodeGoroutines, "goroutines/node")
	b.ReportMetric(perNodeHeap, "heap-MiB/node")
	b.ReportMetric(float64(conns)/count, "peers/node")
}
