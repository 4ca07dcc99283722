package server_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/braidrpc/braid/internal/config"
	"github.com/braidrpc/braid/internal/server"
)

const testAddr = "0x52908400098527886e0f7030069857d2e4169ee7"

// paddedCall returns an eth_getCode call (forwarded to an upstream) of
// exactly size bytes.
func paddedCall(size int) string {
	head, tail := `{"jsonrpc":"2.0","id":1,"method":"eth_getCode","params":["0x52908400098527886e0f7030069857d2e4169ee7"`, `]}`
	return head + strings.Repeat(" ", size-len(head)-len(tail)) + tail
}

// rawPost sends a request over a raw connection: the request line and
// headers, then whatever body writes (in its own goroutine, since the server
// may answer and stop reading before the body is over). It returns the
// answer, read while the body is still being written.
func rawPost(t *testing.T, baseURL, headers string, body func(w io.Writer) error) (*http.Response, string) {
	t.Helper()
	u, err := url.Parse(baseURL)
	if err != nil {
		t.Fatal(err)
	}
	conn, err := net.Dial("tcp", u.Host)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(20 * time.Second))
	head := "POST / HTTP/1.1\r\nHost: " + u.Host + "\r\nContent-Type: application/json\r\n" + headers + "\r\n"
	if _, err := io.WriteString(conn, head); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = body(conn) // fails once the server has answered and closed: expected
	}()
	res, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("reading the answer: %v", err)
	}
	out, err := io.ReadAll(res.Body)
	res.Body.Close()
	if err != nil {
		t.Fatalf("reading the answer body: %v", err)
	}
	conn.Close()
	<-done
	return res, string(out)
}

// writeChunked writes n bytes of body in chunked encoding, then the last chunk.
func writeChunked(w io.Writer, n int) error {
	bw := bufio.NewWriterSize(w, 64<<10)
	chunk := []byte("[" + strings.Repeat(" ", 32<<10-1))
	for n > 0 {
		c := chunk[:min(len(chunk), n)]
		if _, err := fmt.Fprintf(bw, "%x\r\n%s\r\n", len(c), c); err != nil {
			return err
		}
		chunk[0] = ' '
		n -= len(c)
	}
	if _, err := io.WriteString(bw, "0\r\n\r\n"); err != nil {
		return err
	}
	return bw.Flush()
}

func wantTooLarge(t *testing.T, status int, body string, limit int64) {
	t.Helper()
	if status != http.StatusRequestEntityTooLarge {
		t.Errorf("HTTP %d, want 413 (body %.200s)", status, body)
	}
	want := `{"jsonrpc":"2.0","id":null,"error":{"code":-32600,"message":"invalid request: body exceeds the limit of ` +
		strconv.FormatInt(limit, 10) + ` bytes"}}`
	if body != want {
		t.Errorf("body %.300s\nwant %s", body, want)
	}
}

// TestBodyLimitDefault: the default 5 MiB limit, with a Content-Length and
// with a chunked body, just over and exactly at the limit.
func TestBodyLimitDefault(t *testing.T) {
	spec := mainnet(newFake(t, "a", 1))
	cfg := braidConfig(t, nil, spec)
	cfg.Cache.Backend = config.CacheOff // both accepted bodies must reach the upstream
	b := startBraidConfig(t, cfg, spec)
	limit := b.cfg.Limits.MaxBodyBytes
	if limit != 5<<20 {
		t.Fatalf("default limit %d, want 5 MiB", limit)
	}

	t.Run("content-length over", func(t *testing.T) {
		// The size alone decides: the server need not read the body.
		res, body := rawPost(t, b.URL, fmt.Sprintf("Content-Length: %d\r\n", limit+1), func(w io.Writer) error {
			_, err := io.WriteString(w, paddedCall(int(limit+1)))
			return err
		})
		wantTooLarge(t, res.StatusCode, body, limit)
		if ct := res.Header.Get("Content-Type"); ct != "application/json" {
			t.Errorf("Content-Type %q", ct)
		}
	})
	t.Run("chunked over", func(t *testing.T) {
		res, body := rawPost(t, b.URL, "Transfer-Encoding: chunked\r\n", func(w io.Writer) error {
			return writeChunked(w, int(limit+1))
		})
		wantTooLarge(t, res.StatusCode, body, limit)
	})
	t.Run("content-length at limit", func(t *testing.T) {
		status, body := b.post("/", paddedCall(int(limit)))
		if status != http.StatusOK || body != `{"jsonrpc":"2.0","id":1,"result":"0x"}` {
			t.Errorf("HTTP %d %.300s", status, body)
		}
	})
	t.Run("chunked at limit", func(t *testing.T) {
		status, body := postChunked(t, b.URL+"/", paddedCall(int(limit)))
		if status != http.StatusOK || body != `{"jsonrpc":"2.0","id":1,"result":"0x"}` {
			t.Errorf("HTTP %d %.300s", status, body)
		}
	})
	if got := b.calls("eth_getCode"); got != 2 {
		t.Errorf("%d calls reached the upstream, want 2 (the bodies within the limit)", got)
	}
}

// postChunked posts body with chunked transfer encoding (no Content-Length).
func postChunked(t *testing.T, u, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, u, io.NopCloser(strings.NewReader(body)))
	if err != nil {
		t.Fatal(err)
	}
	req.ContentLength = -1
	req.TransferEncoding = []string{"chunked"}
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	out, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return res.StatusCode, string(out)
}

// TestBodyLimitConfigured: a small max_body_bytes through an ordinary
// client, both ways of framing the body.
func TestBodyLimitConfigured(t *testing.T) {
	const limit = 1024
	b := startBraid(t, func(l *config.Limits) { l.MaxBodyBytes = limit }, mainnet(newFake(t, "a", 1)))

	status, body := b.post("/", paddedCall(limit+1))
	wantTooLarge(t, status, body, limit)
	status, body = postChunked(t, b.URL+"/", paddedCall(limit+1))
	wantTooLarge(t, status, body, limit)
	// A batch is bounded as a whole.
	batch := "[" + strings.TrimSuffix(strings.Repeat(`{"jsonrpc":"2.0","id":1,"method":"eth_chainId"},`, 30), ",") + "]"
	status, body = b.post("/mainnet", batch)
	wantTooLarge(t, status, body, limit)

	for _, post := range []func() (int, string){
		func() (int, string) { return b.post("/", paddedCall(limit)) },
		func() (int, string) { return postChunked(t, b.URL+"/", paddedCall(limit)) },
	} {
		status, body := post()
		if status != http.StatusOK || body != `{"jsonrpc":"2.0","id":1,"result":"0x"}` {
			t.Errorf("at the limit: HTTP %d %s", status, body)
		}
	}
	// The second is the same read at the same served tip: the cache
	// answers it.
	if got := b.calls("eth_getCode"); got != 1 {
		t.Errorf("%d calls reached the upstream, want 1", got)
	}
}

// TestBodyMemoryFollowsData: braid's memory for a request body grows with
// the bytes that arrive, not with the length a client announces. Otherwise
// a client can send "Content-Length: 5242880" and then nothing, and pin
// 5 MiB of braid's memory per connection: Serve sets no read timeout for
// bodies (only ReadHeaderTimeout), so the handler waits in io.ReadFull
// for as long as the client keeps the connection open.

func TestBodyMemoryFollowsData(t *testing.T) {
	b := startBraid(t, nil, mainnet(newFake(t, "a", 1)))
	const sent = `{"jsonrpc":"2.0"` // all the client sends of its "5 MiB"
	req := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(sent))
	req.ContentLength = b.cfg.Limits.MaxBodyBytes
	rec := httptest.NewRecorder()

	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	b.srv.ServeHTTP(rec, req)
	runtime.ReadMemStats(&after)

	if rec.Code != http.StatusBadRequest {
		t.Errorf("a body cut short: HTTP %d %s, want 400", rec.Code, rec.Body)
	}
	if grew := after.TotalAlloc - before.TotalAlloc; grew > 1<<20 {
		t.Errorf("serving a request that sent %d body bytes allocated %d bytes: memory follows the announced Content-Length (%d), not the data",
			len(sent), grew, req.ContentLength)
	}
}

type healthReport struct {
	Status   string `json:"status"`
	Networks map[string]struct {
		Usable    int    `json:"usable"`
		Upstreams int    `json:"upstreams"`
		Problem   string `json:"problem"`
	} `json:"networks"`
}

func getHealth(t *testing.T, b *braid) (int, healthReport, string) {
	t.Helper()
	res, err := http.Get(b.URL + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	if ct := res.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("/healthz Content-Type %q", ct)
	}
	var h healthReport
	if err := json.Unmarshal(raw, &h); err != nil {
		t.Fatalf("/healthz body %q: %v", raw, err)
	}
	return res.StatusCode, h, string(raw)
}

// closedURL is an http URL on loopback where nothing listens.
func closedURL(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return "http://" + addr
}

func TestHealthz(t *testing.T) {
	t.Run("ready", func(t *testing.T) {
		b := startBraid(t, nil,
			mainnet(newFake(t, "a", 1), newFake(t, "b", 1)),
			netSpec{name: "devnet", chainID: 1337, fakes: []*fakeUpstream{newFake(t, "c", 1337)}})
		status, h, raw := getHealth(t, b)
		if status != http.StatusOK || h.Status != "ok" {
			t.Fatalf("HTTP %d %s", status, raw)
		}
		if n := h.Networks["mainnet"]; n.Usable != 2 || n.Upstreams != 2 || n.Problem != "" {
			t.Errorf("mainnet: %+v", n)
		}
		if n := h.Networks["devnet"]; n.Usable != 1 || n.Upstreams != 1 || n.Problem != "" {
			t.Errorf("devnet: %+v", n)
		}
		if len(h.Networks) != 2 {
			t.Errorf("networks: %s", raw)
		}
	})

	t.Run("quarantined", func(t *testing.T) {
		wrong := newFake(t, "wrong", 5) // serves chain 5, configured as chain 1
		b := startBraid(t, nil,
			mainnet(wrong),
			netSpec{name: "devnet", chainID: 1337, fakes: []*fakeUpstream{newFake(t, "c", 1337)}})
		// Alive (a restart would not fix the provider), degraded, and
		// not ready: /readyz is what takes it out of a load balancer.
		status, h, raw := getHealth(t, b)
		if status != http.StatusOK || h.Status != "degraded" {
			t.Fatalf("HTTP %d %s", status, raw)
		}
		if status, r, raw := getReady(t, b); status != http.StatusServiceUnavailable || r.Networks["mainnet"].Ready {
			t.Errorf("/readyz with no usable mainnet upstream: HTTP %d %s", status, raw)
		}
		n := h.Networks["mainnet"]
		if n.Usable != 0 || n.Upstreams != 1 || !strings.Contains(n.Problem, "1 quarantined") {
			t.Errorf("mainnet: %+v", n)
		}
		if d := h.Networks["devnet"]; d.Usable != 1 || d.Problem != "" {
			t.Errorf("devnet, which is fine, reported %+v", d)
		}
		// Calls to the network say why there is no answer.
		a := b.call("/mainnet", "eth_getCode", `["`+testAddr+`"]`)
		if a.Error == nil || a.Error.Code != -32040 || !strings.Contains(a.Error.Message, "no usable upstream") {
			t.Errorf("call on a network without usable upstream: %+v", a)
		}
		if calls := wrong.AllCalls(); len(calls) != 0 {
			t.Errorf("the quarantined upstream got %v", calls)
		}
	})

	t.Run("unreachable", func(t *testing.T) {
		f := newFake(t, "gone", 1)
		cfg := braidConfig(t, nil, mainnet(f))
		cfg.Networks[0].Upstreams[0].URL = closedURL(t)
		gw, reg := startGateway(t, cfg)
		b := &braid{t: t, cfg: cfg, gw: gw}
		hs := newHTTPServer(t, server.New(gw, server.Options{Limits: cfg.Limits, Gatherer: reg}))
		b.URL = hs
		status, h, raw := getHealth(t, b)
		if status != http.StatusOK || h.Status != "degraded" {
			t.Fatalf("HTTP %d %s", status, raw)
		}
		n := h.Networks["mainnet"]
		if n.Usable != 0 || !strings.Contains(n.Problem, "1 unverified") {
			t.Errorf("mainnet: %+v", n)
		}
	})
}

func newHTTPServer(t *testing.T, h http.Handler) string {
	t.Helper()
	ln, err := server.Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- server.Serve(ctx, ln, h, time.Second, testLogger()) }()
	t.Cleanup(func() {
		cancel()
		if err := <-errc; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	return "http://" + ln.Addr().String()
}

func TestMetrics(t *testing.T) {
	b := startBraid(t, nil, mainnet(newFake(t, "a", 1), newFake(t, "b", 1)))
	b.call("/", "eth_getCode", `["`+testAddr+`"]`)
	b.call("/", "eth_getBalance", `["`+testAddr+`","latest"]`)
	b.call("/", "eth_getBalance", `["0x12"]`) // -32602: a braid error
	b.call("/", "foo_bar", "")                // an upstream's error, passed through
	status, body := doRequest(t, http.MethodGet, b.URL+"/metrics", "")
	if status != http.StatusOK {
		t.Fatalf("/metrics: HTTP %d", status)
	}
	for _, want := range []string{
		`braid_requests_total{method="eth_getCode",network="mainnet",outcome="ok"} 1`,
		`braid_requests_total{method="eth_getBalance",network="mainnet",outcome="error"} 1`,
		`braid_requests_total{method="other",network="mainnet",outcome="rpc_error"} 1`,
		`braid_upstream_requests_total{`,
		`outcome="unsupported"`,
		`braid_upstream_request_duration_seconds_bucket{`,
		`braid_errors_total{kind="invalid_params",network="mainnet"} 1`,
		`braid_request_duration_seconds_bucket{`,
		`braid_upstream_state{network="mainnet",operator="op-a",state="ready",upstream="a"} 1`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	if t.Failed() {
		t.Logf("/metrics:\n%s", grepLines(body, "braid_"))
	}
}

func grepLines(s, substr string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, substr) && !strings.HasPrefix(l, "#") {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// TestGracefulShutdown: when Serve's context ends, a request in flight
// still gets its answer and Serve returns nil.
func TestGracefulShutdown(t *testing.T) {
	f := newFake(t, "slow", 1)
	cfg := braidConfig(t, nil, mainnet(f))
	gw, reg := startGateway(t, cfg)
	srv := server.New(gw, server.Options{Limits: cfg.Limits, Gatherer: reg})
	f.SetLatency(300 * time.Millisecond)
	arrived := f.Arrivals()

	ln, err := server.Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	served := make(chan error, 1)
	go func() { served <- server.Serve(ctx, ln, srv, 10*time.Second, testLogger()) }()

	type result struct {
		status int
		body   string
		err    error
	}
	answered := make(chan result, 1)
	go func() {
		status, body, err := postRaw("http://"+addr+"/", `{"jsonrpc":"2.0","id":1,"method":"eth_getCode","params":["0x52908400098527886e0f7030069857d2e4169ee7"]}`)
		answered <- result{status, body, err}
	}()
	deadline := time.After(10 * time.Second)
	for arrivedCall := ""; arrivedCall != "eth_getCode"; {
		select {
		case arrivedCall = <-arrived: // head polls may come first
		case <-deadline:
			t.Fatal("the request never reached the upstream")
		}
	}
	cancel() // the request is now in flight at the upstream

	select {
	case r := <-answered:
		if r.err != nil || r.status != http.StatusOK || r.body != `{"jsonrpc":"2.0","id":1,"result":"0x"}` {
			t.Errorf("in-flight request: HTTP %d %q %v", r.status, r.body, r.err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the in-flight request was never answered")
	}
	select {
	case err := <-served:
		if err != nil {
			t.Errorf("Serve returned %v, want nil", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Serve did not return")
	}
	// The listener is closed: no new requests.
	if _, _, err := postRaw("http://"+addr+"/", `{"jsonrpc":"2.0","id":2,"method":"eth_chainId"}`); err == nil {
		t.Error("a request after shutdown was served")
	}
}

// TestShutdownGraceOver: what is still running when the grace period ends
// is cut off, and Serve returns.
func TestShutdownGraceOver(t *testing.T) {
	f := newFake(t, "stuck", 1)
	cfg := braidConfig(t, nil, mainnet(f))
	gw, reg := startGateway(t, cfg)
	srv := server.New(gw, server.Options{Limits: cfg.Limits, Gatherer: reg})
	f.SetLatency(time.Minute) // until braid gives up on it
	arrived := f.Arrivals()

	ln, err := server.Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	served := make(chan error, 1)
	go func() { served <- server.Serve(ctx, ln, srv, 50*time.Millisecond, testLogger()) }()

	answered := make(chan error, 1)
	go func() {
		// A method braid does not cache: a cacheable read is fetched once
		// for every caller, detached from this one, and would hold the
		// fake's connection until the upstream timeout.
		status, body, err := postRaw("http://"+ln.Addr().String()+"/", `{"jsonrpc":"2.0","id":1,"method":"foo_bar","params":[]}`)
		if err == nil {
			err = fmt.Errorf("answered: HTTP %d %s", status, body)
		}
		answered <- err
	}()
	select {
	case <-arrived:
	case <-time.After(10 * time.Second):
		t.Fatal("the request never reached the upstream")
	}
	cancel()
	select {
	case err := <-served:
		if err != nil {
			t.Errorf("Serve returned %v", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("Serve did not return after the grace period")
	}
	select {
	case err := <-answered:
		var ue *url.Error
		if !errors.As(err, &ue) {
			t.Errorf("the cut-off request: %v", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("the cut-off request never returned")
	}
}

// TestMethodNotAllowedHeaders: a GET to an RPC path says which method to use.
func TestMethodNotAllowedHeaders(t *testing.T) {
	b := startBraid(t, nil, mainnet(newFake(t, "a", 1)))
	res, err := http.Get(b.URL + "/")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusMethodNotAllowed || res.Header.Get("Allow") != http.MethodPost {
		t.Errorf("GET /: HTTP %d, Allow %q", res.StatusCode, res.Header.Get("Allow"))
	}
	if ct := res.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type %q", ct)
	}
}
