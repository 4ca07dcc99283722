package route

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"syscall"
	"testing"
	"time"

	"github.com/braidrpc/braid/internal/config"
	"github.com/braidrpc/braid/internal/upstream"
)

// benchRouter is a router over n upstreams of distinct operators, each a
// loopback server answering every call with the same small result.
func benchRouter(b *testing.B, n int, opts Options) *Router {
	b.Helper()
	answer := []byte(`{"jsonrpc":"2.0","id":1,"result":"0x1"}`)
	var ups []*upstream.Upstream
	for i := range n {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			_, _ = io.Copy(io.Discard, r.Body)
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write(answer)
		}))
		b.Cleanup(srv.Close)
		u := upstream.New(config.Upstream{Name: "u" + string(rune('1'+i)), Operator: "op" + string(rune('1'+i)),
			URL: srv.URL + "/KEY", Timeout: 5 * time.Second}, upstream.Options{Network: "bench"})
		if err := u.Verify(context.Background(), 1); err != nil {
			b.Fatal(err)
		}
		b.Cleanup(u.Close)
		ups = append(ups, u)
	}
	opts.Network = "bench"
	return New(ups, opts)
}

var benchCall = Call{Method: "eth_getBalance", Class: "state", Hedge: true,
	Params: json.RawMessage(`["0x0000000000000000000000000000000000000001","0x10"]`)}

// BenchmarkDo is one routed call to a single upstream (nothing to hedge
// to: the attempt runs inline), a loopback round trip included. Run with
// -cpu 1: ns/op is then close to the CPU the call costs on both sides.
func BenchmarkDo(b *testing.B) {
	r := benchRouter(b, 1, Options{MaxAttempts: 3,
		Hedge: HedgeConfig{Enabled: true, Percentile: 0.9, MinDelay: time.Millisecond, MaxDelay: time.Second, MaxExtra: 1}})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	b.ReportAllocs()
	cpuLoop(b, func() {
		if _, err := r.Do(ctx, benchCall); err != nil {
			b.Fatal(err)
		}
	})
}

// BenchmarkDoHedged is the same call with two upstreams, so the attempt
// runs in its own goroutine that a hedge may race.
func BenchmarkDoHedged(b *testing.B) {
	r := benchRouter(b, 2, Options{MaxAttempts: 3, ProbeShare: -1,
		Hedge: HedgeConfig{Enabled: true, Percentile: 0.9, MinDelay: time.Second, MaxDelay: 2 * time.Second, MaxExtra: 1}})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	b.ReportAllocs()
	cpuLoop(b, func() {
		if _, err := r.Do(ctx, benchCall); err != nil {
			b.Fatal(err)
		}
	})
}

// processCPU is the process's CPU time in nanoseconds, every thread's.
func processCPU() int64 {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return ru.Utime.Nano() + ru.Stime.Nano()
}

// cpuLoop runs f b.N times and reports the process's CPU time per call
// (cpu-ns/op: braid's side and the loopback upstream's together) beside
// the wall time, which on a shared, loaded machine measures the
// neighbours as much as the code.
func cpuLoop(b *testing.B, f func()) {
	start, n := processCPU(), 0
	for b.Loop() {
		f()
		n++
	}
	b.ReportMetric(float64(processCPU()-start)/float64(n), "cpu-ns/op")
}
