package server_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/ethereum/go-ethereum/rpc"

	"github.com/braidrpc/braid/internal/await"
	"github.com/braidrpc/braid/internal/config"
	"github.com/braidrpc/braid/internal/server"
)

// wsWait bounds every wait in these tests; nothing is expected to take
// more than a fraction of it.
const wsWait = 20 * time.Second

// wsBraid is braid over fakes for two networks (mainnet, chain 1, the
// default; goerli, chain 5) with a fake subscription feed.
type wsBraid struct {
	URL    string // http://…
	WS     string // ws://…
	srv    *server.Server
	feed   *fakeFeed
	closes chan string // the reason of each connection that is over
}

// startWS serves braid with the default WebSocket bounds, each of edits
// changing them first.
func startWS(t *testing.T, edits ...func(*config.WebSocket)) *wsBraid {
	t.Helper()
	cfg := braidConfig(t, nil, mainnet(newFake(t, "a", 1)),
		netSpec{name: "goerli", chainID: 5, fakes: []*fakeUpstream{newFake(t, "g", 5)}})
	gw, reg := startGateway(t, cfg)
	ws := config.Default().WebSocket
	for _, edit := range edits {
		edit(&ws)
	}
	srv := server.New(gw, server.Options{
		Limits: cfg.Limits, WebSocket: &ws, Logger: testLogger(), Gatherer: reg, Registry: reg,
	})
	b := &wsBraid{srv: srv, feed: newFakeFeed(), closes: make(chan string, 1024)}
	server.SetSubscribe(srv, b.feed.subscribe)
	server.OnWebSocketClose(srv, func(reason string) { b.closes <- reason })
	hs := httptest.NewServer(srv)
	t.Cleanup(hs.Close)
	t.Cleanup(srv.CloseWebSockets) // first: httptest does not wait for hijacked connections
	b.URL, b.WS = hs.URL, "ws"+strings.TrimPrefix(hs.URL, "http")
	return b
}

// waitClose returns the reason of the next connection that is over.
func (b *wsBraid) waitClose(t testing.TB) string {
	t.Helper()
	select {
	case r := <-b.closes:
		return r
	case <-time.After(wsWait):
		t.Fatal("no WebSocket connection ended")
		return ""
	}
}

// metric returns the /metrics line starting with series ("" if none).
func (b *wsBraid) metric(t testing.TB, series string) string {
	t.Helper()
	status, body := doRequest(t, http.MethodGet, b.URL+"/metrics", "")
	if status != http.StatusOK {
		t.Fatalf("/metrics: HTTP %d", status)
	}
	for _, l := range strings.Split(body, "\n") {
		if strings.HasPrefix(l, series+" ") {
			return l
		}
	}
	return ""
}

// wsClient is a raw WebSocket client: the test controls every byte and
// when (or whether) it reads.
type wsClient struct {
	t    testing.TB
	conn *websocket.Conn
}

func dialWS(t testing.TB, u string, opts *websocket.DialOptions) *wsClient {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wsWait)
	defer cancel()
	c, _, err := websocket.Dial(ctx, u, opts)
	if err != nil {
		t.Fatalf("dial %s: %v", u, err)
	}
	c.SetReadLimit(-1)
	t.Cleanup(func() { _ = c.CloseNow() })
	return &wsClient{t: t, conn: c}
}

func (c *wsClient) send(msg string) {
	c.t.Helper()
	c.sendType(websocket.MessageText, msg)
}

func (c *wsClient) sendType(typ websocket.MessageType, msg string) {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wsWait)
	defer cancel()
	if err := c.conn.Write(ctx, typ, []byte(msg)); err != nil {
		c.t.Fatalf("write: %v", err)
	}
}

func (c *wsClient) read() string {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wsWait)
	defer cancel()
	_, b, err := c.conn.Read(ctx)
	if err != nil {
		c.t.Fatalf("read: %v", err)
	}
	return string(b)
}

// call sends msg and returns the next message.
func (c *wsClient) call(msg string) string {
	c.t.Helper()
	c.send(msg)
	return c.read()
}

// readUntilClosed reads until the connection ends: the data messages read
// and the error that ended it.
func (c *wsClient) readUntilClosed() (int, error) {
	ctx, cancel := context.WithTimeout(context.Background(), wsWait)
	defer cancel()
	n := 0
	for {
		if _, _, err := c.conn.Read(ctx); err != nil {
			return n, err
		}
		n++
	}
}

// wantClose checks the close status and reason the client saw in err.
func wantClose(t testing.TB, err error, code websocket.StatusCode, reason string) {
	t.Helper()
	var ce websocket.CloseError
	if !errors.As(err, &ce) {
		t.Fatalf("connection ended with %v, want close status %d", err, code)
	}
	if ce.Code != code || (reason != "" && ce.Reason != reason) {
		t.Errorf("close status %d %q, want %d %q", ce.Code, ce.Reason, code, reason)
	}
}

// wsGoroutines counts goroutines running the WebSocket endpoint's code.
func wsGoroutines() (int, string) {
	buf := make([]byte, 1<<20)
	buf = buf[:runtime.Stack(buf, true)]
	n := 0
	var found []string
	for _, g := range strings.Split(string(buf), "\n\n") {
		if strings.Contains(g, "internal/server.(*wsConn)") || strings.Contains(g, "internal/server.(*Server).serveWebSocket") {
			n++
			found = append(found, g)
		}
	}
	return n, strings.Join(found, "\n\n")
}

// wantNoWSGoroutines waits (bounded) until no goroutine of the endpoint
// is left: the last one may still be returning from its HTTP handler.
func wantNoWSGoroutines(t testing.TB) {
	t.Helper()
	if await.Poll(wsWait, func() bool { n, _ := wsGoroutines(); return n == 0 }) {
		return
	}
	n, stacks := wsGoroutines()
	t.Fatalf("%d WebSocket goroutines left:\n%s", n, stacks)
}

const balanceCall = `{"jsonrpc":"2.0","id":"b","method":"eth_getBalance","params":["` + testAddr + `","latest"]}`

// TestWebSocketAnswersAsHTTP: every message earns over WebSocket the
// bytes the same body earns over HTTP, and no answer where HTTP says 204.
func TestWebSocketAnswersAsHTTP(t *testing.T) {
	// SendBuffer 1 allows one message in progress at a time, so answers
	// come in order and a message that earns none is followed by the next
	// one's answer.
	b := startWS(t, func(w *config.WebSocket) { w.SendBuffer = 1 })
	bodies := []string{
		`{"jsonrpc":"2.0","id":1,"method":"eth_chainId"}`,
		balanceCall,
		`{"jsonrpc":"2.0","id":1e2,"method":"eth_getBlockByNumber","params":["0x10",false]}`,
		`{"jsonrpc":"2.0","id":3,"method":"eth_call","params":[{"to":"` + testAddr + `","data":"0xdead"},"latest"]}`,
		`{"jsonrpc":"2.0","id":4,"method":"eth_getBalance","params":["0x12"]}`,
		`{"jsonrpc":"2.0","id":5,"method":"foo_bar"}`,
		`[{"jsonrpc":"2.0","id":1,"method":"eth_chainId"},{"jsonrpc":"2.0","method":"eth_blockNumber"},{"id":2},7,` + balanceCall + `]`,
		`{"jsonrpc":"2.0","method":"eth_chainId"}`,
		`[{"jsonrpc":"2.0","method":"eth_chainId"},{"jsonrpc":"2.0","method":"net_version"}]`,
		`{"jsonrpc":"2.0","id":1,"method":`,
		`[]`,
		`"hello"`,
		``,
	}
	for _, path := range []string{"/", "/mainnet", "/goerli"} {
		t.Run(path, func(t *testing.T) {
			const sentinel = `{"jsonrpc":"2.0","id":"sentinel","method":"eth_chainId"}`
			_, sentinelAnswer := doRequest(t, http.MethodPost, b.URL+path, sentinel)
			c := dialWS(t, b.WS+path, nil)
			for _, body := range bodies {
				status, want := doRequest(t, http.MethodPost, b.URL+path, body)
				c.send(body)
				c.send(sentinel)
				got := c.read()
				switch status {
				case http.StatusNoContent:
					if got != sentinelAnswer {
						t.Errorf("%s: HTTP answers nothing, WebSocket %s", body, got)
						c.read()
					}
					continue
				case http.StatusOK:
					if got != want {
						t.Errorf("%s:\n  WebSocket %s\n  HTTP      %s", body, got, want)
					}
				default:
					t.Fatalf("%s: HTTP %d %s", body, status, want)
				}
				if got := c.read(); got != sentinelAnswer {
					t.Errorf("after %s: %s, want the sentinel's answer", body, got)
				}
			}
			// A binary message is read as its text.
			c.sendType(websocket.MessageBinary, sentinel)
			if got := c.read(); got != sentinelAnswer {
				t.Errorf("binary message: %s, want %s", got, sentinelAnswer)
			}
		})
	}
}

// TestWebSocketPaths: an unknown network is refused as over POST; a GET
// without an upgrade still gets 405; the status paths still answer.
func TestWebSocketPaths(t *testing.T) {
	b := startWS(t)
	upgrade := func(path string) (int, string) {
		t.Helper()
		req, err := http.NewRequest(http.MethodGet, b.URL+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Connection", "Upgrade")
		req.Header.Set("Upgrade", "websocket")
		req.Header.Set("Sec-WebSocket-Version", "13")
		req.Header.Set("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==")
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		return res.StatusCode, readAll(t, res)
	}

	postStatus, postBody := doRequest(t, http.MethodPost, b.URL+"/nope", `{"jsonrpc":"2.0","id":1,"method":"eth_chainId"}`)
	status, body := upgrade("/nope")
	if status != http.StatusNotFound || postStatus != http.StatusNotFound || body != postBody {
		t.Errorf("upgrade on /nope: HTTP %d %s; POST: HTTP %d %s", status, body, postStatus, postBody)
	}
	ctx, cancel := context.WithTimeout(context.Background(), wsWait)
	defer cancel()
	if _, res, err := websocket.Dial(ctx, b.WS+"/nope", nil); err == nil || res == nil || res.StatusCode != http.StatusNotFound {
		t.Errorf("dial /nope: %v", err)
	}

	for _, path := range []string{"/", "/mainnet", "/nope"} {
		res, err := http.Get(b.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusMethodNotAllowed || res.Header.Get("Allow") != http.MethodPost {
			t.Errorf("GET %s: HTTP %d, Allow %q", path, res.StatusCode, res.Header.Get("Allow"))
		}
	}
	for _, path := range []string{"/healthz", "/status", "/metrics"} {
		want, _ := doRequest(t, http.MethodGet, b.URL+path, "")
		if status, _ := upgrade(path); status != want || status == http.StatusMethodNotAllowed {
			t.Errorf("GET %s with an upgrade: HTTP %d, without: HTTP %d", path, status, want)
		}
	}
}

func readAll(t testing.TB, res *http.Response) string {
	t.Helper()
	var sb strings.Builder
	buf := make([]byte, 4096)
	for {
		n, err := res.Body.Read(buf)
		sb.Write(buf[:n])
		if err != nil {
			return sb.String()
		}
	}
}

// TestWebSocketGethClient: go-ethereum's client gets over WebSocket what
// it gets over HTTP, also with many calls in flight on one connection.
func TestWebSocketGethClient(t *testing.T) {
	b := startWS(t)
	ctx, cancel := context.WithTimeout(context.Background(), wsWait)
	defer cancel()
	wc, err := rpc.DialContext(ctx, b.WS+"/mainnet")
	if err != nil {
		t.Fatal(err)
	}
	defer wc.Close()
	hc, err := rpc.DialContext(ctx, b.URL+"/mainnet")
	if err != nil {
		t.Fatal(err)
	}
	defer hc.Close()

	describe := func(res json.RawMessage, err error) string {
		if err == nil {
			return string(res)
		}
		out := "error " + err.Error()
		var re rpc.Error
		if errors.As(err, &re) {
			out += fmt.Sprintf(" code %d", re.ErrorCode())
		}
		var de rpc.DataError
		if errors.As(err, &de) {
			out += fmt.Sprintf(" data %v", de.ErrorData())
		}
		return out
	}
	calls := []struct {
		method string
		args   []any
	}{
		{"eth_chainId", nil},
		{"eth_getBalance", []any{testAddr, "latest"}},
		{"eth_getTransactionByHash", []any{"0x88df016429689c079f3b2f6ad39fa052532c56795b733da78a91ebe6a713944b"}},
		{"eth_call", []any{map[string]string{"to": testAddr, "data": "0xdead"}, "latest"}},
		{"eth_getBalance", []any{"0x12"}},
		{"eth_sendRawTransaction", []any{"0x01"}},
	}
	var wb, hb []rpc.BatchElem
	for _, c := range calls {
		var w, h json.RawMessage
		we := wc.CallContext(ctx, &w, c.method, c.args...)
		he := hc.CallContext(ctx, &h, c.method, c.args...)
		if got, want := describe(w, we), describe(h, he); got != want {
			t.Errorf("%s: WebSocket %s, HTTP %s", c.method, got, want)
		}
		wb = append(wb, rpc.BatchElem{Method: c.method, Args: c.args, Result: new(json.RawMessage)})
		hb = append(hb, rpc.BatchElem{Method: c.method, Args: c.args, Result: new(json.RawMessage)})
	}
	if err := wc.BatchCallContext(ctx, wb); err != nil {
		t.Fatal(err)
	}
	if err := hc.BatchCallContext(ctx, hb); err != nil {
		t.Fatal(err)
	}
	for i := range wb {
		got := describe(*wb[i].Result.(*json.RawMessage), wb[i].Error)
		want := describe(*hb[i].Result.(*json.RawMessage), hb[i].Error)
		if got != want {
			t.Errorf("batch member %s: WebSocket %s, HTTP %s", wb[i].Method, got, want)
		}
	}

	// More calls than a connection runs at once (64): reading pauses, and
	// every answer still finds its caller.
	var wg sync.WaitGroup
	errs := make(chan error, 200)
	for i := range 200 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			method, want := "eth_chainId", `"0x1"`
			if i%2 == 1 {
				method, want = "net_version", `"1"`
			}
			var res json.RawMessage
			if err := wc.CallContext(ctx, &res, method); err != nil || string(res) != want {
				errs <- fmt.Errorf("call %d %s: %s %v", i, method, res, err)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// TestWebSocketMessageTooBig: a message over MaxMessageBytes closes the
// connection with 1009; one at the limit is answered.
func TestWebSocketMessageTooBig(t *testing.T) {
	const limit = 1024
	b := startWS(t, func(w *config.WebSocket) { w.MaxMessageBytes = limit })
	c := dialWS(t, b.WS, nil)
	if a := decodeAnswer(t, c.call(paddedCall(limit))); a.Error != nil || string(a.Result) != `"0x"` {
		t.Fatalf("a message at the limit: %+v", a)
	}
	c.send(paddedCall(limit + 1))
	_, err := c.readUntilClosed()
	wantClose(t, err, websocket.StatusMessageTooBig, "")
	if r := b.waitClose(t); r != "too_big" {
		t.Errorf("reason %q", r)
	}
}

// TestWebSocketConnectionCap: the upgrade beyond MaxConnections gets 503
// with a JSON-RPC error; a closed connection frees its place.
func TestWebSocketConnectionCap(t *testing.T) {
	b := startWS(t, func(w *config.WebSocket) { w.MaxConnections = 2 })
	first := dialWS(t, b.WS, nil)
	second := dialWS(t, b.WS+"/goerli", nil)
	// An answer shows the server serves the connection (the handshake
	// alone is over a moment before).
	first.call(`{"jsonrpc":"2.0","id":1,"method":"eth_chainId"}`)
	second.call(`{"jsonrpc":"2.0","id":1,"method":"eth_chainId"}`)
	if got := b.metric(t, "braid_ws_connections"); got != "braid_ws_connections 2" {
		t.Errorf("metric: %q", got)
	}
	ctx, cancel := context.WithTimeout(context.Background(), wsWait)
	defer cancel()
	_, res, err := websocket.Dial(ctx, b.WS, nil)
	if err == nil || res == nil {
		t.Fatalf("third connection: %v", err)
	}
	body := readAll(t, res)
	want := `{"jsonrpc":"2.0","id":null,"error":{"code":-32005,"message":"too many WebSocket connections (websocket.max_connections 2); try again later"}}`
	if res.StatusCode != http.StatusServiceUnavailable || body != want {
		t.Errorf("third connection: HTTP %d %s", res.StatusCode, body)
	}

	if err := first.conn.Close(websocket.StatusNormalClosure, "bye"); err != nil {
		t.Fatal(err)
	}
	if r := b.waitClose(t); r != "client" {
		t.Errorf("reason %q", r)
	}
	c := dialWS(t, b.WS, nil)
	if got := c.call(`{"jsonrpc":"2.0","id":1,"method":"eth_chainId"}`); got != `{"jsonrpc":"2.0","id":1,"result":"0x1"}` {
		t.Errorf("after a place was freed: %s", got)
	}
}

// TestWebSocketPingTimeout: a client that stops reading never answers
// pings and is disconnected.
func TestWebSocketPingTimeout(t *testing.T) {
	b := startWS(t, func(w *config.WebSocket) {
		w.PingInterval = 20 * time.Millisecond
		w.PingTimeout = 100 * time.Millisecond
		w.WriteTimeout = 200 * time.Millisecond
	})
	c := dialWS(t, b.WS, nil)
	_, fs := subscribeRaw(t, b, c, 1)
	// From here on the client reads nothing, so it answers no ping.
	if r := b.waitClose(t); r != "ping_timeout" {
		t.Errorf("reason %q", r)
	}
	fs.waitStopped(t)
	_, err := c.readUntilClosed()
	t.Logf("the client saw: %v", err)
	if err == nil {
		t.Error("the connection is still open")
	}
	if got := b.metric(t, `braid_ws_disconnects_total{reason="ping_timeout"}`); !strings.HasSuffix(got, " 1") {
		t.Errorf("metric: %q", got)
	}
	wantNoWSGoroutines(t)
}

// TestWebSocketPingAnswered: a client that keeps reading answers the
// pings and stays connected.
func TestWebSocketPingAnswered(t *testing.T) {
	b := startWS(t, func(w *config.WebSocket) { w.PingInterval = 5 * time.Millisecond; w.PingTimeout = wsWait })
	pings := make(chan struct{}, 100)
	c := dialWS(t, b.WS, &websocket.DialOptions{OnPingReceived: func(context.Context, []byte) bool {
		select {
		case pings <- struct{}{}:
		default:
		}
		return true
	}})
	msgs := make(chan string, 1)
	go func() {
		for {
			_, m, err := c.conn.Read(context.Background())
			if err != nil {
				close(msgs)
				return
			}
			msgs <- string(m)
		}
	}()
	for i := range 5 {
		select {
		case <-pings:
		case <-time.After(wsWait):
			t.Fatalf("ping %d never came", i)
		}
	}
	c.send(`{"jsonrpc":"2.0","id":1,"method":"eth_chainId"}`)
	select {
	case m, ok := <-msgs:
		if !ok || m != `{"jsonrpc":"2.0","id":1,"result":"0x1"}` {
			t.Errorf("after 5 pings: %q (open %v)", m, ok)
		}
	case <-time.After(wsWait):
		t.Fatal("no answer after the pings")
	}
	select {
	case r := <-b.closes:
		t.Errorf("a connection ended: %s", r)
	default:
	}
}

// TestWebSocketClientGoesAway: a client that drops the connection leaves
// nothing behind: its subscriptions are stopped and the goroutines end.
func TestWebSocketClientGoesAway(t *testing.T) {
	b := startWS(t)
	c := dialWS(t, b.WS, nil)
	_, fs1 := subscribeRaw(t, b, c, 1)
	_, fs2 := subscribeRaw(t, b, c, 2)
	// A call in flight when the client leaves.
	c.send(balanceCall)
	_ = c.conn.CloseNow()
	if r := b.waitClose(t); r != "client" {
		t.Errorf("reason %q", r)
	}
	fs1.waitStopped(t)
	fs2.waitStopped(t)
	if got := b.metric(t, "braid_ws_subscriptions"); got != "braid_ws_subscriptions 0" {
		t.Errorf("metric: %q", got)
	}
	if got := b.metric(t, "braid_ws_connections"); got != "braid_ws_connections 0" {
		t.Errorf("metric: %q", got)
	}
	wantNoWSGoroutines(t)
}

// TestCloseWebSockets: every client is closed with 1001, subscriptions are
// stopped, goroutines end, and new upgrades are refused.
func TestCloseWebSockets(t *testing.T) {
	b := startWS(t)
	var clients []*wsClient
	var feeds []*feedSub
	for i := range 3 {
		c := dialWS(t, b.WS, nil)
		_, fs := subscribeRaw(t, b, c, i)
		clients = append(clients, c)
		feeds = append(feeds, fs)
	}
	ctx, cancel := context.WithTimeout(context.Background(), wsWait)
	defer cancel()
	gc, err := rpc.DialContext(ctx, b.WS+"/goerli")
	if err != nil {
		t.Fatal(err)
	}
	defer gc.Close()
	var chainID string
	if err := gc.CallContext(ctx, &chainID, "eth_chainId"); err != nil || chainID != "0x5" {
		t.Fatalf("eth_chainId: %s %v", chainID, err)
	}

	// The clients read while the server closes them, as live clients do.
	type closed struct {
		i   int
		err error
	}
	ends := make(chan closed, len(clients))
	for i, c := range clients {
		go func() {
			_, err := c.readUntilClosed()
			ends <- closed{i, err}
		}()
	}
	done := make(chan struct{})
	go func() {
		b.srv.CloseWebSockets()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(wsWait):
		t.Fatal("CloseWebSockets did not return")
	}
	for range clients {
		e := <-ends
		wantClose(t, e.err, websocket.StatusGoingAway, "server shutting down")
	}
	for _, fs := range feeds {
		if !fs.isStoppedNow() {
			t.Error("a subscription outlived CloseWebSockets")
		}
	}
	for range 4 {
		if r := b.waitClose(t); r != "shutdown" {
			t.Errorf("reason %q", r)
		}
	}
	if got := b.metric(t, `braid_ws_disconnects_total{reason="shutdown"}`); !strings.HasSuffix(got, " 4") {
		t.Errorf("metric: %q", got)
	}
	wantNoWSGoroutines(t)

	_, res, err := websocket.Dial(ctx, b.WS, nil)
	if err == nil || res == nil || res.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("an upgrade after CloseWebSockets: %v", err)
	}
}

// TestServeClosesWebSockets: when Serve shuts down, WebSocket clients are
// closed with 1001 before it returns.
func TestServeClosesWebSockets(t *testing.T) {
	cfg := braidConfig(t, nil, mainnet(newFake(t, "a", 1)))
	gw, reg := startGateway(t, cfg)
	srv := server.New(gw, server.Options{Limits: cfg.Limits, Gatherer: reg})
	feed := newFakeFeed()
	server.SetSubscribe(srv, feed.subscribe)
	ln, err := server.Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	served := make(chan error, 1)
	go func() { served <- server.Serve(ctx, ln, srv, 10*time.Second, testLogger()) }()

	c := dialWS(t, "ws://"+ln.Addr().String()+"/mainnet", nil)
	if got := c.call(`{"jsonrpc":"2.0","id":1,"method":"eth_subscribe","params":["newHeads"]}`); !strings.Contains(got, `"result":"0x`) {
		t.Fatalf("eth_subscribe: %s", got)
	}
	fs := feed.next(t)
	ended := make(chan error, 1)
	go func() {
		_, err := c.readUntilClosed()
		ended <- err
	}()
	cancel()
	select {
	case err := <-served:
		if err != nil {
			t.Errorf("Serve: %v", err)
		}
	case <-time.After(wsWait):
		t.Fatal("Serve did not return")
	}
	if !fs.isStoppedNow() {
		t.Error("Serve returned with a subscription still running")
	}
	select {
	case err := <-ended:
		wantClose(t, err, websocket.StatusGoingAway, "server shutting down")
	case <-time.After(wsWait):
		t.Fatal("the client was not closed")
	}
	wantNoWSGoroutines(t)
}
