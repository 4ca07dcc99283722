package server_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/braidrpc/braid/internal/access"
	"github.com/braidrpc/braid/internal/config"
)

// limitError decodes a -32005 answer's data.
func limitError(t *testing.T, body string) (code int, data map[string]any) {
	t.Helper()
	var a rpcAnswer
	if err := json.Unmarshal([]byte(body), &a); err != nil || a.Error == nil {
		t.Fatalf("not an error answer: %s", body)
	}
	if err := json.Unmarshal(a.Error.Data, &data); err != nil {
		t.Fatalf("data of %s: %v", body, err)
	}
	return a.Error.Code, data
}

// TestLimitsHTTP: a key over its rate gets 429 with Retry-After and
// -32005 naming the limit and its reset, another key is unaffected; over
// its daily quota (credits by method weight) it is refused until
// midnight UTC while free methods still pass.
func TestLimitsHTTP(t *testing.T) {
	small, big := access.NewKey(), access.NewKey()
	spec := mainnet(newFake(t, "a", 1))
	keys := []config.APIKey{
		{Name: "small", Key: small, KeyLimits: config.KeyLimits{RPS: 2, Burst: 2, DailyQuota: 100}},
		{Name: "big", Key: big},
	}
	b := startKeyed(t, keyedConfig(t, config.Auth{Required: true}, keys, spec), nil, spec)
	for i := range 2 {
		if status, _, body := send(t, b.URL, blockNumberCall, bearer(small)); status != http.StatusOK {
			t.Fatalf("call %d within the burst: %d %s", i+1, status, body)
		}
	}
	status, retry, body := send(t, b.URL, blockNumberCall, bearer(small))
	want := `{"jsonrpc":"2.0","id":7,"error":{"code":-32005,"message":"limit exceeded: this API key's rate of 2 calls per second (burst 2); retry after 2026-03-04T12:00:01Z","data":{"limit":"rps","scope":"key","retry_after":1,"reset":"2026-03-04T12:00:01Z"}}}`
	if status != http.StatusTooManyRequests || retry != "1" || body != want {
		t.Fatalf("over the rate: %d Retry-After %q %s\nwant %s", status, retry, body, want)
	}
	for i := range 5 {
		if status, _, _ := send(t, b.URL, blockNumberCall, bearer(big)); status != http.StatusOK {
			t.Fatalf("the other key's call %d: %d", i+1, status)
		}
	}
	// A second later: 20 credits spent; eth_getLogs (75) fits, then an
	// eth_blockNumber (10) does not.
	b.clock.Advance(time.Second)
	if status, _, body := send(t, b.URL, `{"jsonrpc":"2.0","id":1,"method":"eth_getLogs","params":[{}]}`, bearer(small)); status != http.StatusOK {
		t.Fatalf("eth_getLogs within the quota: %d %s", status, body)
	}
	status, retry, body = send(t, b.URL, blockNumberCall, bearer(small))
	if code, data := limitError(t, body); status != http.StatusTooManyRequests || code != -32005 || retry != "43199" ||
		data["limit"] != "quota" || data["reset"] != "2026-03-05T00:00:00Z" {
		t.Fatalf("over the quota: %d Retry-After %q %s", status, retry, body)
	}
	if status, _, _ := send(t, b.URL, `{"jsonrpc":"2.0","id":1,"method":"eth_chainId"}`, bearer(small)); status != http.StatusOK {
		t.Errorf("a free method with the quota spent: %d", status)
	}
	b.clock.Advance(12 * time.Hour)
	if status, _, body := send(t, b.URL, blockNumberCall, bearer(small)); status != http.StatusOK {
		t.Errorf("the next UTC day: %d %s", status, body)
	}
}

// TestLimitsPerClient: anonymous callers are limited per address; another
// address is not affected, and keyed callers from the same address are
// not counted against it.
func TestLimitsPerClient(t *testing.T) {
	needSecondLoopback(t)
	key := access.NewKey()
	spec := mainnet(newFake(t, "a", 1))
	auth := config.Auth{Clients: config.ClientLimits{RPS: 1, Burst: 2}}
	b := startKeyed(t, keyedConfig(t, auth, []config.APIKey{{Name: "app", Key: key}}, spec), nil, spec)
	one, other := fromAddr("127.0.0.1"), fromAddr("127.0.0.2")
	for range 2 {
		if a := decodeAnswer(t, postFrom(t, one, b.URL, blockNumberCall, nil)); a.Error != nil {
			t.Fatalf("within the address's burst: %+v", a.Error)
		}
	}
	body := postFrom(t, one, b.URL, blockNumberCall, nil)
	if code, data := limitError(t, body); code != -32005 || data["limit"] != "client_rps" || data["scope"] != "client" {
		t.Fatalf("over the address's rate: %s", body)
	}
	if !strings.Contains(body, "your address's rate of 1 calls per second (burst 2)") {
		t.Errorf("message: %s", body)
	}
	if a := decodeAnswer(t, postFrom(t, other, b.URL, blockNumberCall, nil)); a.Error != nil {
		t.Errorf("another address: %+v", a.Error)
	}
	if a := decodeAnswer(t, postFrom(t, one, b.URL, blockNumberCall, bearer(key))); a.Error != nil {
		t.Errorf("a keyed call from the limited address: %+v", a.Error)
	}
}

// TestLimitsBatch: a batch costs one call per member against the rate
// (at most the burst) and the sum of its members' weights against the
// quota; refused, every member gets the error with its id.
func TestLimitsBatch(t *testing.T) {
	key := access.NewKey()
	spec := mainnet(newFake(t, "a", 1))
	keys := []config.APIKey{{Name: "app", Key: key, KeyLimits: config.KeyLimits{RPS: 1, Burst: 3}}}
	b := startKeyed(t, keyedConfig(t, config.Auth{}, keys, spec), nil, spec)
	batch := `[{"jsonrpc":"2.0","id":1,"method":"eth_blockNumber"},{"jsonrpc":"2.0","id":"two","method":"eth_chainId"},{"jsonrpc":"2.0","method":"eth_blockNumber"}]`
	if status, _, body := send(t, b.URL, batch, apiKey(key)); status != http.StatusOK || strings.Contains(body, "error") {
		t.Fatalf("a batch of the whole burst: %d %s", status, body)
	}
	status, retry, body := send(t, b.URL, batch, apiKey(key))
	var answers []rpcAnswer
	if err := json.Unmarshal([]byte(body), &answers); err != nil || status != http.StatusTooManyRequests || retry != "3" || len(answers) != 2 {
		t.Fatalf("the batch again: %d Retry-After %q %s", status, retry, body)
	}
	for i, id := range []string{"1", `"two"`} {
		if string(answers[i].ID) != id || answers[i].Error == nil || answers[i].Error.Code != -32005 {
			t.Errorf("member %d: %+v", i, answers[i])
		}
	}
}

// TestLimitsWebSocket: over WebSocket a call over a limit gets the same
// error, and the connection stays open for the next ones.
func TestLimitsWebSocket(t *testing.T) {
	key := access.NewKey()
	spec := mainnet(newFake(t, "a", 1))
	keys := []config.APIKey{{Name: "app", Key: key, KeyLimits: config.KeyLimits{RPS: 1, Burst: 1}}}
	b := startKeyed(t, keyedConfig(t, config.Auth{Required: true}, keys, spec), nil, spec)
	c, status, _ := dialKeyed(t, b.WS+"/mainnet/"+key, nil)
	if c == nil {
		t.Fatalf("upgrade: %d", status)
	}
	if got := c.call(blockNumberCall); !strings.Contains(got, `"result"`) {
		t.Fatalf("first call: %s", got)
	}
	got := c.call(blockNumberCall)
	if code, data := limitError(t, got); code != -32005 || data["limit"] != "rps" || !strings.HasPrefix(got, `{"jsonrpc":"2.0","id":7,`) {
		t.Fatalf("second call: %s", got)
	}
	batch := `[{"jsonrpc":"2.0","id":1,"method":"eth_blockNumber"},{"jsonrpc":"2.0","id":2,"method":"eth_blockNumber"}]`
	var answers []rpcAnswer
	if err := json.Unmarshal([]byte(c.call(batch)), &answers); err != nil || len(answers) != 2 || answers[1].Error == nil || answers[1].Error.Code != -32005 {
		t.Fatalf("a batch over the limit: %+v %v", answers, err)
	}
	b.clock.Advance(time.Second)
	if got := c.call(blockNumberCall); !strings.Contains(got, `"result"`) {
		t.Errorf("after a second, on the same connection: %s", got)
	}
}

// TestKeyMethodsAndBatchCap: a key's deny list refuses its methods call
// by call; a batch over its max_batch is refused whole, as over
// limits.max_batch.
func TestKeyMethodsAndBatchCap(t *testing.T) {
	key := access.NewKey()
	spec := mainnet(newFake(t, "a", 1))
	keys := []config.APIKey{{Name: "app", Key: key, KeyLimits: config.KeyLimits{MaxBatch: 2},
		Methods: config.Methods{Deny: []string{"eth_getBalance"}}}}
	b := startKeyed(t, keyedConfig(t, config.Auth{Required: true}, keys, spec), nil, spec)
	batch := `[{"jsonrpc":"2.0","id":1,"method":"eth_blockNumber"},` + balanceCall + `]`
	want := `[{"jsonrpc":"2.0","id":1,"result":"0x10"},{"jsonrpc":"2.0","id":"b","error":{"code":-32601,"message":"the method eth_getBalance is not allowed for this API key"}}]`
	if status, _, body := send(t, b.URL, batch, bearer(key)); status != http.StatusOK || body != want {
		t.Errorf("HTTP: %d %s\nwant %s", status, body, want)
	}
	c, _, _ := dialKeyed(t, b.WS, bearer(key))
	if got := c.call(batch); got != want {
		t.Errorf("WebSocket: %s\nwant %s", got, want)
	}
	three := `[{"jsonrpc":"2.0","id":1,"method":"eth_blockNumber"},{"jsonrpc":"2.0","id":2,"method":"eth_blockNumber"},{"jsonrpc":"2.0","id":3,"method":"eth_blockNumber"}]`
	const capped = `{"jsonrpc":"2.0","id":null,"error":{"code":-32600,"message":"invalid request: batch of 3 calls exceeds this API key's limit of 2"}}`
	if status, _, body := send(t, b.URL, three, bearer(key)); status != http.StatusOK || body != capped {
		t.Errorf("HTTP batch over the cap: %d %s", status, body)
	}
	if got := c.call(three); got != capped {
		t.Errorf("WebSocket batch over the cap: %s", got)
	}
}

// TestKeyMaxInflightAlone: a key's own max_inflight holds without
// auth.max_inflight: its calls beyond the cap wait for its earlier ones
// (the provider never serves more of them at once) and all are answered;
// another key's calls are served too. (It was ignored: only
// auth.max_inflight turned admission on.)
func TestKeyMaxInflightAlone(t *testing.T) {
	capped, other := access.NewKey(), access.NewKey()
	fake := newFake(t, "a", 1)
	spec := mainnet(fake)
	cfg := keyedConfig(t, config.Auth{Required: true}, []config.APIKey{
		{Name: "capped", Key: capped, KeyLimits: config.KeyLimits{MaxInflight: 1}},
		{Name: "other", Key: other},
	}, spec)
	cfg.Cache.Backend = config.CacheOff // every call reaches the provider
	b := startKeyed(t, cfg, nil, spec)
	// Long enough that four calls sent at once overlap at the provider
	// unless braid holds them back.
	fake.SetLatency(300 * time.Millisecond)
	fake.SetCapacity("eth_getBalance", 100) // only to count calls served at once
	run := func(key string, n int) {
		var wg sync.WaitGroup
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				// Distinct accounts: identical calls in flight would be
				// merged into one upstream call.
				call := strings.Replace(balanceCall, testAddr, fmt.Sprintf("0x%040x", i+1), 1)
				if status, _, body := send(t, b.URL, call, bearer(key)); status != http.StatusOK || !strings.Contains(body, `"result"`) {
					t.Errorf("a call: %d %s", status, body)
				}
			}()
		}
		wg.Wait()
	}
	run(capped, 4)
	if peak, _, _ := fake.Capacity(); peak != 1 {
		t.Errorf("the provider served %d calls of a key with max_inflight 1 at once", peak)
	}
	// Another key's calls are not queued behind the capped key's.
	run(other, 4)
	if n := admissionWaiting(t, b); n != 0 {
		t.Errorf("%d calls still waiting", n)
	}
}
