package gateway_test

// Routing through the executor: failover between upstreams, quarantine,
// timeouts, and what the client learns when every upstream failed.

import (
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/braidrpc/braid/internal/config"
	gt "github.com/braidrpc/braid/internal/gatewaytest"
	"github.com/braidrpc/braid/internal/upstream"
)

const testAddr = "0x52908400098527886e0f7030069857d2e4169ee7"

// TestFailover: the upstream braid tries first fails in one way or
// another; every call is still answered correctly, sequentially and
// concurrently.
func TestFailover(t *testing.T) {
	faults := []struct {
		name  string
		apply func(*gt.Fake)
	}{
		{"down", func(f *gt.Fake) { f.SetDown(true) }},
		{"http 503", func(f *gt.Fake) { f.SetStatus(http.StatusServiceUnavailable, "") }},
		{"http 429 with Retry-After", func(f *gt.Fake) { f.SetStatus(http.StatusTooManyRequests, "1") }},
		{"http 429 without Retry-After", func(f *gt.Fake) { f.SetStatus(http.StatusTooManyRequests, "") }},
		{"rpc -32603", func(f *gt.Fake) { f.SetErrorAnswer(`{"code":-32603,"message":"internal error"}`) }},
		{"rpc -32603 odd message", func(f *gt.Fake) { f.SetErrorAnswer(`{"code":-32603,"message":"boom"}`) }},
		{"rpc rate limited", func(f *gt.Fake) {
			f.SetErrorAnswer(`{"code":-32005,"message":"daily request count exceeded, request rate limited"}`)
		}},
		{"rpc header not found", func(f *gt.Fake) { f.SetErrorAnswer(`{"code":-32000,"message":"header not found"}`) }},
		{"http 200 not json-rpc", func(f *gt.Fake) { f.Answer("eth_getBalance", `"nothing":1`) }},
	}
	// The members of a batch are calls of their own here (the server
	// joins their answers).
	calls := []struct{ body, want string }{
		{`{"jsonrpc":"2.0","id":1,"method":"eth_getBalance","params":["` + testAddr + `","latest"]}`,
			`{"jsonrpc":"2.0","id":1,"result":"0xde0b6b3a7640000"}`},
		{`{"jsonrpc":"2.0","id":"b","method":"eth_getBlockByNumber","params":["0x10",false]}`,
			`{"jsonrpc":"2.0","id":"b","result":` + gt.BlockResult + `}`},
		{`{"jsonrpc":"2.0","id":1,"method":"eth_getBalance","params":["` + testAddr + `"]}`,
			`{"jsonrpc":"2.0","id":1,"result":"0xde0b6b3a7640000"}`},
		{`{"jsonrpc":"2.0","id":2,"method":"eth_getCode","params":["` + testAddr + `"]}`,
			`{"jsonrpc":"2.0","id":2,"result":"0x"}`},
	}
	for _, fault := range faults {
		t.Run(fault.name, func(t *testing.T) {
			t.Parallel()
			one, two := gt.NewFake(t, "one", 1), gt.NewFake(t, "two", 1)
			h := gt.Start(t, nil, gt.Mainnet(one, two))
			tr := gt.SetTrap("eth_getBalance", fault.apply, one, two)

			var mu sync.Mutex
			failures := 0
			check := func(i int) {
				c := calls[i%len(calls)]
				if got := h.Answer(c.body); got != c.want {
					mu.Lock()
					failures++
					if failures <= 5 {
						t.Errorf("call %d:\ngot  %s\nwant %s", i, got, c.want)
					}
					mu.Unlock()
				}
			}
			for i := range 100 {
				check(i)
			}
			var wg sync.WaitGroup
			for w := range 10 {
				wg.Go(func() {
					for i := range 10 {
						check(w*10 + i)
					}
				})
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
	good, wrong := gt.NewFake(t, "good", 1), gt.NewFake(t, "wrong", 10)
	// Listed first, so it would be the first choice if it were usable.
	h := gt.Start(t, nil, gt.Mainnet(wrong, good))

	st, reason := h.GW.Network("mainnet").Upstreams()[0].State()
	if st != upstream.Quarantined || !strings.Contains(reason, "chain 10") {
		t.Errorf("wrong-chain upstream: state %s (%s)", st, reason)
	}
	ok, health := h.GW.Health()
	if hn := health["mainnet"]; !ok || hn.Usable != 1 || hn.Upstreams != 2 {
		t.Errorf("health: ok %v %+v", ok, hn)
	}

	bodies := []string{
		`{"jsonrpc":"2.0","id":1,"method":"eth_getCode","params":["0x52908400098527886e0f7030069857d2e4169ee7"]}`,
		`{"jsonrpc":"2.0","id":2,"method":"eth_getBalance","params":["` + testAddr + `","latest"]}`,
		`{"jsonrpc":"2.0","id":3,"method":"foo_bar"}`, // fails over to every usable upstream
		`{"jsonrpc":"2.0","id":4,"method":"net_version"}`,
		`{"jsonrpc":"2.0","id":5,"method":"eth_newBlockFilter"}`,
		`{"jsonrpc":"2.0","id":6,"method":"eth_sendRawTransaction","params":["0x1234"]}`,
		`{"jsonrpc":"2.0","id":7,"method":"eth_chainId"}`,
		`{"jsonrpc":"2.0","id":8,"method":"eth_getCode","params":["` + testAddr + `"]}`,
		`{"jsonrpc":"2.0","method":"eth_blockNumber"}`,
	}
	for range 5 {
		for _, body := range bodies {
			h.Exec(body)
		}
	}
	if got := good.Calls("foo_bar"); got != 5 {
		t.Errorf("good upstream got %d foo_bar calls, want 5", got)
	}
	if calls := wrong.AllCalls(); len(calls) != 0 {
		t.Errorf("the quarantined upstream was sent %v", calls)
	}
}

// TestUpstreamTimeoutFailsOver: an upstream slower than its own timeout is
// given up on and the call answered by the next.
func TestUpstreamTimeoutFailsOver(t *testing.T) {
	one, two := gt.NewFake(t, "one", 1), gt.NewFake(t, "two", 1)
	net := gt.Mainnet(one, two)
	cfg := gt.Config(t, nil, net)
	for i := range cfg.Networks[0].Upstreams {
		cfg.Networks[0].Upstreams[i].Timeout = 100 * time.Millisecond
	}
	h := gt.StartConfig(t, cfg, net)
	// The one braid asks first turns slow.
	tr := gt.SetTrap("eth_getBalance", func(f *gt.Fake) { f.SetLatency(time.Minute) }, one, two)

	for i := range 5 {
		a := h.Call("eth_getBalance", `["`+testAddr+`"]`)
		if a.Error != nil || string(a.Result) != gt.Balance {
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
	f := gt.NewFake(t, "stuck", 1)
	h := gt.Start(t, func(l *config.Limits) { l.RequestTimeout = 200 * time.Millisecond }, gt.Mainnet(f))
	f.SetLatency(time.Minute)
	got := h.Answer(`{"jsonrpc":"2.0","id":"t","method":"eth_getCode","params":["0x52908400098527886e0f7030069857d2e4169ee7"]}`)
	if want := `{"jsonrpc":"2.0","id":"t","error":{"code":-32042,"message":"request timed out before any upstream answered"}}`; got != want {
		t.Errorf("\ngot  %s\nwant %s", got, want)
	}
}

// TestAllUpstreamsFailed: when every upstream fails the client learns which
// were tried and how, by name and operator, never by URL (which may hold
// an API key).
func TestAllUpstreamsFailed(t *testing.T) {
	faults := []struct {
		name  string
		apply func(*gt.Fake)
		text  string
	}{
		{"http 503", func(f *gt.Fake) { f.SetStatus(http.StatusServiceUnavailable, "") }, "upstream HTTP error (HTTP 503)"},
		{"down", func(f *gt.Fake) { f.SetDown(true) }, "transport error"},
	}
	for _, fault := range faults {
		t.Run(fault.name, func(t *testing.T) {
			p1, p2 := gt.NewFake(t, "p1", 1), gt.NewFake(t, "p2", 1)
			net := gt.Mainnet(p1, p2)
			cfg := gt.Config(t, nil, net)
			for i := range cfg.Networks[0].Upstreams {
				cfg.Networks[0].Upstreams[i].URL += "/v3/SECRETKEY"
			}
			h := gt.StartConfig(t, cfg, net)
			fault.apply(p1)
			fault.apply(p2)

			body := h.Answer(`{"jsonrpc":"2.0","id":1,"method":"eth_getCode","params":["0x52908400098527886e0f7030069857d2e4169ee7"]}`)
			if strings.Contains(body, "SECRETKEY") || strings.Contains(body, "/v3/") {
				t.Errorf("the answer shows an upstream URL: %s", body)
			}
			a := gt.DecodeAnswer(t, body)
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
