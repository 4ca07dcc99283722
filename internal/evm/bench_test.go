package evm

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/core/types"
)

// BenchmarkLocalEVM compares an eth_call answered by a provider
// (unverified: one round trip, trusted as is) with the same call on the
// local EVM over proven state, cold (nothing cached: the access-list hint
// and one batch of proofs and code) and warm (the same call again on the
// same block: state at hand). The header is given (cached). Reported per
// call: upstream round trips, response bytes fetched, p50 and p99.
//
//	go test -run '^$' -bench BenchmarkLocalEVM -benchtime 300x -count 3 ./internal/evm
func BenchmarkLocalEVM(b *testing.B) {
	e := testEnv(b)
	head := e.head(b)
	p := e.d.Providers()[0]
	calls := map[string]map[string]any{
		"balance":   {"to": e.tokens[0], "data": pack(b, e.tokenABI, "balanceOf", e.user)},
		"multicall": {"to": e.multicall, "data": e.multicallOf(b, e.user, e.tokens)},
	}
	for _, name := range []string{"balance", "multicall"} {
		params := []any{calls[name], map[string]any{"blockHash": head.Hash()}}
		raw, _ := json.Marshal(params)
		b.Run(name+"/unverified", func(b *testing.B) {
			body, _ := json.Marshal(map[string]any{"jsonrpc": "2.0", "id": 1, "method": "eth_call", "params": params})
			var fetched int
			measure(b, func() int {
				n := post(b, p.URL, body)
				fetched += n
				return 1
			})
			b.ReportMetric(float64(fetched)/float64(b.N), "fetched-B/op")
		})
		for _, warm := range []bool{false, true} {
			mode := "verified-cold"
			if warm {
				mode = "verified-warm"
			}
			b.Run(name+"/"+mode, func(b *testing.B) {
				src := newDevSource(e.d.Providers()...)
				req, err := ParseRequest(MethodCall, raw)
				if err != nil {
					b.Fatal(err)
				}
				x := freshExecutor(b, e)
				measure(b, func() int {
					if !warm {
						x = freshExecutorQuiet(e)
					}
					res, err := x.Do(b.Context(), src, head, req)
					if err != nil {
						b.Fatal(err)
					}
					return res.Stats.RoundTrips()
				})
				b.ReportMetric(float64(src.bytes.Load())/float64(b.N), "fetched-B/op")
			})
		}
	}
}

// freshExecutorQuiet is freshExecutor for a timed loop.
func freshExecutorQuiet(e *env) *Executor {
	x, _ := New(Config{Chain: e.d.ChainConfig()})
	return x
}

// measure runs op b.N times and reports round trips per op and the p50
// and p99 of its latency.
func measure(b *testing.B, op func() (trips int)) {
	b.Helper()
	lat := make([]time.Duration, 0, b.N)
	trips := 0
	b.ResetTimer()
	for range b.N {
		start := time.Now()
		trips += op()
		lat = append(lat, time.Since(start))
	}
	b.StopTimer()
	slices.Sort(lat)
	b.ReportMetric(float64(trips)/float64(b.N), "trips/op")
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-µs")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-µs")
}

// post sends one JSON-RPC request and returns the answer's size.
func post(b *testing.B, url string, body []byte) int {
	resp, err := http.Post(url, "application/json", bytes.NewReader(body))
	if err != nil {
		b.Fatal(err)
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	if err != nil || !bytes.Contains(out, []byte(`"result"`)) {
		b.Fatalf("%s %v", out, err)
	}
	return len(out)
}

var _ = types.Header{}
