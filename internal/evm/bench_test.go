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
//   - warm: the same call again on the same block (its state at hand);
//   - like: a call never run, like one that ran (balanceOf, or the
//     multicall, of a holder not read before, each iteration another):
//     the hint and, at the same time, one batch with the slots derived
//     from the new arguments.
//
// Reported per call: round trips (Source calls), round trips in time
// (seq-trips: those not overlapped with another), response bytes fetched,
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
			measure(b, func(int) (int, int) {
				fetched += post(b, p.URL, body)
				return 1, 1
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
				measure(b, func(int) (int, int) {
					if _, err := src.AccessList(b.Context(), head, &at.req.Args, nil); err != nil {
						b.Fatal(err)
					}
					return 1, 1
				})
			})
			b.Run("batch", func(b *testing.B) {
				measure(b, func(int) (int, int) {
					if _, err := src.Proofs(b.Context(), head, rec.queries); err != nil {
						b.Fatal(err)
					}
					return 1, 1
				})
			})
		})
		b.Run(name+"/verified-like", func(b *testing.B) {
			likeCall := func(i int) map[string]any {
				if name == "balance" {
					return map[string]any{"to": e.tokens[0], "data": pack(b, e.tokenABI, "balanceOf", holder(i))}
				}
				return map[string]any{"to": e.multicall, "data": e.multicallOf(b, holder(i), e.tokens)}
			}
			src := newDevSource(e.d.Providers()...)
			x, _ := New(Config{Chain: e.d.ChainConfig()})
			if _, err := x.Do(b.Context(), src, head, newRequestAt(b, likeCall(-1), head).req); err != nil {
				b.Fatal(err)
			}
			reqs := make([]*requestAt, b.N)
			for i := range reqs {
				reqs[i] = newRequestAt(b, likeCall(i), head)
			}
			src.bytes.Store(0)
			measure(b, func(i int) (int, int) {
				res, err := x.Do(b.Context(), src, head, reqs[i].req)
				if err != nil {
					b.Fatal(err)
				}
				return res.Stats.RoundTrips(), res.Stats.Sequential()
			})
			b.ReportMetric(float64(src.bytes.Load())/float64(b.N), "fetched-B/op")
		})
		for _, mode := range []string{"cold", "new-block", "warm"} {
			b.Run(name+"/verified-"+mode, func(b *testing.B) {
				src := newDevSource(e.d.Providers()...)
				blocks := []*requestAt{newRequestAt(b, calls[name], head), newRequestAt(b, calls[name], parent)}
				x, _ := New(Config{Chain: e.d.ChainConfig(), CacheBlocks: 1})
				measure(b, func(i int) (int, int) {
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
					return res.Stats.RoundTrips(), res.Stats.Sequential()
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

// measure runs op b.N times and reports round trips per op (all, and
// in time) and the p50 and p99 of its latency.
func measure(b *testing.B, op func(i int) (trips, seq int)) {
	b.Helper()
	lat := make([]time.Duration, 0, b.N)
	trips, seq := 0, 0
	b.ResetTimer()
	for i := range b.N {
		start := time.Now()
		t, s := op(i)
		trips, seq = trips+t, seq+s
		lat = append(lat, time.Since(start))
	}
	b.StopTimer()
	slices.Sort(lat)
	b.ReportMetric(float64(trips)/float64(b.N), "trips/op")
	b.ReportMetric(float64(seq)/float64(b.N), "seq-trips/op")
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
