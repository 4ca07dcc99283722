package evm

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/core/types"
)

// BenchmarkLocalEVM compares an eth_call answered by a provider
// (unverified: one round trip, the answer taken as is) with the same call
// on the local EVM over proven state, the header given (cached):
//
//   - cold: nothing cached (the access-list hint, then one batch of proofs
//     and code);
//   - new block: code from earlier blocks at hand, state proven again (the
//     steady state of a dApp reading every block; the calls alternate
//     between two blocks, the executor keeping one block's state);
//   - warm: the same call again on the same block (its state at hand).
//
// Reported per call: round trips (Source calls), response bytes fetched,
// p50 and p99 latency.
//
//	go test -run '^$' -bench BenchmarkLocalEVM -benchtime 300x -count 3 ./internal/evm
func BenchmarkLocalEVM(b *testing.B) {
	e := testEnv(b)
	head := e.head(b)
	parent, err := e.eth.HeaderByHash(b.Context(), head.ParentHash)
	if err != nil {
		b.Fatal(err)
	}
	p := e.d.Providers()[0]
	calls := map[string]map[string]any{
		"balance":   {"to": e.tokens[0], "data": pack(b, e.tokenABI, "balanceOf", e.user)},
		"multicall": {"to": e.multicall, "data": e.multicallOf(b, e.user, e.tokens)},
	}
	for _, name := range []string{"balance", "multicall"} {
		b.Run(name+"/unverified", func(b *testing.B) {
			params := []any{calls[name], map[string]any{"blockHash": head.Hash()}}
			body, _ := json.Marshal(map[string]any{"jsonrpc": "2.0", "id": 1, "method": "eth_call", "params": params})
			var fetched int
			measure(b, func(int) int {
				fetched += post(b, p.URL, body)
				return 1
			})
			b.ReportMetric(float64(fetched)/float64(b.N), "fetched-B/op")
		})
		b.Run(name+"/parts", func(b *testing.B) {
			// The cold call's two round trips, each timed alone.
			at := newRequestAt(b, calls[name], head)
			rec := &recordingSource{Source: newDevSource(e.d.Providers()...)}
			x, _ := New(Config{Chain: e.d.ChainConfig()})
			if _, err := x.Do(b.Context(), rec, head, at.req); err != nil {
				b.Fatal(err)
			}
			src := newDevSource(e.d.Providers()...)
			b.Run("hint", func(b *testing.B) {
				measure(b, func(int) int {
					if _, err := src.AccessList(b.Context(), head, &at.req.Args, nil); err != nil {
						b.Fatal(err)
					}
					return 1
				})
			})
			b.Run("batch", func(b *testing.B) {
				measure(b, func(int) int {
					if _, err := src.Proofs(b.Context(), head, rec.queries); err != nil {
						b.Fatal(err)
					}
					return 1
				})
			})
		})
		for _, mode := range []string{"cold", "new-block", "warm"} {
			b.Run(name+"/verified-"+mode, func(b *testing.B) {
				src := newDevSource(e.d.Providers()...)
				blocks := []*requestAt{newRequestAt(b, calls[name], head), newRequestAt(b, calls[name], parent)}
				x, _ := New(Config{Chain: e.d.ChainConfig(), CacheBlocks: 1})
				measure(b, func(i int) int {
					at := blocks[0]
					switch mode {
					case "cold":
						x, _ = New(Config{Chain: e.d.ChainConfig()})
					case "new-block":
						at = blocks[i%2]
					}
					res, err := x.Do(b.Context(), src, at.header, at.req)
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

// recordingSource remembers the queries of its last Proofs call.
type recordingSource struct {
	Source
	queries []Query
}

func (r *recordingSource) Proofs(ctx context.Context, block *types.Header, qs []Query) ([]Proven, error) {
	r.queries = qs
	return r.Source.Proofs(ctx, block, qs)
}

// requestAt is an eth_call request pinned to a block.
type requestAt struct {
	header *types.Header
	req    *Request
}

func newRequestAt(b *testing.B, call map[string]any, h *types.Header) *requestAt {
	raw, _ := json.Marshal([]any{call, map[string]any{"blockHash": h.Hash()}})
	req, err := ParseRequest(MethodCall, raw)
	if err != nil {
		b.Fatal(err)
	}
	return &requestAt{h, req}
}

// measure runs op b.N times and reports round trips per op and the p50
// and p99 of its latency.
func measure(b *testing.B, op func(i int) (trips int)) {
	b.Helper()
	lat := make([]time.Duration, 0, b.N)
	trips := 0
	b.ResetTimer()
	for i := range b.N {
		start := time.Now()
		trips += op(i)
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
