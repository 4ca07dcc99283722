package server_test

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/braidrpc/braid/internal/await"
	"github.com/braidrpc/braid/internal/config"
	"github.com/braidrpc/braid/internal/gateway"
	"github.com/braidrpc/braid/internal/server"
	"github.com/braidrpc/braid/internal/upstream"
)

// Fixed answers of the fake upstreams. Transcripts in testdata/ spell them
// out byte for byte.
const (
	// revertData is the ABI encoding of Error("nope").
	revertData = `"0x08c379a0` +
		`0000000000000000000000000000000000000000000000000000000000000020` +
		`0000000000000000000000000000000000000000000000000000000000000004` +
		`6e6f706500000000000000000000000000000000000000000000000000000000"`
	revertError = `{"code":3,"message":"execution reverted: nope","data":` + revertData + `}`

	callResult = `"0x000000000000000000000000000000000000000000000000000000000000002a"`

	// blockResult is the eth_getBlockByNumber result as the fake writes it:
	// odd spacing, unusual key order and escapes that any re-encoding
	// would change. braid must pass it through untouched.
	blockResult = `{"number":"0x10" ,"hash" : "0x88df016429689c079f3b2f6ad39fa052532c56795b733da78a91ebe6a713944b",` +
		`"transactions":[ ],"parentHash":"0x0000000000000000000000000000000000000000000000000000000000000000",` +
		`"extraData":"0x","note":"\u0062raid\/fake","size":1e3,"uncles" :[]}`

	sendRawError = `{"code":-32000,"message":"nonce too low"}`
)

// fakeUpstream is a JSON-RPC provider on loopback with deterministic
// answers and switches for the faults braid must survive.
type fakeUpstream struct {
	name    string
	chainID uint64
	srv     *httptest.Server

	mu          sync.Mutex
	down        bool              // hijack and close every connection
	status      int               // non-zero: answer with this HTTP status
	retryAfter  string            // Retry-After header sent with status
	latency     time.Duration     // before answering
	errAnswer   string            // raw error object for every method but eth_chainId
	answers     map[string]string // method → raw `"result":…` or `"error":…` member
	calls       map[string]int
	params      map[string][]string
	inflight    int
	maxInflight int
	filters     map[string]bool
	nextFilter  int
	arrived     chan string   // when set, receives each method as it arrives
	advanced    bool          // the chain has grown by block 0x11 (Advance)
	holdMethod  string        // requests for it wait for hold to close
	hold        chan struct{} // nil: nothing held
	held        int           // requests waiting on hold now
	trap        *trap         // when set, may make this fake faulty on a call

	// A provider's capacity: more than capacity calls of capMethod at
	// once get HTTP 429 (counted in rejected).
	capMethod   string
	capacity    int
	capInflight int
	capPeak     int
	rejected    int
	capGivenUp  int // capped calls the client gave up on before the answer
}

// newFake starts a fake upstream serving chainID. It is closed when the
// test ends.
func newFake(t testing.TB, name string, chainID uint64) *fakeUpstream {
	t.Helper()
	f := &fakeUpstream{
		name:    name,
		chainID: chainID,
		answers: make(map[string]string),
		calls:   make(map[string]int),
		params:  make(map[string][]string),
		filters: make(map[string]bool),
	}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeUpstream) URL() string { return f.srv.URL }

// SetDown makes every request end with the connection closed, no answer.
func (f *fakeUpstream) SetDown(down bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.down = down
}

// SetStatus makes every request get HTTP status (0 restores 200), with a
// Retry-After header when retryAfter is not empty.
func (f *fakeUpstream) SetStatus(status int, retryAfter string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.status, f.retryAfter = status, retryAfter
}

// SetLatency delays every answer by d.
func (f *fakeUpstream) SetLatency(d time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.latency = d
}

// SetErrorAnswer makes every method but eth_chainId answer with the raw
// JSON-RPC error object e ("" restores normal answers).
func (f *fakeUpstream) SetErrorAnswer(e string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.errAnswer = e
}

// Answer overrides method's answer with a raw member, e.g.
// `"error":{"code":-32000,"message":"already known"}`.
func (f *fakeUpstream) Answer(method, member string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.answers[method] = member
}

// trap makes whichever of a set of fakes first gets a call for method
// faulty, before it answers that call: the upstream braid tries first,
// whatever its ranking (which a head poll's measured latency decides
// between equally good upstreams).
type trap struct {
	method string
	fault  func(*fakeUpstream)
	once   sync.Once
	mu     sync.Mutex
	sprung *fakeUpstream
}

// setTrap arms a trap on fakes.
func setTrap(method string, fault func(*fakeUpstream), fakes ...*fakeUpstream) *trap {
	tr := &trap{method: method, fault: fault}
	for _, f := range fakes {
		f.mu.Lock()
		f.trap = tr
		f.mu.Unlock()
	}
	return tr
}

// spring makes f faulty if this is the first call for the trap's method.
func (tr *trap) spring(f *fakeUpstream, method string) {
	if tr == nil || method != tr.method {
		return
	}
	tr.once.Do(func() {
		tr.fault(f)
		tr.mu.Lock()
		tr.sprung = f
		tr.mu.Unlock()
	})
}

// Sprung is the fake the trap made faulty (nil: none got the call yet).
func (tr *trap) Sprung() *fakeUpstream {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	return tr.sprung
}

// Hold makes requests for method wait, unanswered, until release is
// called (or the request is cancelled); Held counts those waiting.
// release may be called more than once.
func (f *fakeUpstream) Hold(method string) (release func()) {
	ch := make(chan struct{})
	f.mu.Lock()
	f.holdMethod, f.hold = method, ch
	f.mu.Unlock()
	return sync.OnceFunc(func() {
		f.mu.Lock()
		f.hold = nil
		f.mu.Unlock()
		close(ch)
	})
}

// Held is how many requests are waiting for a Hold to be released.
func (f *fakeUpstream) Held() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.held
}

// Arrivals returns a channel receiving each method as a request for it
// arrives (sends never block; extra arrivals are dropped).
func (f *fakeUpstream) Arrivals() <-chan string {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.arrived = make(chan string, 64)
	return f.arrived
}

// Calls returns how many requests for method arrived since the last reset.
func (f *fakeUpstream) Calls(method string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls[method]
}

// AllCalls returns a copy of the per-method counters.
func (f *fakeUpstream) AllCalls() map[string]int {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make(map[string]int, len(f.calls))
	for k, v := range f.calls {
		out[k] = v
	}
	return out
}

// Params returns the raw params of every request for method, in order.
func (f *fakeUpstream) Params(method string) []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.params[method]...)
}

// SetCapacity makes the fake serve at most n calls of method at once;
// more get HTTP 429, as a provider's concurrency limit answers.
func (f *fakeUpstream) SetCapacity(method string, n int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.capMethod, f.capacity = method, n
}

// Capacity reports the most calls of the capped method served at once,
// how many were refused for passing the capacity, and how many the client
// gave up on (cancelled) while the fake was serving them: the fake learns
// of that only when its server notices the closed connection, so for a
// moment such a call still counts against the capacity.
func (f *fakeUpstream) Capacity() (peak, rejected, givenUp int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.capPeak, f.rejected, f.capGivenUp
}

// MaxInflight is the most requests the fake was serving at once.
func (f *fakeUpstream) MaxInflight() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.maxInflight
}

// ResetCalls zeroes the counters (e.g. after braid verified chain ids).
func (f *fakeUpstream) ResetCalls() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = make(map[string]int)
	f.params = make(map[string][]string)
	f.maxInflight = 0
}

type fakeRequest struct {
	ID     json.RawMessage `json:"id"`
	Method string          `json:"method"`
	Params json.RawMessage `json:"params"`
}

func (f *fakeUpstream) serve(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return
	}
	var req fakeRequest
	if err := json.Unmarshal(body, &req); err != nil {
		http.Error(w, `{"jsonrpc":"2.0","id":null,"error":{"code":-32700,"message":"parse error"}}`, http.StatusOK)
		return
	}

	f.mu.Lock()
	tr := f.trap
	f.mu.Unlock()
	tr.spring(f, req.Method)

	f.mu.Lock()
	f.calls[req.Method]++
	f.params[req.Method] = append(f.params[req.Method], string(req.Params))
	f.inflight++
	f.maxInflight = max(f.maxInflight, f.inflight)
	down, status, retryAfter, latency, errAnswer := f.down, f.status, f.retryAfter, f.latency, f.errAnswer
	capped := req.Method == f.capMethod && f.capacity > 0
	if capped {
		f.capInflight++
		if f.capInflight > f.capacity {
			f.rejected++
			status = http.StatusTooManyRequests
		} else {
			f.capPeak = max(f.capPeak, f.capInflight)
		}
	}
	if f.arrived != nil {
		select {
		case f.arrived <- req.Method:
		default:
		}
	}
	hold := f.hold
	if req.Method != f.holdMethod {
		hold = nil
	}
	f.mu.Unlock()
	defer func() {
		f.mu.Lock()
		f.inflight--
		if capped {
			f.capInflight--
		}
		f.mu.Unlock()
	}()

	if hold != nil {
		f.mu.Lock()
		f.held++
		f.mu.Unlock()
		select {
		case <-hold:
		case <-r.Context().Done():
		}
		f.mu.Lock()
		f.held--
		f.mu.Unlock()
	}

	if latency > 0 {
		select {
		case <-time.After(latency):
		case <-r.Context().Done():
			if capped {
				f.mu.Lock()
				f.capGivenUp++
				f.mu.Unlock()
			}
			return
		}
	}
	if down {
		if hj, ok := w.(http.Hijacker); ok {
			if conn, _, err := hj.Hijack(); err == nil {
				conn.Close()
				return
			}
		}
		panic(http.ErrAbortHandler)
	}
	if status != 0 {
		if retryAfter != "" {
			w.Header().Set("Retry-After", retryAfter)
		}
		http.Error(w, http.StatusText(status), status)
		return
	}
	id := string(req.ID)
	if id == "" {
		id = "null"
	}
	var out string
	if member, ok := aboveHead(req, f.head()); ok && errAnswer == "" && f.override(req.Method) == "" {
		out = `{"jsonrpc":"2.0","id":` + id + `,` + member + "}\n"
	} else if result, ok := f.blockAnswer(req); ok && errAnswer == "" && f.override(req.Method) == "" {
		// Result first, odd spacing: only a byte-for-byte pass-through
		// keeps this shape.
		out = `{"jsonrpc":"2.0", "result" : ` + result + ` , "id":` + id + "}\n"
	} else {
		member := f.answer(req, errAnswer)
		out = `{"jsonrpc":"2.0","id":` + id + `,` + member + "}\n"
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = io.WriteString(w, out)
}

func (f *fakeUpstream) override(method string) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.answers[method]
}

// answer returns the raw result or error member for req.
func (f *fakeUpstream) answer(req fakeRequest, errAnswer string) string {
	if req.Method == "eth_chainId" {
		return `"result":"0x` + strconv.FormatUint(f.chainID, 16) + `"`
	}
	if errAnswer != "" {
		return `"error":` + errAnswer
	}
	if o := f.override(req.Method); o != "" {
		return o
	}
	var args []json.RawMessage
	_ = json.Unmarshal(req.Params, &args)
	switch req.Method {
	case "net_version":
		return `"result":"` + strconv.FormatUint(f.chainID, 10) + `"`
	case "web3_clientVersion":
		return `"result":"fake/` + f.name + `"`
	case "eth_blockNumber":
		return `"result":"0x10"`
	case "eth_syncing":
		return `"result":false`
	case "eth_getBalance":
		return `"result":"0xde0b6b3a7640000"`
	case "eth_getTransactionByHash":
		return `"result":null`
	case "eth_getLogs":
		return `"result":[]`
	case "eth_getCode":
		return `"result":"0x"`
	case "eth_call":
		var call struct {
			Data  string `json:"data"`
			Input string `json:"input"`
		}
		if len(args) > 0 {
			_ = json.Unmarshal(args[0], &call)
		}
		if call.Data == "0xdead" || call.Input == "0xdead" {
			return `"error":` + revertError
		}
		return `"result":` + callResult
	case "eth_sendRawTransaction":
		return `"error":` + sendRawError
	case "eth_newFilter", "eth_newBlockFilter", "eth_newPendingTransactionFilter":
		f.mu.Lock()
		f.nextFilter++
		id := fmt.Sprintf("0x%s%04x", hex.EncodeToString([]byte(f.name)), f.nextFilter)
		f.filters[id] = true
		f.mu.Unlock()
		return `"result":"` + id + `"`
	case "eth_getFilterChanges", "eth_getFilterLogs", "eth_uninstallFilter":
		var id string
		if len(args) == 1 {
			_ = json.Unmarshal(args[0], &id)
		}
		f.mu.Lock()
		known := f.filters[id]
		if req.Method == "eth_uninstallFilter" {
			delete(f.filters, id)
		}
		f.mu.Unlock()
		switch {
		case req.Method == "eth_uninstallFilter":
			return `"result":` + strconv.FormatBool(known)
		case known:
			return `"result":[]`
		}
		return `"error":{"code":-32000,"message":"filter not found"}`
	}
	msg, _ := json.Marshal("the method " + req.Method + " does not exist/is not available")
	return `"error":{"code":-32601,"message":` + string(msg) + `}`
}

// netSpec describes one network of a test configuration.
type netSpec struct {
	name    string
	chainID uint64
	methods config.Methods
	fakes   []*fakeUpstream
}

// braidConfig builds a validated configuration for nets, with the default
// limits changed by limits (when not nil).
func braidConfig(t testing.TB, limits func(*config.Limits), nets ...netSpec) *config.Config {
	t.Helper()
	cfg := config.Default()
	cfg.Listen = "127.0.0.1:0"
	if limits != nil {
		limits(&cfg.Limits)
	}
	for _, n := range nets {
		nc := config.Network{Name: n.name, ChainID: n.chainID, Methods: n.methods}
		for _, f := range n.fakes {
			nc.Upstreams = append(nc.Upstreams, config.Upstream{
				Name:     f.name,
				URL:      f.URL(),
				Operator: "op-" + f.name,
			})
		}
		cfg.Networks = append(cfg.Networks, nc)
	}
	cfg.ApplyDefaults()
	if err := cfg.Validate(); err != nil {
		t.Fatalf("test configuration is invalid: %v", err)
	}
	return cfg
}

// braid is a running gateway and its HTTP front.
type braid struct {
	t     testing.TB
	cfg   *config.Config
	gw    *gateway.Gateway
	reg   *prometheus.Registry
	srv   *server.Server
	http  *httptest.Server
	URL   string
	fakes []*fakeUpstream
}

func testLogger() *slog.Logger {
	if os.Getenv("BRAID_TEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.DiscardHandler)
}

// startGateway builds and starts the gateway for cfg; it is stopped when the
// test ends.
func startGateway(t testing.TB, cfg *config.Config) (*gateway.Gateway, *prometheus.Registry) {
	t.Helper()
	reg := prometheus.NewRegistry()
	gw, err := gateway.New(cfg, gateway.Options{Version: "test", Logger: testLogger(), Registry: reg, ProbeShare: -1})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(func() {
		cancel()
		gw.Close()
	})
	gw.Start(ctx, 5*time.Second)
	return gw, reg
}

// startBraid runs braid over the fakes of nets and serves it on loopback.
// The fakes' counters are reset once braid has verified their chain ids,
// so tests count only the calls their own requests caused.
func startBraid(t testing.TB, limits func(*config.Limits), nets ...netSpec) *braid {
	t.Helper()
	return startBraidConfig(t, braidConfig(t, limits, nets...), nets...)
}

// startBraidConfig is startBraid for a configuration the test adjusted
// (e.g. an upstream's timeout); nets name the fakes it uses.
func startBraidConfig(t testing.TB, cfg *config.Config, nets ...netSpec) *braid {
	t.Helper()
	if err := cfg.Validate(); err != nil {
		t.Fatalf("test configuration is invalid: %v", err)
	}
	gw, reg := startGateway(t, cfg)
	srv := server.New(gw, server.Options{Limits: cfg.Limits, WebSocket: cfg.WebSocket, TrustedProxies: cfg.TrustedProxies, CORS: cfg.CORS,
		Logger: testLogger(), Gatherer: reg})
	hs := httptest.NewServer(srv)
	t.Cleanup(hs.Close)
	b := &braid{t: t, cfg: cfg, gw: gw, reg: reg, srv: srv, http: hs, URL: hs.URL}
	for _, n := range nets {
		b.fakes = append(b.fakes, n.fakes...)
	}
	servesTip(t, gw)
	for _, f := range b.fakes {
		f.ResetCalls()
	}
	return b
}

// servesTip waits (bounded) until every network that can have a tip
// serves one, polling its upstreams' heads meanwhile, so that a test sees
// braid as it runs, not in the moment before its first head poll (when
// it forwards eth_blockNumber and pins nothing): which of the two a test
// met depended on how fast it ran. gateway.Start waits for this too, but
// only for a while: on a loaded machine it may give up first. A network
// whose upstreams are all checked (none waits for its chain id) with too
// few usable operators for a tip (e.g. one serves another chain) gets
// none; one whose upstreams cannot even be checked (the test took them
// down) is the test's business.
func servesTip(t testing.TB, gw *gateway.Gateway) {
	t.Helper()
	for _, n := range gw.Networks() {
		checked := func() bool {
			for _, u := range n.Upstreams() {
				if st, _ := u.State(); st == upstream.Unverified {
					return false
				}
			}
			return true
		}
		done := await.Poll(await.Timeout, func() bool {
			if n.Tip().Known || (checked() && n.Usable() < n.Heads().MinOperators()) {
				return true
			}
			for _, u := range n.Upstreams() {
				if u.Usable() {
					_ = n.Heads().PollOnce(context.Background(), u) // failing: the test's business
				}
			}
			return n.Tip().Known
		})
		if !done && checked() {
			t.Fatalf("network %s serves no tip after polling its upstreams for %s", n.Name, await.Timeout)
		}
	}
}

// fake returns the fake upstream called name.
func (b *braid) fake(name string) *fakeUpstream {
	for _, f := range b.fakes {
		if f.name == name {
			return f
		}
	}
	b.t.Fatalf("no fake upstream %q", name)
	return nil
}

// calls sums the calls for method over every fake.
func (b *braid) calls(method string) int {
	n := 0
	for _, f := range b.fakes {
		n += f.Calls(method)
	}
	return n
}

// post sends body to path and returns the status and the response body.
func (b *braid) post(path, body string) (int, string) {
	b.t.Helper()
	return doRequest(b.t, http.MethodPost, b.URL+path, body)
}

// call sends a single JSON-RPC call and decodes the answer.
func (b *braid) call(path, method, params string) rpcAnswer {
	b.t.Helper()
	body := `{"jsonrpc":"2.0","id":1,"method":"` + method + `"`
	if params != "" {
		body += `,"params":` + params
	}
	body += "}"
	status, out := b.post(path, body)
	if status != http.StatusOK {
		b.t.Fatalf("%s: HTTP %d: %s", method, status, out)
	}
	return decodeAnswer(b.t, out)
}

func doRequest(t testing.TB, method, url, body string) (int, string) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer res.Body.Close()
	out, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatalf("%s %s: reading answer: %v", method, url, err)
	}
	return res.StatusCode, string(out)
}

// postRaw posts body to u; unlike braid.post it needs no testing.T, so
// goroutines may use it.
func postRaw(u, body string) (int, string, error) {
	res, err := http.Post(u, "application/json", strings.NewReader(body))
	if err != nil {
		return 0, "", err
	}
	defer res.Body.Close()
	out, err := io.ReadAll(res.Body)
	return res.StatusCode, string(out), err
}

// rpcAnswer is a decoded JSON-RPC answer.
type rpcAnswer struct {
	ID     json.RawMessage `json:"id"`
	Result json.RawMessage `json:"result"`
	Error  *struct {
		Code    int             `json:"code"`
		Message string          `json:"message"`
		Data    json.RawMessage `json:"data"`
	} `json:"error"`
}

func decodeAnswer(t testing.TB, body string) rpcAnswer {
	t.Helper()
	var a rpcAnswer
	if err := json.Unmarshal([]byte(body), &a); err != nil {
		t.Fatalf("answer %q is not a JSON-RPC object: %v", body, err)
	}
	return a
}

// mainnet returns a network spec "mainnet" (chain 1) over fakes.
func mainnet(fakes ...*fakeUpstream) netSpec {
	return netSpec{name: "mainnet", chainID: 1, fakes: fakes}
}
