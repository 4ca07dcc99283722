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
	l := newFairLoad(t, b, fake, steady, flooders)
	stop := l.flood(flooders, greedy, func(int, int) string { return balanceCall })
	defer stop()
	// The flood's queue is deep before the steady key starts.
	await.Until(t, "the flooders queued", func() bool { return admissionWaiting(t, b) >= flooders-capacity-4 })
	ok, ahead := l.steadyCalls(steadyN, steadyAddr)
	stop()
	peak, rejected, givenUp := fake.Capacity()
	t.Logf("steady %d/%d, flood calls ahead of each %v, flood %d/%d, provider peak %d, rejected %d, given up %d",
		ok, steadyN, ahead, l.floodOK.Load(), l.floodSent.Load(), peak, rejected, givenUp)
	l.checkSteady(ok, steadyN, ahead)
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

// fairLoad is a flood of calls under one key and steady calls under
// another against a keyed braid whose only provider is fake: what the
// fairness tests share.
type fairLoad struct {
	t      *testing.T
	b      *keyedBraid
	fake   *fakeUpstream
	steady string // the steady key
	client *http.Client

	mu       sync.Mutex
	failures []string // the steady key's failed calls

	floodOK, floodSent atomic.Int64
}

func newFairLoad(t *testing.T, b *keyedBraid, fake *fakeUpstream, steady string, flooders int) *fairLoad {
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: flooders + 1}}
	t.Cleanup(client.CloseIdleConnections)
	return &fairLoad{t: t, b: b, fake: fake, steady: steady, client: client}
}

// call posts body under key and reports whether it was answered without
// an error.
func (l *fairLoad) call(key, body string) bool {
	req, _ := http.NewRequest(http.MethodPost, l.b.URL, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+key)
	res, err := l.client.Do(req)
	if err != nil {
		return false
	}
	defer res.Body.Close()
	body = readAll(l.t, res)
	ok := res.StatusCode == http.StatusOK && !strings.Contains(body, `"error"`)
	if !ok && key == l.steady {
		l.mu.Lock()
		l.failures = append(l.failures, strconv.Itoa(res.StatusCode)+" "+body)
		l.mu.Unlock()
	}
	return ok
}

// flood starts n clients sending up to 200 calls each under key (body
// gives client g's i-th call); the returned stop ends them and waits.
func (l *fairLoad) flood(n int, key string, body func(g, i int) string) (stop func()) {
	var halt atomic.Bool
	var wg sync.WaitGroup
	for g := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 200 && !halt.Load(); i++ {
				l.floodSent.Add(1)
				if l.call(key, body(g, i)) {
					l.floodOK.Add(1)
				}
			}
		}()
	}
	return func() { halt.Store(true); wg.Wait() }
}

// steadyCalls sends n calls for addr under the steady key one after
// another, and counts for each how many flood calls reached the provider
// before it that were not there when it was sent.
func (l *fairLoad) steadyCalls(n int, addr string) (ok int, ahead []int) {
	call := strings.Replace(balanceCall, testAddr, addr, 1)
	for range n {
		before := len(l.fake.Params("eth_getBalance"))
		if l.call(l.steady, call) {
			ok++
		}
		arrived := l.fake.Params("eth_getBalance")[before:]
		if i := slices.IndexFunc(arrived, func(p string) bool { return strings.Contains(p, addr) }); i >= 0 {
			ahead = append(ahead, i)
		}
	}
	return ok, ahead
}

// checkSteady fails the test unless all n steady calls succeeded and
// reached the provider.
func (l *fairLoad) checkSteady(ok, n int, ahead []int) {
	l.t.Helper()
	if ok != n || len(ahead) != n {
		l.t.Errorf("the steady key's calls: %d of %d succeeded, %d reached the provider; failures:\n%s", ok, n, len(ahead), strings.Join(l.failures, "\n"))
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
