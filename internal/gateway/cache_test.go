package gateway_test

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	gt "github.com/braidrpc/braid/internal/gatewaytest"
)

// TestCacheMergesIdenticalCallsAndKeepsWhatIsFinal: twenty identical
// calls in flight reach the provider once; the answer (about a finalized
// block) is then served from the cache (Result.Cached: the server's
// Braid-Cache: hit). Nulls and errors are never kept.
func TestCacheMergesIdenticalCallsAndKeepsWhatIsFinal(t *testing.T) {
	f := gt.NewFake(t, "a", 1)
	h := gt.Start(t, nil, gt.Mainnet(f))
	// Start waited for the served tip; the fake's finalized block is 0x10.
	f.SetLatency(200 * time.Millisecond)

	const call = `{"jsonrpc":"2.0","id":1,"method":"eth_getBalance","params":["0x0000000000000000000000000000000000000001","0x5"]}`
	var wg sync.WaitGroup
	answers, cached := make([]string, 20), make([]bool, 20)
	for i := range answers {
		wg.Go(func() {
			res := h.Exec(call)
			answers[i], cached[i] = string(res.Response.AppendJSON(nil)), res.Cached
		})
	}
	wg.Wait()
	// On a loaded machine some of the twenty are sent only after the
	// first answer was stored: those are hits, the rest misses (merged or
	// not). Either way they reach the provider once.
	early := 0
	for _, c := range cached {
		if c {
			early++
		}
	}
	for _, a := range answers {
		if a != answers[0] || !strings.Contains(a, `"result":"0xde0b6b3a7640000"`) {
			t.Fatalf("answers differ or failed: %q vs %q", a, answers[0])
		}
	}
	if n := f.Calls("eth_getBalance"); n != 1 {
		t.Fatalf("20 identical calls in flight reached the provider %d times, want 1", n)
	}
	if res := h.Exec(call); !res.Cached || string(res.Response.AppendJSON(nil)) != answers[0] {
		t.Fatalf("the next call: cached %v, answer %s", res.Cached, res.Response.AppendJSON(nil))
	}
	if n := f.Calls("eth_getBalance"); n != 1 {
		t.Fatalf("a cache hit reached the provider (%d calls)", n)
	}

	f.SetLatency(0)
	// An unknown transaction is null now and may exist later: never kept.
	const unknownTx = `{"jsonrpc":"2.0","id":2,"method":"eth_getTransactionByHash","params":["0x1111111111111111111111111111111111111111111111111111111111111111"]}`
	for range 2 {
		if res := h.Exec(unknownTx); res.Cached || string(res.Response.Result) != "null" {
			t.Fatalf("unknown tx: cached %v, answer %s", res.Cached, res.Response.AppendJSON(nil))
		}
	}
	if n := f.Calls("eth_getTransactionByHash"); n != 2 {
		t.Fatalf("a null answer was cached: %d provider calls for 2 client calls", n)
	}
	// The members of a batch, one each (the server calls a batch a hit
	// only when every member is: its report_internal_test.go).
	if !h.Exec(call).Cached || h.Exec(unknownTx).Cached || !h.Exec(call).Cached {
		t.Fatal("batch members: the cached call missed or the null answer hit")
	}

	// Errors may clear: never kept.
	f.SetErrorAnswer(`{"code":-32000,"message":"header not found"}`)
	const other = `{"jsonrpc":"2.0","id":3,"method":"eth_getBalance","params":["0x0000000000000000000000000000000000000002","0x6"]}`
	h.Exec(other)
	before := f.Calls("eth_getBalance")
	if res := h.Exec(other); res.Cached || f.Calls("eth_getBalance") == before {
		t.Fatalf("an error was served from the cache (cached %v)", res.Cached)
	}

	metrics := h.Metrics()
	checkCacheStatus(t, h, metrics)
	for _, want := range []string{
		// The next call and the two batch members.
		fmt.Sprintf(`braid_cache_requests_total{method="eth_getBalance",network="mainnet",result="hit"} %d`, 3+early),
		`braid_cache_stores_total{lifetime="final",network="mainnet"} 1`,
		`braid_cache_entries 1`,
	} {
		if !strings.Contains(metrics, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
}

// checkCacheStatus: the status counts the network's cache lookups as
// braid_cache_requests_total does (its JSON view, for the status page).
func checkCacheStatus(t *testing.T, h *gt.Harness, metrics string) {
	t.Helper()
	sum := map[string]float64{}
	for line := range strings.Lines(metrics) {
		if !strings.HasPrefix(line, "braid_cache_requests_total{") || !strings.Contains(line, `network="mainnet"`) {
			continue
		}
		f := strings.Fields(line)
		v, err := strconv.ParseFloat(f[len(f)-1], 64)
		if err != nil {
			t.Fatalf("metric line %q: %v", line, err)
		}
		for _, r := range []string{"hit", "miss"} {
			if strings.Contains(line, `result="`+r+`"`) {
				sum[r] += v
			}
		}
	}
	c := h.GW.Status().Networks[0].Cache
	if c == nil || float64(c.Hits) != sum["hit"] || float64(c.Misses) != sum["miss"] || c.Hits == 0 || c.Misses == 0 {
		t.Fatalf("status cache %+v, metrics count hits %v misses %v", c, sum["hit"], sum["miss"])
	}
	if want := math.Round(1000*sum["hit"]/(sum["hit"]+sum["miss"])) / 1000; c.HitRate != want {
		t.Errorf("hit_rate %v, want %v", c.HitRate, want)
	}
}
