package upstream

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/braidrpc/braid/internal/config"
)

// BenchmarkCall is one call to a loopback upstream under a request
// deadline, as the router makes it. Run with -cpu 1; cpu-ns/op is the
// process's CPU per call, both sides of the loopback together, which a
// loaded machine does not inflate as it does wall time.
func BenchmarkCall(b *testing.B) {
	answer := []byte(`{"jsonrpc":"2.0","id":1,"result":"0x1"}`)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(answer)
	}))
	defer srv.Close()
	u := New(config.Upstream{Name: "u1", Operator: "op", URL: srv.URL + "/v3/KEY", Timeout: time.Minute}, Options{Network: "bench"})
	defer u.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	params := []byte(`["0x0000000000000000000000000000000000000001","0x10"]`)
	b.ReportAllocs()
	start, n := processCPU(), 0
	for b.Loop() {
		if _, err := u.Call(ctx, "eth_getBalance", params); err != nil {
			b.Fatal(err)
		}
		n++
	}
	b.ReportMetric(float64(processCPU()-start)/float64(n), "cpu-ns/op")
}

func processCPU() int64 {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return ru.Utime.Nano() + ru.Stime.Nano()
}

// BenchmarkPost is one call to an in-process loopback upstream over the
// h1 client and over net/http's, for a small answer (sent with
// Content-Length) and a 14 kB one (sent chunked, as go-ethereum sends any
// answer over 2 kB). Run with -cpu 1; cpu-ns/op counts both sides of the
// loopback.
func BenchmarkPost(b *testing.B) {
	small := []byte(`{"jsonrpc":"2.0","id":1,"result":"0x0000000000000000000000000000000000000000000000000de0b6b3a7640000"}`)
	large := []byte(`{"jsonrpc":"2.0","id":1,"result":"0x` + strings.Repeat("ab", 7000) + `"}`)
	for _, answer := range []struct {
		name string
		body []byte
	}{{"small", small}, {"14kB", large}} {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			_, _ = io.Copy(io.Discard, r.Body)
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write(answer.body)
		}))
		for _, client := range []string{"h1", "net-http"} {
			b.Run(answer.name+"/"+client, func(b *testing.B) {
				u := New(config.Upstream{Name: "u1", Operator: "op", URL: srv.URL + "/v3/KEY", Timeout: time.Minute},
					Options{Network: "bench", MaxResponseBytes: 1 << 20})
				defer u.Close()
				if client == "net-http" {
					u.plain = nil
				} else if u.plain == nil {
					b.Fatal("not on the h1 client")
				}
				ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
				defer cancel()
				body := []byte(`{"jsonrpc":"2.0","id":1,"method":"eth_getBalance","params":["0x0000000000000000000000000000000000000001","latest"]}`)
				b.ReportAllocs()
				start, n := processCPU(), 0
				for b.Loop() {
					raw, err := u.post(ctx, body)
					if err != nil || len(raw) != len(answer.body) {
						b.Fatal(err, len(raw))
					}
					n++
				}
				b.ReportMetric(float64(processCPU()-start)/float64(n), "cpu-ns/op")
			})
		}
		srv.Close()
	}
}
