package server_test

import (
	"encoding/json"
	"io"
	"net/http"
	"runtime/debug"
	"strings"
	"testing"

	"github.com/braidrpc/braid/internal/gateway"
)

// TestStatusShowsHeapBesideCache: /status has the heap, the soft memory
// limit and GOGC beside the answer cache's bytes and bound, and the cache's
// bytes grow with what it keeps; /metrics has braid_heap_bytes and
// braid_memory_limit_bytes next to braid_cache_bytes.
func TestStatusShowsHeapBesideCache(t *testing.T) {
	old := debug.SetMemoryLimit(3 << 30)
	t.Cleanup(func() { debug.SetMemoryLimit(old) })
	f := newFake(t, "a", 1)
	cfg := braidConfig(t, nil, mainnet(f))
	cfg.Cache.MaxBytes = 32 << 20
	b := startBraidConfig(t, cfg, mainnet(f)) // it serves its tip

	before := getMemory(t, b)
	if before.HeapBytes == 0 || before.RuntimeBytes < before.HeapBytes || before.HeapGoalBytes == 0 {
		t.Fatalf("heap figures %+v", before)
	}
	if before.LimitBytes != 3<<30 {
		t.Fatalf("limit_bytes %d, want the limit set (%d)", before.LimitBytes, 3<<30)
	}
	if before.CacheMaxBytes != 32<<20 {
		t.Fatalf("cache_max_bytes %d, want %d", before.CacheMaxBytes, 32<<20)
	}
	// An answer about a finalized block is kept: the cache's bytes grow.
	const call = `{"jsonrpc":"2.0","id":1,"method":"eth_getBalance","params":["0x0000000000000000000000000000000000000001","0x5"]}`
	if _, hdr := cachePost(t, b.URL, call); hdr != "miss" {
		t.Fatalf("first call: Braid-Cache %q", hdr)
	}
	if _, hdr := cachePost(t, b.URL, call); hdr != "hit" {
		t.Fatalf("second call: Braid-Cache %q", hdr)
	}
	if after := getMemory(t, b); after.CacheBytes <= before.CacheBytes {
		t.Fatalf("cache_bytes %d after keeping an answer, %d before", after.CacheBytes, before.CacheBytes)
	}

	status, metrics := doRequest(t, http.MethodGet, b.URL+"/metrics", "")
	if status != http.StatusOK {
		t.Fatalf("/metrics: HTTP %d", status)
	}
	for _, want := range []string{"\nbraid_heap_bytes ", "\nbraid_memory_limit_bytes 3.221225472e+09", "\nbraid_cache_bytes "} {
		if !strings.Contains(metrics, want) {
			t.Errorf("/metrics lacks %q", strings.TrimSpace(want))
		}
	}
}

// TestStatusMemoryWithCacheOff: without a cache the heap is still shown,
// and no cache figures are.
func TestStatusMemoryWithCacheOff(t *testing.T) {
	f := newFake(t, "a", 1)
	cfg := braidConfig(t, nil, mainnet(f))
	cfg.Cache.Backend = "off"
	b := startBraidConfig(t, cfg, mainnet(f))
	_, raw := doRequest(t, http.MethodGet, b.URL+"/status", "")
	m := getMemory(t, b)
	if m.HeapBytes == 0 || m.CacheBytes != 0 || m.CacheMaxBytes != 0 || strings.Contains(raw, "cache_max_bytes") {
		t.Fatalf("memory status with the cache off: %+v\n%s", m, raw)
	}
}

func getMemory(t *testing.T, b *braid) gateway.MemoryStatus {
	t.Helper()
	status, raw := doRequest(t, http.MethodGet, b.URL+"/status", "")
	var st gateway.Status
	if err := json.Unmarshal([]byte(raw), &st); status != http.StatusOK || err != nil {
		t.Fatalf("/status: HTTP %d, %v", status, err)
	}
	if !strings.Contains(raw, `"memory": {`) {
		t.Fatalf("/status has no memory object:\n%s", raw)
	}
	return st.Memory
}

// cachePost sends one call and returns its body and Braid-Cache header.
func cachePost(t *testing.T, url, body string) (string, string) {
	t.Helper()
	resp, err := http.Post(url, "application/json", strings.NewReader(body))
	if err != nil {
		t.Error(err)
		return "", ""
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b), resp.Header.Get("Braid-Cache")
}
