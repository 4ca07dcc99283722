package server

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/braidrpc/braid/internal/config"
	"github.com/braidrpc/braid/internal/gateway"
)

// benchBlock is a realistic eth_getBlockByNumber answer (hashes only),
// about 1.3 KB, so pass-through copies a real amount of bytes.
var benchBlock = `{"baseFeePerGas":"0x7","difficulty":"0x0","extraData":"0x","gasLimit":"0x1c9c380","gasUsed":"0x5208","hash":"0x` + strings.Repeat("ab", 32) +
	`","logsBloom":"0x` + strings.Repeat("00", 256) + `","miner":"0x` + strings.Repeat("00", 20) + `","mixHash":"0x` + strings.Repeat("cd", 32) +
	`","nonce":"0x0000000000000000","number":"0x10","parentHash":"0x` + strings.Repeat("ef", 32) + `","receiptsRoot":"0x` + strings.Repeat("12", 32) +
	`","sha3Uncles":"0x` + strings.Repeat("34", 32) + `","size":"0x2a1","stateRoot":"0x` + strings.Repeat("56", 32) + `","timestamp":"0x6553f100","transactions":["0x` +
	strings.Repeat("78", 32) + `"],"transactionsRoot":"0x` + strings.Repeat("9a", 32) + `","uncles":[],"withdrawals":[],"withdrawalsRoot":"0x` + strings.Repeat("bc", 32) + `"}`

// benchUpstream answers every call with benchBlock (and eth_chainId 0x1).
func benchUpstream(b *testing.B) *httptest.Server {
	answer := []byte(`{"jsonrpc":"2.0","id":1,"result":` + benchBlock + `}`)
	chain := []byte(`{"jsonrpc":"2.0","id":1,"result":"0x1"}`)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		w.Header().Set("Content-Type", "application/json")
		if bytes.Contains(body, []byte(`"eth_chainId"`)) {
			w.Write(chain)
			return
		}
		w.Write(answer)
	}))
	b.Cleanup(srv.Close)
	return srv
}

func benchGateway(b *testing.B, upstreamURL string) http.Handler {
	cfg := config.Default()
	cfg.Networks = []config.Network{{Name: "mainnet", ChainID: 1, Upstreams: []config.Upstream{
		{Name: "u1", Operator: "op1", URL: upstreamURL},
	}}}
	// These benchmarks measure the forwarding path; cache hits are
	// measured in internal/integration (BenchmarkCacheHitHTTP).
	cfg.Cache.Backend = config.CacheOff
	cfg.ApplyDefaults()
	if err := cfg.Validate(); err != nil {
		b.Fatal(err)
	}
	gw, err := gateway.New(cfg, gateway.Options{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(gw.Close)
	gw.Start(context.Background(), 5*time.Second)
	return New(gw, Options{Limits: cfg.Limits})
}

const benchRequest = `{"jsonrpc":"2.0","id":42,"method":"eth_getBlockByNumber","params":["0x10",false]}`

// BenchmarkHotPath is one call through braid's whole path — decode, plan,
// route, upstream round trip on loopback, pass-through, encode — driven
// in-process (no client socket).
func BenchmarkHotPath(b *testing.B) {
	h := benchGateway(b, benchUpstream(b).URL)
	body := []byte(benchRequest)
	var lat latencies
	b.ReportAllocs()
	b.ResetTimer()
	defer cpuSince(b, processCPU())
	for b.Loop() {
		rec := httptest.NewRecorder()
		req := httptest.NewRequest(http.MethodPost, "/", bytes.NewReader(body))
		start := time.Now()
		h.ServeHTTP(rec, req)
		lat = append(lat, time.Since(start))
		if rec.Code != http.StatusOK {
			b.Fatalf("status %d: %s", rec.Code, rec.Body)
		}
	}
	lat.report(b)
}

// latencies reports per-call percentiles next to ns/op, since "added
// latency" is a distribution, not a mean.
type latencies []time.Duration

func (l latencies) report(b *testing.B) {
	if len(l) == 0 {
		return
	}
	slices.Sort(l)
	at := func(q float64) float64 { return float64(l[int(q*float64(len(l)-1))].Microseconds()) }
	b.ReportMetric(at(0.50), "p50-µs")
	b.ReportMetric(at(0.99), "p99-µs")
}

// BenchmarkDirectUpstream is the baseline for BenchmarkHotPath: the same
// request posted straight to the same upstream. The difference between the
// two is what braid adds.
func BenchmarkDirectUpstream(b *testing.B) {
	srv := benchUpstream(b)
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	body := []byte(benchRequest)
	var lat latencies
	b.ReportAllocs()
	b.ResetTimer()
	defer cpuSince(b, processCPU())
	for b.Loop() {
		start := time.Now()
		resp, err := client.Post(srv.URL, "application/json", bytes.NewReader(body))
		if err != nil {
			b.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		lat = append(lat, time.Since(start))
	}
	lat.report(b)
}

// BenchmarkLocalAnswer is braid's overhead alone: eth_chainId is answered
// without an upstream, so this is decode → plan → encode.
func BenchmarkLocalAnswer(b *testing.B) {
	h := benchGateway(b, benchUpstream(b).URL)
	body := []byte(`{"jsonrpc":"2.0","id":1,"method":"eth_chainId","params":[]}`)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/", bytes.NewReader(body)))
	}
}

// BenchmarkBatch100 is a batch of 100 pass-through calls.
func BenchmarkBatch100(b *testing.B) {
	h := benchGateway(b, benchUpstream(b).URL)
	parts := make([]string, 100)
	for i := range parts {
		parts[i] = strings.Replace(benchRequest, `"id":42`, `"id":`+string(rune('0'+i%10)), 1)
	}
	body := []byte("[" + strings.Join(parts, ",") + "]")
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/", bytes.NewReader(body)))
	}
}
