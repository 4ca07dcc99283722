package server_test

import (
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/braidrpc/braid/internal/access"
	"github.com/braidrpc/braid/internal/await"
	"github.com/braidrpc/braid/internal/config"
)

// TestFairness: one key floods braid with 64 concurrent clients while
// another sends its calls one after another; the provider serves two
// calls at once (more get 429) and takes 200ms each. With
// auth.max_inflight 2 no more than the provider's capacity is ever sent,
// and the steady key's calls go next whenever a slot frees, however long
// the flood's queue. That is judged by order, not by time: a steady call
// reaches the provider after at most a few flood calls that it did not
// find there, where one key's queue puts about half the flood's before
// it. (The test once asked every steady call to
// end within a one-second request timeout, which a loaded machine missed
// however fair the queue.) Both keys stay within their own limits (they
// have none), and no call times out.
func TestFairness(t *testing.T) {
	const (
		flooders = 64
		steadyN  = 20
		capacity = 2
		// steadyAddr is the steady key's account: the provider tells its
		// calls from the flood's by it.
		steadyAddr = "0x00000000000000000000000000000000005754ad"
	)
	greedy, steady := access.NewKey(), access.NewKey()
	fake := newFake(t, "a", 1)
	spec := mainnet(fake)
	// Long enough that no call, queued behind the whole flood, times out.
	cfg := braidConfig(t, func(l *config.Limits) { l.RequestTimeout = 30 * time.Second }, spec)
	cfg.Cache.Backend = config.CacheOff // every call reaches the provider
	cfg.Auth = config.Auth{Required: true, MaxInflight: capacity}
	cfg.Keys = []config.APIKey{{Name: "greedy", Key: greedy}, {Name: "steady", Key: steady}}
	b := startKeyed(t, cfg, nil, spec)
	fake.SetLatency(200 * time.Millisecond)
	fake.SetCapacity("eth_getBalance", capacity)
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: flooders + 1}}
	t.Cleanup(client.CloseIdleConnections)
	var failures []string
	var mu sync.Mutex
	call := func(key, body string) bool {
		req, _ := http.NewRequest(http.MethodPost, b.URL, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+key)
		res, err := client.Do(req)
		if err != nil {
			return false
		}
		defer res.Body.Close()
		body = readAll(t, res)
		ok := res.StatusCode == http.StatusOK && !strings.Contains(body, `"error"`)
		if !ok && key == steady {
			mu.Lock()
			failures = append(failures, strconv.Itoa(res.StatusCode)+" "+body)
			mu.Unlock()
		}
		return ok
	}

	var stop atomic.Bool
	var flood sync.WaitGroup
	var floodOK, floodSent atomic.Int64
	for range flooders {
		flood.Add(1)
		go func() {
			defer flood.Done()
			for i := 0; i < 200 && !stop.Load(); i++ {
				floodSent.Add(1)
				if call(greedy, balanceCall) {
					floodOK.Add(1)
				}
			}
		}()
	}
	defer func() { stop.Store(true); flood.Wait() }()
	// The flood's queue is deep before the steady key starts.
	await.Until(t, "the flooders queued", func() bool { return admissionWaiting(t, b) >= flooders-capacity-4 })

	steadyCall := strings.Replace(balanceCall, testAddr, steadyAddr, 1)
	ok := 0
	var ahead []int // flood calls that reached the provider first, per steady call
	for range steadyN {
		before := len(fake.Params("eth_getBalance"))
		if call(steady, steadyCall) {
			ok++
		}
		arrived := fake.Params("eth_getBalance")[before:]
		if i := slices.IndexFunc(arrived, func(p string) bool { return strings.Contains(p, steadyAddr) }); i >= 0 {
			ahead = append(ahead, i)
		}
	}
	stop.Store(true)
	flood.Wait()
	peak, rejected, givenUp := fake.Capacity()
	t.Logf("steady %d/%d, flood calls ahead of each %v, flood %d/%d, provider peak %d, rejected %d, given up %d",
		ok, steadyN, ahead, floodOK.Load(), floodSent.Load(), peak, rejected, givenUp)
	if ok != steadyN || len(ahead) != steadyN {
		t.Errorf("the steady key's calls: %d of %d succeeded, %d reached the provider; failures:\n%s", ok, steadyN, len(ahead), strings.Join(failures, "\n"))
	}
	// A fair queue lets in only the flood calls admitted while a steady
	// call was on its way to the queue (one per 100ms: 0 to 2 seen); the
	// steady calls sent under the greedy key met 30 to 32 each.
	if worst := slices.Max(append(ahead, 0)); worst >= flooders/4 {
		t.Errorf("a steady call reached the provider after %d flood calls it did not find there (each: %v): it queued behind the flood", worst, ahead)
	}
	// A flood call that timed out while the provider served it would free
	// its slot at once while the provider still counts it; no call times
	// out here, so only such overlaps are excused.
	if peak > capacity || rejected > givenUp {
		t.Errorf("the provider saw %d calls at once (capacity %d) and refused %d, with %d given up", peak, capacity, rejected, givenUp)
	}
}

// admissionWaiting reads braid_admission_waiting{network="mainnet"}.
func admissionWaiting(t *testing.T, b *keyedBraid) int {
	_, body := doRequest(t, http.MethodGet, b.URL+"/metrics", "")
	for _, l := range strings.Split(body, "\n") {
		if v, ok := strings.CutPrefix(l, `braid_admission_waiting{network="mainnet"} `); ok {
			n, _ := strconv.Atoi(v)
			return n
		}
	}
	return 0
}
