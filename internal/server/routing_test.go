package server_test

// Routing through the HTTP front: failover between upstreams, quarantine,
// timeouts, and batches fanned out concurrently.

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/braidrpc/braid/internal/config"
	"github.com/braidrpc/braid/internal/upstream"
)

// TestFailover: the upstream braid tries first fails in one way or
// another; every call is still answered correctly, sequentially and
// concurrently.
func TestFailover(t *testing.T) {
	faults := []struct {
		name  string
		apply func(*fakeUpstream)
	}{
		{"down", func(f *fakeUpstream) { f.SetDown(true) }},
		{"http 503", func(f *fakeUpstream) { f.SetStatus(http.StatusServiceUnavailable, "") }},
		{"http 429 with Retry-After", func(f *fakeUpstream) { f.SetStatus(http.StatusTooManyRequests, "1") }},
		{"http 429 without Retry-After", func(f *fakeUpstream) { f.SetStatus(http.StatusTooManyRequests, "") }},
		{"rpc -32603", func(f *fakeUpstream) { f.SetErrorAnswer(`{"code":-32603,"message":"internal error"}`) }},
		{"rpc -32603 odd message", func(f *fakeUpstream) { f.SetErrorAnswer(`{"code":-32603,"message":"boom"}`) }},
		{"rpc rate limited", func(f *fakeUpstream) {
			f.SetErrorAnswer(`{"code":-32005,"message":"daily request count exceeded, request rate limited"}`)
		}},
		{"rpc header not found", func(f *fakeUpstream) { f.SetErrorAnswer(`{"code":-32000,"message":"header not found"}`) }},
		{"http 200 not json-rpc", func(f *fakeUpstream) { f.Answer("eth_getBalance", `"nothing":1`) }},
	}
	calls := []struct{ body, want string }{
		{`{"jsonrpc":"2.0","id":1,"method":"eth_getBalance","params":["` + testAddr + `","latest"]}`,
			`{"jsonrpc":"2.0","id":1,"result":"0xde0b6b3a7640000"}`},
		{`{"jsonrpc":"2.0","id":"b","method":"eth_getBlockByNumber","params":["0x10",false]}`,
			`{"jsonrpc":"2.0","id":"b","result":` + blockResult + `}`},
		{`[{"jsonrpc":"2.0","id":1,"method":"eth_getBalance","params":["` + testAddr + `"]},{"jsonrpc":"2.0","id":2,"method":"eth_getCode","params":["` + testAddr + `"]}]`,
			`[{"jsonrpc":"2.0","id":1,"result":"0xde0b6b3a7640000"},{"jsonrpc":"2.0","id":2,"result":"0x"}]`},
	}
	for _, fault := range faults {
		t.Run(fault.name, func(t *testing.T) {
			t.Parallel()
			one, two := newFake(t, "one", 1), newFake(t, "two", 1)
			b := startBraid(t, nil, mainnet(one, two))
			tr := setTrap("eth_getBalance", fault.apply, one, two)

			var mu sync.Mutex
			failures := 0
			check := func(i int) {
				c := calls[i%len(calls)]
				status, got, err := postRaw(b.URL+"/", c.body)
				if err != nil || status != http.StatusOK || got != c.want {
					mu.Lock()
					failures++
					if failures <= 5 {
						t.Errorf("call %d: HTTP %d %v\ngot  %s\nwant %s", i, status, err, got, c.want)
					}
					mu.Unlock()
				}
			}
			for i := range 100 {
				check(i)
			}
			var wg sync.WaitGroup
			for w := range 10 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for i := range 10 {
						check(w*10 + i)
					}
				}()
			}
			wg.Wait()
			if failures != 0 {
				t.Errorf("%d of 200 calls failed", failures)
			}
			if tr.Sprung() == nil {
				t.Errorf("the failing upstream was never tried: the test proves nothing")
			}
		})
	}
}

// TestQuarantineWrongChain: an upstream serving another chain is never sent
// anything but the eth_chainId that exposed it.
func TestQuarantineWrongChain(t *testing.T) {
	good, wrong := newFake(t, "good", 1), newFake(t, "wrong", 10)
	// Listed first, so it would be the first choice if it were usable.
	b := startBraid(t, nil, mainnet(wrong, good))

	st, reason := b.gw.Network("mainnet").Upstreams()[0].State()
	if st != upstream.Quarantined || !strings.Contains(reason, "chain 10") {
		t.Errorf("wrong-chain upstream: state %s (%s)", st, reason)
	}
	status, h, raw := getHealth(t, b)
	if status != http.StatusOK || h.Networks["mainnet"].Usable != 1 || h.Networks["mainnet"].Upstreams != 2 {
		t.Errorf("health: HTTP %d %s", status, raw)
	}

	bodies := []string{
		`{"jsonrpc":"2.0","id":1,"method":"eth_getCode","params":["0x52908400098527886e0f7030069857d2e4169ee7"]}`,
		`{"jsonrpc":"2.0","id":2,"method":"eth_getBalance","params":["` + testAddr + `","latest"]}`,
		`{"jsonrpc":"2.0","id":3,"method":"foo_bar"}`, // fails over to every usable upstream
		`{"jsonrpc":"2.0","id":4,"method":"net_version"}`,
		`{"jsonrpc":"2.0","id":5,"method":"eth_newBlockFilter"}`,
		`{"jsonrpc":"2.0","id":6,"method":"eth_sendRawTransaction","params":["0x1234"]}`,
		`{"jsonrpc":"2.0","id":7,"method":"eth_chainId"}`,
		`[{"jsonrpc":"2.0","id":8,"method":"eth_getCode","params":["` + testAddr + `"]},{"jsonrpc":"2.0","method":"eth_blockNumber"}]`,
	}
	for range 5 {
		for _, body := range bodies {
			if status, out := b.post("/", body); status != http.StatusOK {
				t.Errorf("%s: HTTP %d %s", body, status, out)
			}
		}
	}
	if got := good.Calls("foo_bar"); got != 5 {
		t.Errorf("good upstream got %d foo_bar calls, want 5", got)
	}
	if calls := wrong.AllCalls(); len(calls) != 0 {
		t.Errorf("the quarantined upstream was sent %v", calls)
	}
}

// TestBatchConcurrent: a batch of 100 members gets 100 answers with the
// exact ids, in order, and the members run concurrently: the upstream
// holds every member's call unanswered until several are waiting at
// once, which members run one after the other would never reach.
func TestBatchConcurrent(t *testing.T) {
	f := newFake(t, "slow", 1)
	spec := mainnet(f)
	cfg := braidConfig(t, nil, spec)
	// Every member must reach the upstream (100 calls, several held at
	// once): nothing is kept or merged.
	cfg.Cache.Backend = config.CacheOff
	b := startBraidConfig(t, cfg, spec)
	release := f.Hold("eth_getBalance")
	t.Cleanup(release)

	ids := make([]string, 100)
	var req, want strings.Builder
	req.WriteString("[")
	want.WriteString("[")
	for i := range ids {
		switch i % 4 {
		case 0:
			ids[i] = strconv.Itoa(i)
		case 1:
			ids[i] = `"id-` + strconv.Itoa(i) + `"`
		case 2:
			ids[i] = strconv.Itoa(i) + "e0"
		case 3:
			ids[i] = "1234567890123456789012345678901234567890" + strconv.Itoa(i)
		}
		if i > 0 {
			req.WriteString(",")
			want.WriteString(",")
		}
		// One address each: identical reads at one tip would be merged.
		fmt.Fprintf(&req, `{"jsonrpc":"2.0","id":%s,"method":"eth_getBalance","params":["0x%040x","latest"]}`, ids[i], i+1)
		fmt.Fprintf(&want, `{"jsonrpc":"2.0","id":%s,"result":"0xde0b6b3a7640000"}`, ids[i])
	}
	req.WriteString("]")
	want.WriteString("]")

	type answer struct {
		status int
		body   string
		err    error
	}
	done := make(chan answer, 1)
	go func() {
		res, err := http.Post(b.URL+"/", "application/json", strings.NewReader(req.String()))
		if err != nil {
			done <- answer{err: err}
			return
		}
		defer res.Body.Close()
		body, err := io.ReadAll(res.Body)
		done <- answer{res.StatusCode, string(body), err}
	}()
	const together = 8
	deadline := time.Now().Add(10 * time.Second) // a bound on a hang, not a timing
	for f.Held() < together {
		if time.Now().After(deadline) {
			t.Fatalf("at most %d member(s) waiting at the upstream at once: members do not run concurrently", f.Held())
		}
		time.Sleep(time.Millisecond)
	}
	release()
	a := <-done
	if a.err != nil || a.status != http.StatusOK {
		t.Fatalf("HTTP %d %s %v", a.status, a.body, a.err)
	}
	got := a.body
	var answers []rpcAnswer
	if err := json.Unmarshal([]byte(got), &answers); err != nil {
		t.Fatalf("answer is not an array: %v", err)
	}
	if len(answers) != 100 {
		t.Fatalf("%d answers, want 100", len(answers))
	}
	for i, a := range answers {
		if string(a.ID) != ids[i] {
			t.Errorf("answer %d: id %s, want %s", i, a.ID, ids[i])
		}
	}
	if got != want.String() {
		t.Errorf("batch answer differs\ngot  %.400s\nwant %.400s", got, want.String())
	}
	if n := f.Calls("eth_getBalance"); n != 100 {
		t.Errorf("upstream got %d calls, want 100", n)
	}
}

// TestUpstreamTimeoutFailsOver: an upstream slower than its own timeout is
// given up on and the call answered by the next.
func TestUpstreamTimeoutFailsOver(t *testing.T) {
	one, two := newFake(t, "one", 1), newFake(t, "two", 1)
	net := mainnet(one, two)
	cfg := braidConfig(t, nil, net)
	for i := range cfg.Networks[0].Upstreams {
		cfg.Networks[0].Upstreams[i].Timeout = 100 * time.Millisecond
	}
	b := startBraidConfig(t, cfg, net)
	// The one braid asks first turns slow.
	tr := setTrap("eth_getBalance", func(f *fakeUpstream) { f.SetLatency(time.Minute) }, one, two)

	for i := range 5 {
		a := b.call("/", "eth_getBalance", `["`+testAddr+`"]`)
		if a.Error != nil || string(a.Result) != `"0xde0b6b3a7640000"` {
			t.Errorf("call %d: %+v %s", i, a.Error, a.Result)
		}
	}
	if tr.Sprung() == nil {
		t.Error("the slow upstream was never tried: the test proves nothing")
	}
}

// TestRequestTimeout: when no upstream answers within request_timeout the
// client gets braid's timeout error, with its id.
func TestRequestTimeout(t *testing.T) {
	f := newFake(t, "stuck", 1)
	b := startBraid(t, func(l *config.Limits) { l.RequestTimeout = 200 * time.Millisecond }, mainnet(f))
	f.SetLatency(time.Minute)
	status, got := b.post("/", `{"jsonrpc":"2.0","id":"t","method":"eth_getCode","params":["0x52908400098527886e0f7030069857d2e4169ee7"]}`)
	want := `{"jsonrpc":"2.0","id":"t","error":{"code":-32042,"message":"request timed out before any upstream answered"}}`
	if status != http.StatusOK || got != want {
		t.Errorf("HTTP %d\ngot  %s\nwant %s", status, got, want)
	}
}

// TestAllUpstreamsFailed: when every upstream fails the client learns which
// were tried and how, by name and operator, never by URL (which may hold
// an API key).
func TestAllUpstreamsFailed(t *testing.T) {
	faults := []struct {
		name  string
		apply func(*fakeUpstream)
		text  string
	}{
		{"http 503", func(f *fakeUpstream) { f.SetStatus(http.StatusServiceUnavailable, "") }, "upstream HTTP error (HTTP 503)"},
		{"down", func(f *fakeUpstream) { f.SetDown(true) }, "transport error"},
	}
	for _, fault := range faults {
		t.Run(fault.name, func(t *testing.T) {
			p1, p2 := newFake(t, "p1", 1), newFake(t, "p2", 1)
			nets := []netSpec{mainnet(p1, p2)}
			cfg := braidConfig(t, nil, nets...)
			for i := range cfg.Networks[0].Upstreams {
				cfg.Networks[0].Upstreams[i].URL += "/v3/SECRETKEY"
			}
			b := startBraidConfig(t, cfg, nets...)
			fault.apply(p1)
			fault.apply(p2)

			status, body := b.post("/", `{"jsonrpc":"2.0","id":1,"method":"eth_getCode","params":["0x52908400098527886e0f7030069857d2e4169ee7"]}`)
			if status != http.StatusOK {
				t.Fatalf("HTTP %d %s", status, body)
			}
			if strings.Contains(body, "SECRETKEY") || strings.Contains(body, "/v3/") {
				t.Errorf("the answer shows an upstream URL: %s", body)
			}
			a := decodeAnswer(t, body)
			if a.Error == nil || a.Error.Code != -32041 || a.Error.Message != "every upstream tried failed" {
				t.Fatalf("got %s", body)
			}
			var data struct {
				Attempts []struct{ Upstream, Operator, Error string }
			}
			if err := json.Unmarshal(a.Error.Data, &data); err != nil {
				t.Fatalf("error data %s: %v", a.Error.Data, err)
			}
			// max_attempts (4) over two upstreams: each is tried, then
			// both again after a short back-off.
			if len(data.Attempts) != 4 {
				t.Fatalf("attempts %+v, want two rounds over both upstreams", data.Attempts)
			}
			seen := map[string]bool{}
			for _, at := range data.Attempts {
				seen[at.Upstream] = true
				if at.Operator != "op-"+at.Upstream || !strings.Contains(at.Error, fault.text) {
					t.Errorf("attempt %+v", at)
				}
			}
			if !seen["p1"] || !seen["p2"] {
				t.Errorf("attempts %+v", data.Attempts)
			}
		})
	}
}
