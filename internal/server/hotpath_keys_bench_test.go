package server

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/braidrpc/braid/internal/access"
	"github.com/braidrpc/braid/internal/config"
	"github.com/braidrpc/braid/internal/gateway"
	"github.com/braidrpc/braid/internal/redistest"
	"github.com/braidrpc/braid/internal/replica"
)

// benchKey is the key of the keyed benchmarks.
var benchKey = access.NewKey()

// benchKeyed is benchGateway with API keys required and the key limited
// (rate and daily quota, high enough never to refuse), so every request
// pays for the key check and the limits: counted in memory, or in Redis
// with redisURL.
func benchKeyed(b *testing.B, upstreamURL, redisURL string) http.Handler {
	cfg := config.Default()
	cfg.Networks = []config.Network{{Name: "mainnet", ChainID: 1, Upstreams: []config.Upstream{
		{Name: "u1", Operator: "op1", URL: upstreamURL},
	}}}
	cfg.Cache.Backend = config.CacheOff
	cfg.Auth = config.Auth{Required: true}
	cfg.Keys = []config.APIKey{{Name: "bench", Key: benchKey,
		KeyLimits: config.KeyLimits{RPS: 1e9, Burst: 1e9, DailyQuota: 1 << 60}}}
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
	var link *replica.Link
	if redisURL != "" {
		link, err = replica.NewLink(replica.LinkOptions{URL: redisURL, Prefix: "bench", Timeout: time.Second})
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { link.Close() })
	}
	ctl, err := access.New(cfg, access.Options{Link: link})
	if err != nil {
		b.Fatal(err)
	}
	ctl.Start(context.Background())
	b.Cleanup(ctl.Close)
	return New(gw, Options{Limits: cfg.Limits, Access: ctl})
}

// keyedRequest is a POST of body carrying the bench key in X-Api-Key.
func keyedRequest(body []byte) *http.Request {
	r := httptest.NewRequest(http.MethodPost, "/", bytes.NewReader(body))
	r.Header.Set("X-Api-Key", benchKey)
	return r
}

// BenchmarkHotPathKeyed is BenchmarkHotPath with the key checked and the
// call counted against its rate and quota in memory.
func BenchmarkHotPathKeyed(b *testing.B) {
	benchHotKeyed(b, benchKeyed(b, benchUpstream(b).URL, ""))
}

// BenchmarkHotPathKeyedRedis counts the limits in a local redis-server.
func BenchmarkHotPathKeyedRedis(b *testing.B) {
	benchHotKeyed(b, benchKeyed(b, benchUpstream(b).URL, redistest.Start(b).URL()))
}

func benchHotKeyed(b *testing.B, h http.Handler) {
	body := []byte(benchRequest)
	var lat latencies
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		rec := httptest.NewRecorder()
		req := keyedRequest(body)
		start := time.Now()
		h.ServeHTTP(rec, req)
		lat = append(lat, time.Since(start))
		if rec.Code != http.StatusOK {
			b.Fatalf("status %d: %s", rec.Code, rec.Body)
		}
	}
	lat.report(b)
}

// BenchmarkLocalAnswerKeyed is BenchmarkLocalAnswer with the key checked
// and counted: the whole cost of keys and limits over a call braid
// answers itself.
func BenchmarkLocalAnswerKeyed(b *testing.B) {
	h := benchKeyed(b, benchUpstream(b).URL, "")
	body := []byte(`{"jsonrpc":"2.0","id":1,"method":"eth_chainId","params":[]}`)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, keyedRequest(body))
	}
}

// BenchmarkBatch100Keyed is BenchmarkBatch100 with the key checked and the
// batch counted (100 calls, their weights) once.
func BenchmarkBatch100Keyed(b *testing.B) {
	h := benchKeyed(b, benchUpstream(b).URL, "")
	parts := make([]string, 100)
	for i := range parts {
		parts[i] = strings.Replace(benchRequest, `"id":42`, `"id":`+string(rune('0'+i%10)), 1)
	}
	body := []byte("[" + strings.Join(parts, ",") + "]")
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, keyedRequest(body))
	}
}
