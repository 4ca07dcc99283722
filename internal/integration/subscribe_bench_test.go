package integration

import (
	"context"
	"encoding/json"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/ethereum/go-ethereum/common"
	"golang.org/x/sync/errgroup"

	"github.com/braidrpc/braid/internal/await"
)

// Settings of BenchmarkNewHeadsFanout.
const (
	fanoutSubscribers = 1000
	fanoutBlocks      = 40
	fanoutDialers     = 50 // connections opened at once
)

// BenchmarkNewHeadsFanout is the issue-6 load run: 1,000 WebSocket
// connections to braid, one newHeads subscription each, on the devnet (4
// providers pushing heads over WebSocket, a block every 250 ms with demo
// transactions). It measures, for every block and subscriber, the delay
// from the moment braid's served tip moved to that block (seen by a
// watcher polling the tip every 100 µs) to the notification arriving at
// the subscriber; and the process's RSS and Go heap before and after the
// subscribers connect. Clients and braid share the process (and its two
// cores), so the memory per subscriber covers both ends of a connection.
// Run it with -benchtime 1x; it takes about 15 s.
func BenchmarkNewHeadsFanout(b *testing.B) {
	for range b.N {
		fanoutRun(b)
	}
}

type fanoutRecv struct {
	hash common.Hash
	at   time.Time
}

func fanoutRun(b *testing.B) {
	s := newLiveStackWith(b, liveOptions{ws: true})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	// When braid learns each block: the served tip moving to it.
	var learnedMu sync.Mutex
	learned := map[common.Hash]time.Time{}
	go func() {
		n := s.gw.Networks()[0]
		var last common.Hash
		for ctx.Err() == nil {
			if h := n.Tip().Latest.Hash; h != last {
				now := time.Now()
				learnedMu.Lock()
				learned[h] = now
				learnedMu.Unlock()
				last = h
			}
			time.Sleep(100 * time.Microsecond)
		}
	}()

	runtime.GC()
	rssBefore, heapBefore := rssBytes(b), heapInuse()
	recv := make([][]fanoutRecv, fanoutSubscribers)
	var g errgroup.Group
	g.SetLimit(fanoutDialers)
	var readers sync.WaitGroup
	start := time.Now()
	for i := range fanoutSubscribers {
		g.Go(func() error {
			conn, _, err := websocket.Dial(ctx, s.wsURL(), nil)
			if err != nil {
				return err
			}
			if err := conn.Write(ctx, websocket.MessageText, []byte(`{"jsonrpc":"2.0","id":1,"method":"eth_subscribe","params":["newHeads"]}`)); err != nil {
				return err
			}
			if _, _, err := conn.Read(ctx); err != nil { // the subscription id
				return err
			}
			readers.Add(1)
			go func() {
				defer readers.Done()
				defer conn.CloseNow()
				for {
					_, data, err := conn.Read(ctx)
					if err != nil {
						return
					}
					at := time.Now()
					var msg struct {
						Params struct {
							Result struct {
								Hash common.Hash `json:"hash"`
							} `json:"result"`
						} `json:"params"`
					}
					if json.Unmarshal(data, &msg) == nil {
						recv[i] = append(recv[i], fanoutRecv{msg.Params.Result.Hash, at})
					}
				}
			}()
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		b.Fatalf("connecting subscribers: %v", err)
	}
	connected := time.Since(start)
	runtime.GC()
	rssAfter, heapAfter := rssBytes(b), heapInuse()

	b.ResetTimer()
	startBlock := s.tip().Latest.Number
	if !await.Poll(time.Duration(fanoutBlocks)*liveBlockTime*4, func() bool {
		return s.tip().Latest.Number >= startBlock+fanoutBlocks
	}) {
		b.Fatalf("the devnet did not advance %d blocks", fanoutBlocks)
	}
	time.Sleep(time.Second) // the last block's notifications
	b.StopTimer()
	cancel()
	readers.Wait()

	learnedMu.Lock()
	defer learnedMu.Unlock()
	var delays []time.Duration
	gaps := 0
	for _, rs := range recv {
		for j, r := range rs {
			if at, ok := learned[r.hash]; ok {
				delays = append(delays, r.at.Sub(at))
			}
			if j > 0 && r.hash == rs[j-1].hash {
				gaps++ // a duplicate
			}
		}
	}
	counts := map[int]int{}
	for _, rs := range recv {
		counts[len(rs)]++
	}
	slices.Sort(delays)
	if len(delays) == 0 {
		b.Fatal("no notification matched a learned block")
	}
	pct := func(q float64) time.Duration { return delays[min(len(delays)-1, int(q*float64(len(delays))))] }
	b.ReportMetric(float64(pct(0.5).Microseconds())/1000, "p50_ms")
	b.ReportMetric(float64(pct(0.99).Microseconds())/1000, "p99_ms")
	b.ReportMetric(float64(delays[len(delays)-1].Microseconds())/1000, "max_ms")
	if mfs, err := s.reg.Gather(); err == nil {
		for _, mf := range mfs {
			if mf.GetName() == "braid_stream_delay_seconds" && len(mf.GetMetric()) > 0 {
				h := mf.GetMetric()[0].GetHistogram()
				if h.GetSampleCount() > 0 {
					b.ReportMetric(h.GetSampleSum()/float64(h.GetSampleCount())*1000, "stream_mean_ms")
				}
			}
		}
	}
	b.ReportMetric(float64(rssAfter)/(1<<20), "rss_MiB")
	b.ReportMetric(float64(int64(rssAfter)-int64(rssBefore))/fanoutSubscribers/1024, "rss_KiB/sub") // meaningful in a fresh process (-count 1)
	b.ReportMetric(float64(heapAfter-heapBefore)/fanoutSubscribers/1024, "heap_KiB/sub")
	b.Logf("%d subscribers connected in %s; %d notifications matched; per-subscriber notification counts %v; duplicates %d; RSS %d→%d MiB, heap %d→%d MiB",
		fanoutSubscribers, connected.Round(time.Millisecond), len(delays), counts, gaps,
		rssBefore>>20, rssAfter>>20, heapBefore>>20, heapAfter>>20)
}

// rssBytes is the process's resident set size (Linux).
func rssBytes(tb testing.TB) uint64 {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		tb.Skipf("no /proc/self/status: %v", err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, err := strconv.ParseUint(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			if err != nil {
				tb.Fatalf("VmRSS %q: %v", rest, err)
			}
			return kb << 10
		}
	}
	tb.Fatal("no VmRSS")
	return 0
}

func heapInuse() uint64 {
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapInuse
}
