package integration

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/ethclient"
	"github.com/ethereum/go-ethereum/rpc"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/braidrpc/braid/internal/await"
	"github.com/braidrpc/braid/internal/cache"
	"github.com/braidrpc/braid/internal/config"
	"github.com/braidrpc/braid/internal/devnet"
	"github.com/braidrpc/braid/internal/gateway"
	"github.com/braidrpc/braid/internal/redistest"
	"github.com/braidrpc/braid/internal/server"
)

// Answer-cache benchmarks. They only run with -bench; no timing is
// asserted. Every stack is a devnet with manual blocks, mined with Step (one
// round of demo transactions per block) until the simulated beacon has
// finalized a block past genesis (it finalizes every 32nd), and braid in
// front of it with head polls every 50 ms. Requests are HTTP POSTs over
// loopback with keep-alive.
//
// Run:
//
//	go test -run '^$' -bench 'Cache' -benchtime 3s ./internal/integration
//	go test -run '^$' -bench 'CacheMiss|CacheRemoteHit' -benchtime 2000x ./internal/integration
//	go test -run '^$' -bench 'CacheMemoryPerEntry' -benchtime 1x -count 2 ./internal/integration
const (
	cacheBenchProviders = 3
	cacheBenchFinal     = 32               // mine at least this many blocks: block 32 is finalized
	cacheBenchWait      = 15 * time.Second // bound on every wait for the tip
	cacheBenchConns     = 64               // keep-alive connections per client
	cacheBenchReqWait   = 10 * time.Second // per-request client timeout
	cacheEntriesBalance = 20_000           // BenchmarkCacheMemoryPerEntry/balance
	cacheEntriesBlocks  = 480              // blocks mined for BenchmarkCacheMemoryPerEntry/blocks
)

// cacheStack is a devnet with one or more braid gateways in front of it.
type cacheStack struct {
	dn     *devnet.Devnet
	client *http.Client
	final  uint64   // a block braid serves as finalized
	hashes []string // hashes of blocks 1..head, by number-1
}

// cacheGW is one gateway of a cacheStack.
type cacheGW struct {
	gw  *gateway.Gateway
	reg *prometheus.Registry
	url string
}

// newCacheStack starts a devnet of cacheBenchProviders providers and mines
// until block minBlocks (at least cacheBenchFinal) is the head.
func newCacheStack(b *testing.B, minBlocks int) *cacheStack {
	b.Helper()
	ctx := context.Background()
	dn, err := devnet.New(ctx, devnet.Options{Providers: cacheBenchProviders})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { dn.Close() })
	eth := ethclient.NewClient(dn.RPC())
	for {
		head, err := eth.BlockNumber(ctx)
		if err != nil {
			b.Fatal(err)
		}
		if head >= uint64(max(minBlocks, cacheBenchFinal)) {
			break
		}
		if _, err := dn.Step(ctx); err != nil {
			b.Fatal(err)
		}
	}
	fin, err := eth.HeaderByNumber(ctx, big.NewInt(rpc.FinalizedBlockNumber.Int64()))
	if err != nil {
		b.Fatal(err)
	}
	if fin.Number.Uint64() == 0 {
		b.Fatal("devnet finalized nothing past genesis")
	}
	head, _ := eth.BlockNumber(ctx)
	s := &cacheStack{dn: dn, final: fin.Number.Uint64()}
	for n := uint64(1); n <= head; n++ {
		h, err := eth.HeaderByNumber(ctx, new(big.Int).SetUint64(n))
		if err != nil {
			b.Fatal(err)
		}
		s.hashes = append(s.hashes, h.Hash().Hex())
	}
	transport := &http.Transport{MaxIdleConns: cacheBenchConns, MaxIdleConnsPerHost: cacheBenchConns, DisableCompression: true}
	b.Cleanup(transport.CloseIdleConnections)
	s.client = &http.Client{Transport: transport, Timeout: cacheBenchReqWait}
	return s
}

// gateway starts braid for the stack with the cache backend given (and
// redisURL for "redis") and waits until it serves s.final as finalized.
func (s *cacheStack) gateway(b *testing.B, backend, redisURL string) *cacheGW {
	b.Helper()
	cfg := config.Default()
	cfg.Networks = []config.Network{{Name: "devnet", ChainID: s.dn.ChainID(), Upstreams: s.dn.Upstreams(),
		Head: config.Head{PollInterval: 50 * time.Millisecond}}}
	cfg.Cache.Backend = backend
	cfg.Redis.URL = redisURL
	cfg.ApplyDefaults()
	if err := cfg.Validate(); err != nil {
		b.Fatal(err)
	}
	gw, reg, url := serveGatewayWith(b, cfg, cacheBenchProviders, 0)
	if !await.Poll(cacheBenchWait, func() bool {
		t := gw.Networks()[0].Tip()
		return t.Known && t.Finalized.Number >= s.final
	}) {
		b.Fatalf("braid did not serve block %d as finalized within %s", s.final, cacheBenchWait)
	}
	return &cacheGW{gw: gw, reg: reg, url: url}
}

// cacheCall is one JSON-RPC call's body.
func cacheCall(method string, params ...any) []byte {
	body, err := json.Marshal(map[string]any{"jsonrpc": "2.0", "id": 1, "method": method, "params": params})
	if err != nil {
		panic(err)
	}
	return body
}

// post sends body to url and returns the Braid-Cache header and the
// answer's result. An HTTP or JSON-RPC error is an error.
func (s *cacheStack) post(url string, body []byte) (string, json.RawMessage, error) {
	resp, err := s.client.Post(url, "application/json", bytes.NewReader(body))
	if err != nil {
		return "", nil, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return "", nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return "", nil, fmt.Errorf("HTTP %d: %s", resp.StatusCode, raw)
	}
	var out struct {
		Result json.RawMessage `json:"result"`
		Error  json.RawMessage `json:"error"`
	}
	if err := json.Unmarshal(raw, &out); err != nil {
		return "", nil, fmt.Errorf("answer %q: %v", raw, err)
	}
	if out.Error != nil || out.Result == nil {
		return "", nil, fmt.Errorf("answer %s", raw)
	}
	return resp.Header.Get("Braid-Cache"), out.Result, nil
}

// expect posts body and fails unless the Braid-Cache header is want.
func (s *cacheStack) expect(b *testing.B, url string, body []byte, want string) json.RawMessage {
	b.Helper()
	got, res, err := s.post(url, body)
	if err != nil {
		b.Fatalf("%s: %v", body, err)
	}
	if got != want {
		b.Fatalf("%s: Braid-Cache %q, want %q", body, got, want)
	}
	return res
}

// timed is expect, timed.
func (s *cacheStack) timed(b *testing.B, url string, body []byte, want string) time.Duration {
	b.Helper()
	start := time.Now()
	got, _, err := s.post(url, body)
	d := time.Since(start)
	if err != nil {
		b.Fatalf("%s: %v", body, err)
	}
	if got != want {
		b.Fatalf("%s: Braid-Cache %q, want %q", body, got, want)
	}
	return d
}

// cacheAddrs hands out addresses no earlier call in the process used, so
// that every balance call is a new cache key.
var cacheAddrs struct {
	once sync.Once
	base uint64
	n    atomic.Uint64
}

func freshAddress() string {
	cacheAddrs.once.Do(func() { cacheAddrs.base = rand.Uint64() })
	return fmt.Sprintf("0x%016x%024x", cacheAddrs.base, cacheAddrs.n.Add(1))
}

// latencyStats is a sorted set of durations.
type latencyStats []time.Duration

func (l latencyStats) sorted() latencyStats { slices.Sort(l); return l }

func (l latencyStats) pct(q float64) float64 {
	if len(l) == 0 {
		return 0
	}
	return us(l[int(q*float64(len(l)-1))])
}

func (l latencyStats) mean() float64 {
	if len(l) == 0 {
		return 0
	}
	var sum time.Duration
	for _, d := range l {
		sum += d
	}
	return us(sum / time.Duration(len(l)))
}

func us(d time.Duration) float64 { return float64(d) / float64(time.Microsecond) }

// report puts mean, p50 and p99 of l under prefix.
func (l latencyStats) report(b *testing.B, prefix string) {
	l.sorted()
	b.ReportMetric(l.mean(), prefix+"mean_us")
	b.ReportMetric(l.pct(.5), prefix+"p50_us")
	b.ReportMetric(l.pct(.99), prefix+"p99_us")
}

// BenchmarkCacheHitHTTP measures cache hits end to end over loopback HTTP:
// eth_getBlockByNumber(finalized block, false), warmed once, then posted by
// parallel keep-alive clients in the same process (so client and braid
// share the CPU). Every answer must carry Braid-Cache: hit.
func BenchmarkCacheHitHTTP(b *testing.B) {
	s := newCacheStack(b, 0)
	g := s.gateway(b, config.CacheMemory, "")
	body := cacheCall("eth_getBlockByNumber", hexutil.EncodeUint64(s.final), false)
	s.expect(b, g.url, body, "miss")
	res := s.expect(b, g.url, body, "hit")

	var (
		mu      sync.Mutex
		all     latencyStats
		notHit  atomic.Int64
		errs    atomic.Int64
		firstEr atomic.Value
	)
	b.SetParallelism(8) // 8×GOMAXPROCS client goroutines
	b.SetBytes(int64(len(res)))
	b.ResetTimer()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		lat := make([]time.Duration, 0, 1024)
		for pb.Next() {
			t0 := time.Now()
			resp, err := s.client.Post(g.url, "application/json", bytes.NewReader(body))
			if err != nil {
				errs.Add(1)
				firstEr.CompareAndSwap(nil, err.Error())
				continue
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			lat = append(lat, time.Since(t0))
			if resp.StatusCode != http.StatusOK || resp.Header.Get("Braid-Cache") != "hit" {
				notHit.Add(1)
			}
		}
		mu.Lock()
		all = append(all, lat...)
		mu.Unlock()
	})
	elapsed := time.Since(start)
	b.StopTimer()
	if n := errs.Load(); n > 0 {
		b.Fatalf("%d requests failed, first: %v", n, firstEr.Load())
	}
	if n := notHit.Load(); n > 0 {
		b.Fatalf("%d of %d answers were not cache hits", n, b.N)
	}
	all.sorted()
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "req/s")
	b.ReportMetric(all.pct(.5), "p50_us")
	b.ReportMetric(all.pct(.99), "p99_us")
}

// BenchmarkCacheHitHandler is braid's own cost of a cache hit, without
// sockets: the same request as BenchmarkCacheHitHTTP handed to braid's HTTP
// handler with an httptest recorder, sequentially. Profile the hit path
// with -cpuprofile on this one.
func BenchmarkCacheHitHandler(b *testing.B) {
	s := newCacheStack(b, 0)
	g := s.gateway(b, config.CacheMemory, "")
	h := server.New(g.gw, server.Options{Limits: config.Default().Limits, Logger: slog.New(slog.DiscardHandler)})
	body := cacheCall("eth_getBlockByNumber", hexutil.EncodeUint64(s.final), false)
	s.expect(b, g.url, body, "miss")
	s.expect(b, g.url, body, "hit")
	serve := func() *httptest.ResponseRecorder {
		req := httptest.NewRequest(http.MethodPost, "/", bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		return w
	}
	if w := serve(); w.Code != http.StatusOK || w.Header().Get("Braid-Cache") != "hit" {
		b.Fatalf("HTTP %d, Braid-Cache %q: %s", w.Code, w.Header().Get("Braid-Cache"), w.Body)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		if w := serve(); w.Header().Get("Braid-Cache") != "hit" {
			b.Fatalf("Braid-Cache %q", w.Header().Get("Braid-Cache"))
		}
	}
}

// BenchmarkCacheMiss measures a miss that is then stored: each iteration
// asks eth_getBalance of an address never asked before at the finalized
// block (by number: a final key), so braid looks it up, fetches it from a
// provider and keeps it. With redis the lookup also asks Redis and the
// store also writes it there. Every answer must carry Braid-Cache: miss.
// memory_redis_link is the memory cache on a gateway that does have a
// Redis link (replica membership, shared tips and throttles on; answers
// not shared): its difference to redis is what the shared cache's lookup
// and write cost.
func BenchmarkCacheMiss(b *testing.B) {
	for _, tc := range []struct {
		name, backend string
		redis         bool
	}{
		{config.CacheMemory, config.CacheMemory, false},
		{config.CacheRedis, config.CacheRedis, true},
		{"memory_redis_link", config.CacheMemory, true},
	} {
		b.Run(tc.name, func(b *testing.B) {
			s := newCacheStack(b, 0)
			redisURL := ""
			if tc.redis {
				redisURL = redistest.Start(b).URL()
			}
			g := s.gateway(b, tc.backend, redisURL)
			block := hexutil.EncodeUint64(s.final)
			// Warm connections; check the answer is kept.
			for range 50 {
				body := cacheCall("eth_getBalance", freshAddress(), block)
				s.expect(b, g.url, body, "miss")
				s.expect(b, g.url, body, "hit")
			}
			bodies := make([][]byte, b.N)
			for i := range bodies {
				bodies[i] = cacheCall("eth_getBalance", freshAddress(), block)
			}
			lat := make(latencyStats, 0, b.N)
			ops0, sec0 := cacheHistogram(b, g.reg, "braid_redis_operation_seconds")
			up0 := cacheCounter(b, g.reg, "braid_upstream_requests_total")
			b.ResetTimer()
			for i := range b.N {
				lat = append(lat, s.timed(b, g.url, bodies[i], "miss"))
			}
			b.StopTimer()
			lat.report(b, "miss_")
			b.ReportMetric((cacheCounter(b, g.reg, "braid_upstream_requests_total")-up0)/float64(b.N), "upstream_calls/miss")
			if tc.redis {
				// Every Redis operation of the gateway, the cache's and the
				// replica machinery's, as the link timed them.
				ops1, sec1 := cacheHistogram(b, g.reg, "braid_redis_operation_seconds")
				b.ReportMetric((ops1-ops0)/float64(b.N), "redis_ops/miss")
				if ops1 > ops0 {
					b.ReportMetric((sec1-sec0)/(ops1-ops0)*1e6, "redis_op_mean_us")
				}
			}
		})
	}
}

// BenchmarkCacheRemoteHit measures a hit served from the shared Redis: two
// gateways (replicas A and B) share one Redis; each iteration asks A for a
// new answer (a miss: fetched, stored in A's memory and in Redis), then
// asks B for it for the first time (B's memory misses, Redis hits: remote),
// then asks B again (B's memory hits: local).
func BenchmarkCacheRemoteHit(b *testing.B) {
	b.Run("redis", func(b *testing.B) {
		s := newCacheStack(b, 0)
		url := redistest.Start(b).URL()
		ga := s.gateway(b, config.CacheRedis, url)
		gb := s.gateway(b, config.CacheRedis, url)
		block := hexutil.EncodeUint64(s.final)
		for range 50 { // warm connections
			body := cacheCall("eth_getBalance", freshAddress(), block)
			s.expect(b, ga.url, body, "miss")
			s.expect(b, gb.url, body, "hit")
			s.expect(b, gb.url, body, "hit")
		}
		remote := make(latencyStats, 0, b.N)
		local := make(latencyStats, 0, b.N)
		b.ResetTimer()
		for range b.N {
			body := cacheCall("eth_getBalance", freshAddress(), block)
			s.expect(b, ga.url, body, "miss")
			remote = append(remote, s.timed(b, gb.url, body, "hit"))
			local = append(local, s.timed(b, gb.url, body, "hit"))
		}
		b.StopTimer()
		remote.report(b, "remote_")
		local.report(b, "local_")
		b.ReportMetric(0, "ns/op") // an iteration is three requests; the figures above are per request
	})
}

// BenchmarkCacheMemoryPerEntry fills a fresh gateway's memory cache through
// real requests and reports what one cached answer costs: the live heap
// (HeapAlloc after GC) it adds, and what braid_cache_bytes accounts for it,
// with the average answer size. balance: eth_getBalance of distinct
// addresses at the finalized block (tiny answers); blocks: for every block,
// eth_getBlockByHash with and without transactions, and for every
// finalized block eth_getBlockByNumber with and without.
func BenchmarkCacheMemoryPerEntry(b *testing.B) {
	b.Run("balance", func(b *testing.B) {
		s := newCacheStack(b, 0)
		block := hexutil.EncodeUint64(s.final)
		benchPerEntry(b, s, func(yield func([]byte)) {
			for range cacheEntriesBalance {
				yield(cacheCall("eth_getBalance", freshAddress(), block))
			}
		})
	})
	b.Run("blocks", func(b *testing.B) {
		s := newCacheStack(b, cacheEntriesBlocks)
		benchPerEntry(b, s, func(yield func([]byte)) {
			for i, h := range s.hashes {
				yield(cacheCall("eth_getBlockByHash", h, false))
				yield(cacheCall("eth_getBlockByHash", h, true))
				if n := uint64(i + 1); n <= s.final {
					yield(cacheCall("eth_getBlockByNumber", hexutil.EncodeUint64(n), false))
					yield(cacheCall("eth_getBlockByNumber", hexutil.EncodeUint64(n), true))
				}
			}
		})
	})
}

// benchPerEntry measures, once per iteration on a fresh gateway, the
// entries calls adds to its cache.
func benchPerEntry(b *testing.B, s *cacheStack, calls func(yield func([]byte))) {
	b.Helper()
	var sum map[string]float64
	for range b.N {
		g := s.gateway(b, config.CacheMemory, "")
		// Warm: connections, pools and metric labels exist before the
		// baseline, with a few entries of their own.
		block := hexutil.EncodeUint64(s.final)
		for range 200 {
			s.expect(b, g.url, cacheCall("eth_getBalance", freshAddress(), block), "miss")
		}
		heap0 := cacheLiveHeap()
		bytes0, entries0 := cacheGauges(b, g.reg)
		var k, answer int
		calls(func(body []byte) {
			res := s.expect(b, g.url, body, "miss")
			k++
			answer += len(res)
		})
		s.client.CloseIdleConnections()
		heap1 := cacheLiveHeap()
		bytes1, entries1 := cacheGauges(b, g.reg)
		if got := int(entries1 - entries0); got != k {
			b.Fatalf("%d answers fetched, the cache holds %d more entries", k, got)
		}
		m := map[string]float64{
			"entries":              float64(k),
			"heap_B/entry":         float64(int64(heap1)-int64(heap0)) / float64(k),
			"accounted_B/entry":    (bytes1 - bytes0) / float64(k),
			"answer_B/entry":       float64(answer) / float64(k),
			"heap_MiB_for_answers": float64(int64(heap1)-int64(heap0)) / (1 << 20),
		}
		b.Logf("%d entries: heap %+.0f B/entry, accounted %.0f B/entry (%.0f overhead + key + answer), answer %.0f B/entry",
			k, m["heap_B/entry"], m["accounted_B/entry"], float64(cache.EntryOverhead()), m["answer_B/entry"])
		if sum == nil {
			sum = map[string]float64{}
		}
		for unit, v := range m {
			sum[unit] += v
		}
	}
	for unit, v := range sum {
		b.ReportMetric(v/float64(b.N), unit)
	}
	b.ReportMetric(0, "ns/op") // an iteration is a gateway's fill; the figures above are per entry
}

// cacheLiveHeap is the heap in use after two collections.
func cacheLiveHeap() uint64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// cacheGauges reads braid_cache_bytes and braid_cache_entries.
func cacheGauges(b *testing.B, reg *prometheus.Registry) (accounted, entries float64) {
	b.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		b.Fatal(err)
	}
	found := 0
	for _, mf := range mfs {
		var dst *float64
		switch mf.GetName() {
		case "braid_cache_bytes":
			dst = &accounted
		case "braid_cache_entries":
			dst = &entries
		default:
			continue
		}
		for _, m := range mf.GetMetric() {
			found++
			*dst += m.GetGauge().GetValue()
		}
	}
	if found < 2 {
		b.Fatal("braid_cache_bytes or braid_cache_entries not in the registry")
	}
	return accounted, entries
}

// cacheHistogram reads the sample count and sum of a histogram (0, 0 when
// the registry has none by that name).
func cacheHistogram(b *testing.B, reg *prometheus.Registry, name string) (count, sum float64) {
	b.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		b.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			count += float64(m.GetHistogram().GetSampleCount())
			sum += m.GetHistogram().GetSampleSum()
		}
	}
	return count, sum
}

// cacheCounter sums a counter's series, or only those carrying every
// label name/value pair given.
func cacheCounter(tb testing.TB, reg *prometheus.Registry, name string, labels ...string) float64 {
	tb.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		tb.Fatal(err)
	}
	var sum float64
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	series:
		for _, m := range mf.GetMetric() {
			for i := 0; i+1 < len(labels); i += 2 {
				found := false
				for _, l := range m.GetLabel() {
					found = found || l.GetName() == labels[i] && l.GetValue() == labels[i+1]
				}
				if !found {
					continue series
				}
			}
			sum += m.GetCounter().GetValue()
		}
	}
	return sum
}
