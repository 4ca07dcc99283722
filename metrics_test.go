package braid_test

import (
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/braidrpc/braid"
)

// scrapeMetrics returns b's /metrics page.
func scrapeMetrics(t *testing.T, b *braid.Braid) string {
	t.Helper()
	rec := httptest.NewRecorder()
	b.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	if rec.Code != http.StatusOK {
		t.Fatalf("/metrics: HTTP %d %s", rec.Code, rec.Body)
	}
	return rec.Body.String()
}

// hasSeries reports whether the exposition page holds a sample of name.
func hasSeries(page, name string) bool {
	for _, l := range strings.Split(page, "\n") {
		if strings.HasPrefix(l, name+" ") || strings.HasPrefix(l, name+"{") {
			return true
		}
	}
	return false
}

// TestMetricsRuntimeAndProcess: /metrics carries the Go runtime and
// process collectors beside braid's own series; a program's registry that
// has a Go collector already keeps it, and braid starts on it.
func TestMetricsRuntimeAndProcess(t *testing.T) {
	dn, b := newLibrary(t, 1)
	page := scrapeMetrics(t, b)
	want := []string{"go_goroutines", "go_memstats_heap_inuse_bytes", "go_gc_duration_seconds", "braid_ws_connections"}
	if runtime.GOOS == "linux" { // the process collector reads /proc
		want = append(want, "process_resident_memory_bytes", "process_open_fds", "process_cpu_seconds_total")
	}
	for _, name := range want {
		if !hasSeries(page, name) {
			t.Errorf("/metrics has no %s", name)
		}
	}

	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector())
	cfg := braid.DefaultConfig()
	cfg.Networks = []braid.Network{{Name: "devnet", ChainID: dn.ChainID(), Upstreams: dn.Upstreams()}}
	other, err := braid.New(cfg, braid.WithRegistry(reg), braid.WithStartWait(0))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { other.Close() })
	page = scrapeMetrics(t, other)
	for _, name := range want {
		if !hasSeries(page, name) {
			t.Errorf("/metrics of a braid on a registry with a Go collector has no %s", name)
		}
	}
	if _, err := reg.Gather(); err != nil {
		t.Errorf("the shared registry does not gather: %v", err)
	}
}
