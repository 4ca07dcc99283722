package braid

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/ethclient"
	"github.com/ethereum/go-ethereum/rpc"
)

// Behaviours of a fake braid replica.
const (
	failoverNodeOK       int32 = iota // answers eth_chainId and eth_blockNumber
	failoverNodeRPCError              // 200 with a JSON-RPC error for every call
	failoverNodeHang                  // holds the request until the client gives up
	// Any other value is an HTTP status to answer with.
)

const (
	failoverTestChainID     = 1337
	failoverTestBlockNumber = 0x10
)

// failoverNode is a minimal JSON-RPC server standing in for a braid replica.
type failoverNode struct {
	srv     *httptest.Server
	mode    atomic.Int32
	hits    atomic.Int64
	arrived chan struct{} // one value per request that reached a hanging node
	release chan struct{} // closed when the test ends

	mu      sync.Mutex
	paths   []string
	headers []http.Header
}

func newFailoverNode(t *testing.T) *failoverNode {
	t.Helper()
	n := &failoverNode{arrived: make(chan struct{}, 16), release: make(chan struct{})}
	n.srv = httptest.NewServer(http.HandlerFunc(n.serve))
	t.Cleanup(func() {
		close(n.release)
		n.srv.Close()
	})
	return n
}

// url is the node's endpoint with a path, like a braid network route.
func (n *failoverNode) url() string { return n.srv.URL + "/mainnet" }

func (n *failoverNode) serve(w http.ResponseWriter, r *http.Request) {
	n.hits.Add(1)
	n.mu.Lock()
	n.paths = append(n.paths, r.URL.RequestURI())
	n.headers = append(n.headers, r.Header.Clone())
	n.mu.Unlock()
	body, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	mode := n.mode.Load()
	switch mode {
	case failoverNodeOK, failoverNodeRPCError:
	case failoverNodeHang:
		select {
		case n.arrived <- struct{}{}:
		default:
		}
		select {
		case <-r.Context().Done():
		case <-n.release:
		}
		return
	default:
		http.Error(w, fmt.Sprintf(`{"jsonrpc":"2.0","id":null,"error":{"code":-32603,"message":"status %d"}}`, mode), int(mode))
		return
	}

	type request struct {
		ID     json.RawMessage `json:"id"`
		Method string          `json:"method"`
	}
	answer := func(req request) map[string]any {
		resp := map[string]any{"jsonrpc": "2.0", "id": req.ID}
		switch {
		case mode == failoverNodeRPCError:
			resp["error"] = map[string]any{"code": -32000, "message": "execution reverted"}
		case req.Method == "eth_chainId":
			resp["result"] = fmt.Sprintf("%#x", failoverTestChainID)
		case req.Method == "eth_blockNumber":
			resp["result"] = fmt.Sprintf("%#x", failoverTestBlockNumber)
		default:
			resp["error"] = map[string]any{"code": -32601, "message": "method not found"}
		}
		return resp
	}
	var out any
	if trimmed := bytes.TrimSpace(body); len(trimmed) > 0 && trimmed[0] == '[' {
		var reqs []request
		if err := json.Unmarshal(body, &reqs); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		resps := make([]map[string]any, len(reqs))
		for i, req := range reqs {
			resps[i] = answer(req)
		}
		out = resps
	} else {
		var req request
		if err := json.Unmarshal(body, &req); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		out = answer(req)
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(out)
}

func (n *failoverNode) lastRequest() (string, http.Header) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if len(n.paths) == 0 {
		return "", nil
	}
	return n.paths[len(n.paths)-1], n.headers[len(n.headers)-1]
}

// failoverClock is a settable clock for the cooldown.
type failoverClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *failoverClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *failoverClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// dialTestFailover dials the endpoints with a fake clock.
func dialTestFailover(t *testing.T, endpoints []string, opts FailoverOptions) (*rpc.Client, *failoverTransport, *failoverClock) {
	t.Helper()
	ft, err := newFailoverTransport(endpoints, opts)
	if err != nil {
		t.Fatal(err)
	}
	clk := &failoverClock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	ft.now = clk.Now
	c, err := dialFailoverTransport(context.Background(), ft, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c, ft, clk
}

func failoverURLs(nodes ...*failoverNode) []string {
	out := make([]string, len(nodes))
	for i, n := range nodes {
		out[i] = n.url()
	}
	return out
}

func failoverHits(nodes ...*failoverNode) []int64 {
	out := make([]int64, len(nodes))
	for i, n := range nodes {
		out[i] = n.hits.Load()
	}
	return out
}

func failoverMustChainID(t *testing.T, c *rpc.Client) {
	t.Helper()
	id, err := ethclient.NewClient(c).ChainID(context.Background())
	if err != nil {
		t.Fatalf("ChainID: %v", err)
	}
	if id.Cmp(big.NewInt(failoverTestChainID)) != 0 {
		t.Fatalf("ChainID = %v, want %d", id, failoverTestChainID)
	}
}

func TestFailoverSticksToFirstHealthy(t *testing.T) {
	a, b, c := newFailoverNode(t), newFailoverNode(t), newFailoverNode(t)
	client, _, _ := dialTestFailover(t, failoverURLs(a, b, c), FailoverOptions{
		Header: http.Header{"Authorization": {"Bearer gateway-token"}},
	})
	for range 20 {
		failoverMustChainID(t, client)
	}
	if got, want := failoverHits(a, b, c), []int64{20, 0, 0}; !slices.Equal(got, want) {
		t.Fatalf("hits = %v, want %v", got, want)
	}
	path, header := a.lastRequest()
	if path != "/mainnet" {
		t.Errorf("path = %q, want the endpoint's own /mainnet", path)
	}
	if got := header.Get("Authorization"); got != "Bearer gateway-token" {
		t.Errorf("Authorization = %q, want the configured header", got)
	}
	if got := header.Get("Content-Type"); got != "application/json" {
		t.Errorf("Content-Type = %q", got)
	}
}

func TestFailoverStatuses(t *testing.T) {
	for _, status := range []int{http.StatusServiceUnavailable, http.StatusBadGateway, http.StatusGatewayTimeout, http.StatusTooManyRequests} {
		t.Run(fmt.Sprint(status), func(t *testing.T) {
			a, b := newFailoverNode(t), newFailoverNode(t)
			a.mode.Store(int32(status))
			client, _, _ := dialTestFailover(t, failoverURLs(a, b), FailoverOptions{})
			for range 5 {
				failoverMustChainID(t, client)
			}
			// a is tried once; b answers, and calls then stick to it.
			if got, want := failoverHits(a, b), []int64{1, 5}; !slices.Equal(got, want) {
				t.Fatalf("hits = %v, want %v", got, want)
			}
		})
	}
}

func TestFailoverClosedEndpoint(t *testing.T) {
	a, b := newFailoverNode(t), newFailoverNode(t)
	a.srv.Close()
	client, _, _ := dialTestFailover(t, failoverURLs(a, b), FailoverOptions{})
	for range 5 {
		failoverMustChainID(t, client)
	}
	if got := b.hits.Load(); got != 5 {
		t.Fatalf("b hits = %d, want 5", got)
	}
}

// A failed endpoint is passed over while it cools down and is back in line
// afterwards.
func TestFailoverCooldown(t *testing.T) {
	a, b, c := newFailoverNode(t), newFailoverNode(t), newFailoverNode(t)
	client, _, clk := dialTestFailover(t, failoverURLs(a, b, c), FailoverOptions{Cooldown: 10 * time.Second})

	a.mode.Store(http.StatusServiceUnavailable)
	failoverMustChainID(t, client) // a fails, b answers
	failoverMustChainID(t, client) // b, sticky
	if got, want := failoverHits(a, b, c), []int64{1, 2, 0}; !slices.Equal(got, want) {
		t.Fatalf("hits = %v, want %v", got, want)
	}

	// Within a's cooldown b fails too: c is next, not a, although a comes
	// first in the list.
	a.mode.Store(failoverNodeOK)
	b.mode.Store(http.StatusServiceUnavailable)
	clk.Advance(5 * time.Second)
	failoverMustChainID(t, client)
	if got, want := failoverHits(a, b, c), []int64{1, 3, 1}; !slices.Equal(got, want) {
		t.Fatalf("during cooldown: hits = %v, want %v", got, want)
	}

	// After the cooldown a is in line again, ahead of b by list order.
	c.mode.Store(http.StatusServiceUnavailable)
	clk.Advance(6 * time.Second)
	failoverMustChainID(t, client)
	if got, want := failoverHits(a, b, c), []int64{2, 3, 2}; !slices.Equal(got, want) {
		t.Fatalf("after cooldown: hits = %v, want %v", got, want)
	}
	failoverMustChainID(t, client) // a, sticky now
	if got, want := failoverHits(a, b, c), []int64{3, 3, 2}; !slices.Equal(got, want) {
		t.Fatalf("after cooldown: hits = %v, want %v", got, want)
	}
}

// When every endpoint is cooling down they are tried anyway.
func TestFailoverAllCoolingStillTried(t *testing.T) {
	a, b := newFailoverNode(t), newFailoverNode(t)
	client, _, _ := dialTestFailover(t, failoverURLs(a, b), FailoverOptions{Cooldown: time.Hour})
	a.mode.Store(http.StatusServiceUnavailable)
	b.mode.Store(http.StatusServiceUnavailable)
	if _, err := ethclient.NewClient(client).ChainID(context.Background()); err == nil {
		t.Fatal("ChainID succeeded with every endpoint down")
	}
	b.mode.Store(failoverNodeOK)
	failoverMustChainID(t, client)
	if got, want := failoverHits(a, b), []int64{2, 2}; !slices.Equal(got, want) {
		t.Fatalf("hits = %v, want %v", got, want)
	}
}

func TestFailoverOrder(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	cooldown := 10 * time.Second
	var never time.Time
	for _, tc := range []struct {
		name      string
		preferred int
		failedAt  []time.Time
		want      []int
	}{
		{"fresh", 0, []time.Time{never, never, never}, []int{0, 1, 2}},
		{"sticky", 2, []time.Time{never, never, never}, []int{2, 0, 1}},
		{"cooling last", 1, []time.Time{t0.Add(-time.Second), never, never}, []int{1, 2, 0}},
		{"preferred cooling", 1, []time.Time{never, t0.Add(-time.Second), never}, []int{0, 2, 1}},
		{"cooldown over", 1, []time.Time{t0.Add(-cooldown), never, never}, []int{1, 0, 2}},
		{"all cooling, least recent failure first", 0, []time.Time{t0.Add(-time.Second), t0.Add(-3 * time.Second), t0.Add(-2 * time.Second)}, []int{1, 2, 0}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ft, err := newFailoverTransport([]string{"http://a", "http://b", "http://c"}, FailoverOptions{Cooldown: cooldown})
			if err != nil {
				t.Fatal(err)
			}
			ft.now = func() time.Time { return t0 }
			ft.preferred = tc.preferred
			copy(ft.failedAt, tc.failedAt)
			if got := ft.order(); !slices.Equal(got, tc.want) {
				t.Fatalf("order = %v, want %v", got, tc.want)
			}
		})
	}
}

// Endpoints die under a concurrent load; no call fails.
func TestFailoverConcurrentKill(t *testing.T) {
	a, b, c := newFailoverNode(t), newFailoverNode(t), newFailoverNode(t)
	client, _, _ := dialTestFailover(t, failoverURLs(a, b, c), FailoverOptions{})
	eth := ethclient.NewClient(client)

	const (
		workers = 16
		calls   = 2000
	)
	var (
		next     atomic.Int64
		failures atomic.Int64
		firstErr atomic.Value
		killA    sync.Once
		killB    sync.Once
		wg       sync.WaitGroup
	)
	for range workers {
		wg.Go(func() {
			ctx := context.Background()
			for {
				i := next.Add(1)
				if i > calls {
					return
				}
				switch i {
				case calls / 3:
					killA.Do(a.srv.Close)
				case 2 * calls / 3:
					killB.Do(b.srv.Close)
				}
				var err error
				switch i % 3 {
				case 0:
					var id *big.Int
					if id, err = eth.ChainID(ctx); err == nil && id.Int64() != failoverTestChainID {
						err = fmt.Errorf("chain id %v", id)
					}
				case 1:
					var n uint64
					if n, err = eth.BlockNumber(ctx); err == nil && n != failoverTestBlockNumber {
						err = fmt.Errorf("block number %d", n)
					}
				case 2:
					var id, n string
					batch := []rpc.BatchElem{
						{Method: "eth_chainId", Result: &id},
						{Method: "eth_blockNumber", Result: &n},
					}
					if err = client.BatchCallContext(ctx, batch); err == nil {
						err = errors.Join(batch[0].Error, batch[1].Error)
					}
				}
				if err != nil {
					failures.Add(1)
					firstErr.CompareAndSwap(nil, err.Error())
				}
			}
		})
	}
	wg.Wait()
	if n := failures.Load(); n != 0 {
		t.Fatalf("%d of %d calls failed; first: %v", n, calls, firstErr.Load())
	}
	got := failoverHits(a, b, c)
	if got[0] == 0 || got[1] == 0 || got[2] == 0 {
		t.Fatalf("hits = %v, want every endpoint used before it died", got)
	}
	if total := got[0] + got[1] + got[2]; total < calls {
		t.Fatalf("hits = %v, total %d < %d calls", got, total, calls)
	}
}

// A JSON-RPC error in a 200 response is an answer, not a failure.
func TestFailoverJSONRPCErrorIsAnswer(t *testing.T) {
	a, b := newFailoverNode(t), newFailoverNode(t)
	a.mode.Store(failoverNodeRPCError)
	client, _, _ := dialTestFailover(t, failoverURLs(a, b), FailoverOptions{})
	var result string
	err := client.CallContext(context.Background(), &result, "eth_chainId")
	var rpcErr rpc.Error
	if !errors.As(err, &rpcErr) || rpcErr.ErrorCode() != -32000 || rpcErr.Error() != "execution reverted" {
		t.Fatalf("err = %v, want the JSON-RPC error -32000 execution reverted", err)
	}
	if got, want := failoverHits(a, b), []int64{1, 0}; !slices.Equal(got, want) {
		t.Fatalf("hits = %v, want %v", got, want)
	}
}

// Other 4xx and 500 mean the request is wrong or the replica answered; the
// caller sees them.
func TestFailoverOtherStatusIsAnswer(t *testing.T) {
	for _, status := range []int{http.StatusBadRequest, http.StatusUnauthorized, http.StatusNotFound, http.StatusInternalServerError} {
		t.Run(fmt.Sprint(status), func(t *testing.T) {
			a, b := newFailoverNode(t), newFailoverNode(t)
			a.mode.Store(int32(status))
			client, _, _ := dialTestFailover(t, failoverURLs(a, b), FailoverOptions{})
			var result string
			err := client.CallContext(context.Background(), &result, "eth_chainId")
			var httpErr rpc.HTTPError
			if !errors.As(err, &httpErr) || httpErr.StatusCode != status {
				t.Fatalf("err = %v, want HTTP %d", err, status)
			}
			if got, want := failoverHits(a, b), []int64{1, 0}; !slices.Equal(got, want) {
				t.Fatalf("hits = %v, want %v", got, want)
			}
		})
	}
}

func TestFailoverAllDownRedacted(t *testing.T) {
	a, b := newFailoverNode(t), newFailoverNode(t)
	a.mode.Store(http.StatusServiceUnavailable)
	b.srv.Close()
	endpoints := []string{
		strings.Replace(a.srv.URL, "http://", "http://user:SECRETPASS@", 1) + "/v3/SECRETKEY?apikey=SECRETQUERY",
		b.srv.URL + "/v3/SECRETKEY",
	}
	client, _, _ := dialTestFailover(t, endpoints, FailoverOptions{})
	var result string
	err := client.CallContext(context.Background(), &result, "eth_chainId")
	if err == nil {
		t.Fatal("call succeeded with every endpoint down")
	}
	msg := err.Error()
	t.Log(msg)
	if strings.Contains(msg, "SECRET") {
		t.Fatalf("error leaks a secret: %s", msg)
	}
	for _, want := range []string{a.srv.URL + ": 503", b.srv.URL + ": ", "all 2 endpoints failed"} {
		if !strings.Contains(msg, want) {
			t.Errorf("error %q does not contain %q", msg, want)
		}
	}
	var httpErr rpc.HTTPError
	if !errors.As(err, &httpErr) || httpErr.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("errors.As(rpc.HTTPError) = %v, want the 503", httpErr)
	}

	// The full URL went to the endpoint: path, query and user info.
	path, header := a.lastRequest()
	if path != "/v3/SECRETKEY?apikey=SECRETQUERY" {
		t.Errorf("path = %q", path)
	}
	if user, pass, ok := (&http.Request{Header: header}).BasicAuth(); !ok || user != "user" || pass != "SECRETPASS" {
		t.Errorf("basic auth = %q %q %v, want user info of the URL", user, pass, ok)
	}
}

func TestFailoverContextCancelledWhileHanging(t *testing.T) {
	a, b := newFailoverNode(t), newFailoverNode(t)
	a.mode.Store(failoverNodeHang)
	client, _, _ := dialTestFailover(t, failoverURLs(a, b), FailoverOptions{})

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() {
		var result string
		done <- client.CallContext(ctx, &result, "eth_chainId")
	}()
	<-a.arrived
	cancel()
	var err error
	select {
	case err = <-done:
	case <-time.After(30 * time.Second): // a guard against hanging, not a timing assertion
		t.Fatal("call did not return after its context was cancelled")
	}
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	if got := b.hits.Load(); got != 0 {
		t.Fatalf("b hits = %d, want 0 after cancellation", got)
	}

	// The cancelled call did not put a in cooldown: the next call still
	// goes to a first.
	a.mode.Store(failoverNodeOK)
	failoverMustChainID(t, client)
	if got, want := failoverHits(a, b), []int64{2, 0}; !slices.Equal(got, want) {
		t.Fatalf("hits = %v, want %v", got, want)
	}
}

func TestFailoverContextDoneBeforeCall(t *testing.T) {
	a := newFailoverNode(t)
	client, _, _ := dialTestFailover(t, failoverURLs(a), FailoverOptions{})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	var result string
	err := client.CallContext(ctx, &result, "eth_chainId")
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	if got := a.hits.Load(); got != 0 {
		t.Fatalf("hits = %d, want 0", got)
	}
}

func TestFailoverBatch(t *testing.T) {
	a, b := newFailoverNode(t), newFailoverNode(t)
	a.mode.Store(http.StatusBadGateway)
	client, _, _ := dialTestFailover(t, failoverURLs(a, b), FailoverOptions{})
	var id, n string
	batch := []rpc.BatchElem{
		{Method: "eth_chainId", Result: &id},
		{Method: "eth_blockNumber", Result: &n},
	}
	if err := client.BatchCallContext(context.Background(), batch); err != nil {
		t.Fatal(err)
	}
	for _, el := range batch {
		if el.Error != nil {
			t.Fatalf("%s: %v", el.Method, el.Error)
		}
	}
	if id != fmt.Sprintf("%#x", failoverTestChainID) || n != fmt.Sprintf("%#x", failoverTestBlockNumber) {
		t.Fatalf("batch results %q %q", id, n)
	}
	if got, want := failoverHits(a, b), []int64{1, 1}; !slices.Equal(got, want) {
		t.Fatalf("hits = %v, want %v", got, want)
	}
}

// A request whose body cannot be replayed by GetBody is buffered once.
func TestFailoverBodyWithoutGetBody(t *testing.T) {
	a, b := newFailoverNode(t), newFailoverNode(t)
	a.mode.Store(http.StatusServiceUnavailable)
	ft, err := newFailoverTransport(failoverURLs(a, b), FailoverOptions{})
	if err != nil {
		t.Fatal(err)
	}
	body := `{"jsonrpc":"2.0","id":7,"method":"eth_chainId"}`
	req, err := http.NewRequest(http.MethodPost, "http://placeholder.invalid", io.NopCloser(strings.NewReader(body)))
	if err != nil {
		t.Fatal(err)
	}
	if req.GetBody != nil {
		t.Fatal("test needs a request without GetBody")
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := ft.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	got, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(got), fmt.Sprintf(`"result":"%#x"`, failoverTestChainID)) {
		t.Fatalf("response %d %s", resp.StatusCode, got)
	}
	if got, want := failoverHits(a, b), []int64{1, 1}; !slices.Equal(got, want) {
		t.Fatalf("hits = %v, want %v", got, want)
	}
}

func TestDialFailoverBadEndpoints(t *testing.T) {
	for _, tc := range []struct {
		name      string
		endpoints []string
		want      string
	}{
		{"nil", nil, "no endpoints"},
		{"empty", []string{}, "no endpoints"},
		{"ftp", []string{"ftp://user:SECRET@example.com/SECRET"}, `scheme "ftp"`},
		{"ws", []string{"ws://example.com/SECRET"}, "WebSocket"},
		{"wss", []string{"wss://example.com/SECRET"}, "WebSocket"},
		{"no host", []string{"http:///SECRET"}, "without a host"},
		{"no scheme", []string{"example.com/SECRET"}, "no scheme"},
		{"empty string", []string{""}, "no scheme"},
		{"not a URL", []string{"http://exa mple.com/SECRET"}, "not a URL"},
		{"second bad", []string{"http://a.example", "https://"}, "endpoint 1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := DialFailover(context.Background(), tc.endpoints, FailoverOptions{})
			if err == nil {
				c.Close()
				t.Fatalf("DialFailover(%q) succeeded", tc.endpoints)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q does not contain %q", err, tc.want)
			}
			if strings.Contains(err.Error(), "SECRET") {
				t.Errorf("error leaks a secret: %v", err)
			}
		})
	}
}

func TestDialFailoverGood(t *testing.T) {
	a := newFailoverNode(t)
	c, err := DialFailover(context.Background(), []string{a.url(), "https://braid-b.example:8545/mainnet"}, FailoverOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	failoverMustChainID(t, c)
}
