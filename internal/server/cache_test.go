package server_test

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/braidrpc/braid/internal/gateway"
)

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

// TestCacheMergesIdenticalCallsAndKeepsWhatIsFinal: twenty identical
// calls in flight reach the provider once; the answer (about a finalized
// block) is then served from the cache with Braid-Cache: hit. Nulls and
// errors are never kept.
func TestCacheMergesIdenticalCallsAndKeepsWhatIsFinal(t *testing.T) {
	f := newFake(t, "a", 1)
	b := startBraid(t, nil, mainnet(f))
	// startBraid waited for the served tip; the fake's finalized block
	// is 0x10.
	f.SetLatency(200 * time.Millisecond)

	const call = `{"jsonrpc":"2.0","id":1,"method":"eth_getBalance","params":["0x0000000000000000000000000000000000000001","0x5"]}`
	var wg sync.WaitGroup
	answers, hdrs := make([]string, 20), make([]string, 20)
	for i := range answers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			answers[i], hdrs[i] = cachePost(t, b.URL, call)
		}()
	}
	wg.Wait()
	// On a loaded machine some of the twenty are sent only after the
	// first answer was stored: those are hits, the rest misses (merged or
	// not). Either way they reach the provider once.
	early := 0
	for _, h := range hdrs {
		if h == "hit" {
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
	if body, hdr := cachePost(t, b.URL, call); hdr != "hit" || body != answers[0] {
		t.Fatalf("the next call: Braid-Cache %q, body %s", hdr, body)
	}
	if n := f.Calls("eth_getBalance"); n != 1 {
		t.Fatalf("a cache hit reached the provider (%d calls)", n)
	}

	f.SetLatency(0)
	// An unknown transaction is null now and may exist later: never kept.
	const unknownTx = `{"jsonrpc":"2.0","id":2,"method":"eth_getTransactionByHash","params":["0x1111111111111111111111111111111111111111111111111111111111111111"]}`
	for range 2 {
		if body, hdr := cachePost(t, b.URL, unknownTx); hdr != "miss" || !strings.Contains(body, `"result":null`) {
			t.Fatalf("unknown tx: Braid-Cache %q, body %s", hdr, body)
		}
	}
	if n := f.Calls("eth_getTransactionByHash"); n != 2 {
		t.Fatalf("a null answer was cached: %d provider calls for 2 client calls", n)
	}

	// A batch is a hit only when every member is.
	batch := `[` + call + `,` + unknownTx + `]`
	if _, hdr := cachePost(t, b.URL, batch); hdr != "miss" {
		t.Fatalf("batch with an uncacheable member: Braid-Cache %q", hdr)
	}
	if _, hdr := cachePost(t, b.URL, `[`+call+`,`+call+`]`); hdr != "hit" {
		t.Fatalf("batch of cached calls: Braid-Cache %q", hdr)
	}

	// Errors may clear: never kept.
	f.SetErrorAnswer(`{"code":-32000,"message":"header not found"}`)
	const other = `{"jsonrpc":"2.0","id":3,"method":"eth_getBalance","params":["0x0000000000000000000000000000000000000002","0x6"]}`
	cachePost(t, b.URL, other)
	before := f.Calls("eth_getBalance")
	if _, hdr := cachePost(t, b.URL, other); hdr != "miss" || f.Calls("eth_getBalance") == before {
		t.Fatalf("an error was served from the cache (Braid-Cache %q)", hdr)
	}

	metrics := scrape(t, b.URL+"/metrics")
	checkCacheStatus(t, b, metrics)
	for _, want := range []string{
		// The next call, one member of the first batch, both of the second.
		fmt.Sprintf(`braid_cache_requests_total{method="eth_getBalance",network="mainnet",result="hit"} %d`, 4+early),
		`braid_cache_stores_total{lifetime="final",network="mainnet"} 1`,
		`braid_cache_entries 1`,
	} {
		if !strings.Contains(metrics, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
}

// checkCacheStatus: /status counts the network's cache lookups as
// braid_cache_requests_total does (its JSON view, for the status page).
func checkCacheStatus(t *testing.T, b *braid, metrics string) {
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
	_, raw := doRequest(t, http.MethodGet, b.URL+"/status", "")
	var st gateway.Status
	if err := json.Unmarshal([]byte(raw), &st); err != nil {
		t.Fatal(err)
	}
	c := st.Networks[0].Cache
	if c == nil || float64(c.Hits) != sum["hit"] || float64(c.Misses) != sum["miss"] || c.Hits == 0 || c.Misses == 0 {
		t.Fatalf("/status cache %+v, metrics count hits %v misses %v", c, sum["hit"], sum["miss"])
	}
	if want := math.Round(1000*sum["hit"]/(sum["hit"]+sum["miss"])) / 1000; c.HitRate != want {
		t.Errorf("hit_rate %v, want %v", c.HitRate, want)
	}
}

func scrape(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}
