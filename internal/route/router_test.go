package route

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/braidrpc/braid/internal/clock"
	"github.com/braidrpc/braid/internal/config"
	"github.com/braidrpc/braid/internal/jsonrpc"
	"github.com/braidrpc/braid/internal/upstream"
)

// fake is a scripted upstream: answer decides each non-chain-id call.
type fake struct {
	calls  atomic.Int64
	mu     sync.Mutex
	answer func(method string) (status int, body string)
}

func (f *fake) set(a func(string) (int, string)) {
	f.mu.Lock()
	f.answer = a
	f.mu.Unlock()
}

func (f *fake) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Method string `json:"method"`
	}
	b, _ := io.ReadAll(r.Body)
	_ = json.Unmarshal(b, &req)
	if req.Method == "eth_chainId" {
		io.WriteString(w, `{"jsonrpc":"2.0","id":1,"result":"0x1"}`)
		return
	}
	f.calls.Add(1)
	f.mu.Lock()
	a := f.answer
	f.mu.Unlock()
	status, body := a(req.Method)
	if status == -1 {
		c, _, _ := w.(http.Hijacker).Hijack()
		c.Close()
		return
	}
	if status == 429 {
		w.Header().Set("Retry-After", "10")
	}
	w.WriteHeader(status)
	io.WriteString(w, body)
}

func ok(result string) func(string) (int, string) {
	return func(string) (int, string) { return 200, `{"jsonrpc":"2.0","id":1,"result":` + result + `}` }
}

func rpcErr(code int, msg string) func(string) (int, string) {
	return func(string) (int, string) {
		b, _ := json.Marshal(map[string]any{"jsonrpc": "2.0", "id": 1, "error": map[string]any{"code": code, "message": msg, "data": "0x01"}})
		return 200, string(b)
	}
}

func status(code int) func(string) (int, string) {
	return func(string) (int, string) { return code, "" }
}

type harness struct {
	clock  *clock.Fake
	fakes  []*fake
	ups    []*upstream.Upstream
	router *Router
}

// newHarness starts n scripted upstreams, verified, in a router. Latency
// is measured on the fake clock, so all start equal (unmeasured): the
// test sets their order by recording successes.
func newHarness(t *testing.T, n int, mod func(i int, c *config.Upstream)) *harness {
	t.Helper()
	h := &harness{clock: clock.NewFake(time.Unix(1000, 0))}
	for i := 0; i < n; i++ {
		f := &fake{answer: ok(`"0x1"`)}
		srv := httptest.NewServer(f)
		t.Cleanup(srv.Close)
		cfg := config.Upstream{Name: "u" + string(rune('1'+i)), Operator: "op" + string(rune('1'+i)), URL: srv.URL + "/KEY", Timeout: 2 * time.Second}
		if mod != nil {
			mod(i, &cfg)
		}
		u := upstream.New(cfg, upstream.Options{Network: "test", Clock: h.clock})
		if err := u.Verify(context.Background(), 1); err != nil {
			t.Fatal(err)
		}
		h.fakes = append(h.fakes, f)
		h.ups = append(h.ups, u)
	}
	// Rank u1 < u2 < … by latency so the order of tries is known.
	for i, u := range h.ups {
		u.Health().Success("", time.Duration(i+1)*time.Millisecond)
	}
	h.router = New(h.ups, Options{Network: "test", MaxAttempts: 4, Clock: h.clock, ProbeShare: -1})
	return h
}

// autoAdvance moves the fake clock forward whenever the router waits on it
// (retry back-off, budget waits), for tests about outcomes, not timing.
func (h *harness) autoAdvance(t *testing.T) {
	stop := make(chan struct{})
	t.Cleanup(func() { close(stop) })
	go func() {
		for {
			select {
			case <-stop:
				return
			case <-time.After(200 * time.Microsecond):
				if h.clock.Waiters() > 0 {
					h.clock.Advance(50 * time.Millisecond)
				}
			}
		}
	}()
}

func (h *harness) do(t *testing.T) (*Result, error) {
	t.Helper()
	return h.router.Do(context.Background(), Call{Method: "eth_getBalance", Params: json.RawMessage(`["0x0000000000000000000000000000000000000001","latest"]`)})
}

func TestFailoverOnNodeFailures(t *testing.T) {
	for name, first := range map[string]func(string) (int, string){
		"HTTP 503":          status(503),
		"HTTP 500":          status(500),
		"HTTP 429":          status(429),
		"connection closed": func(string) (int, string) { return -1, "" },
		"internal error":    rpcErr(-32603, "internal error"),
		"missing trie node": rpcErr(-32000, "missing trie node abc"),
		"rate limited":      rpcErr(-32005, "limit exceeded"),
		"not JSON":          func(string) (int, string) { return 200, "<html>" },
	} {
		t.Run(name, func(t *testing.T) {
			h := newHarness(t, 2, nil)
			h.fakes[0].set(first)
			h.fakes[1].set(ok(`"0x2a"`))
			res, err := h.do(t)
			if err != nil {
				t.Fatal(err)
			}
			if string(res.Response.Result) != `"0x2a"` || res.Upstream != h.ups[1] || res.Attempts != 2 {
				t.Fatalf("result %s from %s after %d attempts", res.Response.Result, res.Upstream.Name, res.Attempts)
			}
		})
	}
}

func TestNoFailoverOnAnswers(t *testing.T) {
	for name, first := range map[string]func(string) (int, string){
		"revert":         rpcErr(3, "execution reverted"),
		"invalid params": rpcErr(-32602, "invalid argument 0"),
		"null":           ok("null"),
		"empty list":     ok("[]"),
		"empty code":     ok(`"0x"`),
		"nonce too low":  rpcErr(-32000, "nonce too low"),
	} {
		t.Run(name, func(t *testing.T) {
			h := newHarness(t, 2, nil)
			h.fakes[0].set(first)
			res, err := h.do(t)
			if err != nil {
				t.Fatal(err)
			}
			if res.Upstream != h.ups[0] || h.fakes[1].calls.Load() != 0 {
				t.Fatalf("answer from %s; second upstream got %d calls", res.Upstream.Name, h.fakes[1].calls.Load())
			}
			if e := res.Response.Error; e != nil && string(e.Data) != `"0x01"` {
				t.Fatalf("error data changed: %s", e.Data)
			}
		})
	}
}

func TestAllUnsupportedReturnsTheUpstreamsError(t *testing.T) {
	h := newHarness(t, 3, nil)
	for _, f := range h.fakes {
		f.set(rpcErr(-32601, "the method foo_bar does not exist/is not available"))
	}
	res, err := h.do(t)
	if err != nil {
		t.Fatal(err)
	}
	if res.Response.Error == nil || res.Response.Error.Code != -32601 || res.Attempts != 3 {
		t.Fatalf("got %+v after %d attempts", res.Response.Error, res.Attempts)
	}
}

func TestAllFailedIsAFailureNamingUpstreamsNotURLs(t *testing.T) {
	h := newHarness(t, 2, nil)
	h.autoAdvance(t)
	for _, f := range h.fakes {
		f.set(status(503))
	}
	_, err := h.do(t)
	var f *Failure
	// Two upstreams, four attempts: a second round after a short back-off.
	if !errors.As(err, &f) || f.Code != jsonrpc.CodeUpstreamsFailed || len(f.Attempts) != 4 {
		t.Fatalf("err = %#v", err)
	}
	je := jsonrpc.FromError(err)
	data := string(je.Data)
	if !strings.Contains(data, `"upstream":"u1"`) || !strings.Contains(data, `"operator":"op2"`) {
		t.Fatalf("data %s should name upstreams and operators", data)
	}
	if strings.Contains(data, "KEY") || strings.Contains(data, "127.0.0.1") {
		t.Fatalf("data shows URLs: %s", data)
	}
	for _, u := range h.ups {
		if u.Health().Snapshot("").Failures != 2 {
			t.Fatalf("%s failures = %d", u.Name, u.Health().Snapshot("").Failures)
		}
	}
}

func TestMaxAttemptsIsRespected(t *testing.T) {
	h := newHarness(t, 4, nil)
	h.router.maxAttempts = 2
	for _, f := range h.fakes {
		f.set(status(503))
	}
	_, err := h.do(t)
	var f *Failure
	if !errors.As(err, &f) || len(f.Attempts) != 2 {
		t.Fatalf("err = %v", err)
	}
	if h.fakes[2].calls.Load()+h.fakes[3].calls.Load() != 0 {
		t.Fatal("more than max_attempts upstreams were tried")
	}
}

func TestNoUsableUpstream(t *testing.T) {
	h := newHarness(t, 2, nil)
	for _, u := range h.ups {
		u.Quarantine("test")
	}
	_, err := h.do(t)
	if je := jsonrpc.FromError(err); je.Code != jsonrpc.CodeUnavailable {
		t.Fatalf("err = %v", err)
	}
}

func TestThrottledUpstreamIsAvoidedUntilRetryAfter(t *testing.T) {
	h := newHarness(t, 2, nil)
	h.fakes[0].set(status(429)) // Retry-After: 10
	if _, err := h.do(t); err != nil {
		t.Fatal(err)
	}
	h.fakes[0].set(ok(`"0x1"`))
	before := h.fakes[0].calls.Load()
	for i := 0; i < 5; i++ {
		if _, err := h.do(t); err != nil {
			t.Fatal(err)
		}
	}
	if h.fakes[0].calls.Load() != before {
		t.Fatal("throttled upstream was asked before its Retry-After passed")
	}
	h.clock.Advance(11 * time.Second)
	if s := h.ups[0].Health().Snapshot(""); s.Throttled || s.ThrottleRate == 0 {
		t.Fatalf("after Retry-After: throttled %v, throttle rate %.2f (should still weigh on the score)", s.Throttled, s.ThrottleRate)
	}
	// Once the throttle has decayed, u1 (the faster) is preferred again.
	// (The fake clock measured u2's answers as instant; say what they took.)
	for i := 0; i < 10; i++ {
		h.ups[1].Health().Success("", 20*time.Millisecond)
	}
	h.clock.Advance(2 * time.Minute)
	res, err := h.do(t)
	if err != nil || res.Upstream != h.ups[0] {
		t.Fatalf("after Retry-After: %v from %v", err, res)
	}
	if h.ups[0].Health().Snapshot("").Failures != 0 {
		t.Fatal("a 429 counted as a health failure")
	}
}

func TestRateBudgetSpillsToOtherUpstreams(t *testing.T) {
	h := newHarness(t, 2, func(i int, c *config.Upstream) {
		if i == 0 {
			c.RPS, c.Burst = 1, 2
		}
	})
	for i := 0; i < 10; i++ {
		if _, err := h.do(t); err != nil {
			t.Fatal(err)
		}
	}
	if got := h.fakes[0].calls.Load(); got != 2 {
		t.Fatalf("budgeted upstream got %d calls with burst 2 and a frozen clock, want 2", got)
	}
	if got := h.fakes[1].calls.Load(); got != 8 {
		t.Fatalf("other upstream got %d calls, want 8", got)
	}
}

func TestRateBudgetWaitsWhenEveryUpstreamIsOut(t *testing.T) {
	h := newHarness(t, 1, func(i int, c *config.Upstream) { c.RPS, c.Burst = 2, 1 })
	if _, err := h.do(t); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		_, err := h.do(t)
		done <- err
	}()
	// Wait until the router is parked on the clock, then release it.
	for h.clock.Waiters() == 0 {
		time.Sleep(time.Millisecond)
	}
	select {
	case err := <-done:
		t.Fatalf("call finished before a token was due: %v", err)
	default:
	}
	h.clock.Advance(500 * time.Millisecond)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if got := h.fakes[0].calls.Load(); got != 2 {
		t.Fatalf("calls = %d, want 2", got)
	}
}

func TestCancelledRequestLeavesHealthAlone(t *testing.T) {
	h := newHarness(t, 1, nil)
	release := make(chan struct{})
	h.fakes[0].set(func(string) (int, string) {
		<-release
		return 200, `{"jsonrpc":"2.0","id":1,"result":"0x1"}`
	})
	defer close(release)
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		for h.fakes[0].calls.Load() == 0 {
			time.Sleep(time.Millisecond)
		}
		cancel()
	}()
	_, err := h.router.Do(ctx, Call{Method: "eth_blockNumber"})
	if je := jsonrpc.FromError(err); je.Code != jsonrpc.CodeTimeout {
		t.Fatalf("err = %v", err)
	}
	if s := h.ups[0].Health().Snapshot(""); s.Failures != 0 {
		t.Fatalf("a cancelled attempt counted as a failure: %+v", s)
	}
}

func TestOnlyPinsTheUpstream(t *testing.T) {
	h := newHarness(t, 2, nil)
	h.autoAdvance(t)
	h.fakes[1].set(status(503))
	_, err := h.router.Do(context.Background(), Call{Method: "eth_getFilterChanges", Only: h.ups[1]})
	if err == nil {
		t.Fatal("a call pinned to a failing upstream succeeded elsewhere")
	}
	if h.fakes[0].calls.Load() != 0 {
		t.Fatal("pinned call reached another upstream")
	}
}

func TestAcceptTurnsAnErrorIntoAResult(t *testing.T) {
	h := newHarness(t, 1, nil)
	h.fakes[0].set(rpcErr(-32000, "already known"))
	res, err := h.router.Do(context.Background(), Call{
		Method: "eth_sendRawTransaction",
		Accept: func(_ int, e *jsonrpc.Error) (json.RawMessage, bool) {
			return json.RawMessage(`"0xhash"`), e.Message == "already known"
		},
	})
	if err != nil || string(res.Response.Result) != `"0xhash"` {
		t.Fatalf("%v %v", res, err)
	}
}
