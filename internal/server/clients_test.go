package server_test

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"

	"github.com/coder/websocket"

	"github.com/braidrpc/braid/internal/config"
)

// needSecondLoopback skips t where 127.0.0.2 is not a loopback address
// (Linux routes all of 127/8 to lo; macOS only 127.0.0.1).
func needSecondLoopback(t *testing.T) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.2:0")
	if err != nil {
		t.Skipf("127.0.0.2 is not usable here (%v): the test needs a second client address", err)
	}
	ln.Close()
}

// fromAddr returns an HTTP client whose connections come from the
// loopback address ip (127.0.0.2, …): another client, as braid sees it.
func fromAddr(ip string) *http.Client {
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}}
	return &http.Client{Transport: &http.Transport{DialContext: d.DialContext}}
}

// postFrom posts body to u from client c with extra headers.
func postFrom(t *testing.T, c *http.Client, u, body string, header http.Header) string {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, u, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	for k, v := range header {
		req.Header[k] = v
	}
	res, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	out, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(out)
}

const newBlockFilter = `{"jsonrpc":"2.0","id":1,"method":"eth_newBlockFilter"}`

// filterCapMsg is the answer to the filter beyond filters.max_per_client.
func filterCapMsg(limit int) string {
	return fmt.Sprintf(`{"jsonrpc":"2.0","id":1,"error":{"code":-32005,"message":"too many installed filters from your address (filters.max_per_client %d); uninstall unused ones"}}`, limit)
}

// TestFiltersPerClient: one client address installing filters up to
// filters.max_per_client gets -32005 naming the cap, while another
// address still installs filters; uninstalling one makes room again.
// Filters installed over WebSocket count for the same address.
func TestFiltersPerClient(t *testing.T) {
	needSecondLoopback(t)
	const perClient = 3
	spec := mainnet(newFake(t, "a", 1))
	cfg := braidConfig(t, nil, spec)
	cfg.Filters.MaxPerClient = perClient
	b := startBraidConfig(t, cfg, spec)
	one, other := fromAddr("127.0.0.1"), fromAddr("127.0.0.2")

	var ids []string
	for range perClient - 1 {
		a := decodeAnswer(t, postFrom(t, one, b.URL, newBlockFilter, nil))
		if a.Error != nil {
			t.Fatalf("filter within the cap: %+v", a.Error)
		}
		ids = append(ids, string(a.Result))
	}
	// The last one over WebSocket, from the same address.
	ws := dialWS(t, "ws"+strings.TrimPrefix(b.URL, "http"), nil)
	if a := decodeAnswer(t, ws.call(newBlockFilter)); a.Error != nil {
		t.Fatalf("filter within the cap over WebSocket: %+v", a.Error)
	}
	for range 3 {
		if got := postFrom(t, one, b.URL, newBlockFilter, nil); got != filterCapMsg(perClient) {
			t.Fatalf("a filter beyond the cap: %s", got)
		}
	}
	if got := ws.call(newBlockFilter); got != filterCapMsg(perClient) {
		t.Fatalf("a filter beyond the cap over WebSocket: %s", got)
	}
	// A claim to forward for someone else is not believed: no proxy is
	// trusted.
	if got := postFrom(t, one, b.URL, newBlockFilter, http.Header{"X-Forwarded-For": {"198.51.100.7"}}); got != filterCapMsg(perClient) {
		t.Fatalf("X-Forwarded-For from an untrusted address was believed: %s", got)
	}
	for range perClient {
		if a := decodeAnswer(t, postFrom(t, other, b.URL, newBlockFilter, nil)); a.Error != nil {
			t.Fatalf("another address: %+v", a.Error)
		}
	}
	uninstall := `{"jsonrpc":"2.0","id":2,"method":"eth_uninstallFilter","params":[` + ids[0] + `]}`
	if got := postFrom(t, one, b.URL, uninstall, nil); got != `{"jsonrpc":"2.0","id":2,"result":true}` {
		t.Fatalf("uninstall: %s", got)
	}
	if a := decodeAnswer(t, postFrom(t, one, b.URL, newBlockFilter, nil)); a.Error != nil {
		t.Fatalf("after uninstalling one: %+v", a.Error)
	}
}

// TestFiltersPerClientBehindAProxy: with the proxy trusted, the clients it
// forwards for are told apart by X-Forwarded-For (the address the proxy
// appended, not what a client wrote before it).
func TestFiltersPerClientBehindAProxy(t *testing.T) {
	needSecondLoopback(t)
	spec := mainnet(newFake(t, "a", 1))
	cfg := braidConfig(t, nil, spec)
	cfg.Filters.MaxPerClient = 1
	cfg.TrustedProxies = []string{"127.0.0.1"}
	b := startBraidConfig(t, cfg, spec)
	proxy := fromAddr("127.0.0.1")
	as := func(xff string) http.Header { return http.Header{"X-Forwarded-For": {xff}} }

	if a := decodeAnswer(t, postFrom(t, proxy, b.URL, newBlockFilter, as("198.51.100.7"))); a.Error != nil {
		t.Fatalf("first client: %+v", a.Error)
	}
	// The same client, whatever it wrote itself in front.
	if got := postFrom(t, proxy, b.URL, newBlockFilter, as("10.9.9.9, 198.51.100.7")); got != filterCapMsg(1) {
		t.Fatalf("the same client behind a spoofed entry: %s", got)
	}
	if a := decodeAnswer(t, postFrom(t, proxy, b.URL, newBlockFilter, as("198.51.100.8"))); a.Error != nil {
		t.Fatalf("second client: %+v", a.Error)
	}
	// An IPv6 client is its /64.
	if a := decodeAnswer(t, postFrom(t, proxy, b.URL, newBlockFilter, as("2001:db8:1:2::1"))); a.Error != nil {
		t.Fatalf("IPv6 client: %+v", a.Error)
	}
	if got := postFrom(t, proxy, b.URL, newBlockFilter, as("2001:db8:1:2:ffff::9")); got != filterCapMsg(1) {
		t.Fatalf("another address of the same /64: %s", got)
	}
	// Not the proxy: its X-Forwarded-For is ignored, it is itself.
	if a := decodeAnswer(t, postFrom(t, fromAddr("127.0.0.2"), b.URL, newBlockFilter, as("198.51.100.7"))); a.Error != nil {
		t.Fatalf("an untrusted address with a forwarded header: %+v", a.Error)
	}
}

// dialWSFrom opens a WebSocket from the loopback address ip; it returns
// the HTTP status and body when the upgrade is refused.
func dialWSFrom(t *testing.T, u, ip string) (*wsClient, int, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wsWait)
	defer cancel()
	c, res, err := websocket.Dial(ctx, u, &websocket.DialOptions{HTTPClient: fromAddr(ip)})
	if err != nil {
		if res == nil {
			t.Fatalf("dial %s from %s: %v", u, ip, err)
		}
		return nil, res.StatusCode, readAll(t, res)
	}
	c.SetReadLimit(-1)
	t.Cleanup(func() { _ = c.CloseNow() })
	return &wsClient{t: t, conn: c}, http.StatusSwitchingProtocols, ""
}

// TestWebSocketConnectionsPerClient: one address gets
// websocket.max_connections_per_client connections, the next upgrade HTTP
// 429 with -32005 naming the cap; another address still connects, and a
// closed connection frees its place.
func TestWebSocketConnectionsPerClient(t *testing.T) {
	needSecondLoopback(t)
	b := startWS(t, func(w *config.WebSocket) { w.MaxConnectionsPerClient = 2 })
	first, _, _ := dialWSFrom(t, b.WS, "127.0.0.1")
	dialWSFrom(t, b.WS+"/goerli", "127.0.0.1")
	_, status, body := dialWSFrom(t, b.WS, "127.0.0.1")
	want := `{"jsonrpc":"2.0","id":null,"error":{"code":-32005,"message":"too many WebSocket connections from your address (websocket.max_connections_per_client 2); close unused ones"}}`
	if status != http.StatusTooManyRequests || body != want {
		t.Fatalf("third connection from one address: HTTP %d %s", status, body)
	}
	for range 2 {
		if c, status, body := dialWSFrom(t, b.WS, "127.0.0.2"); c == nil {
			t.Fatalf("another address: HTTP %d %s", status, body)
		}
	}
	if err := first.conn.Close(websocket.StatusNormalClosure, "bye"); err != nil {
		t.Fatal(err)
	}
	if r := b.waitClose(t); r != "client" {
		t.Errorf("reason %q", r)
	}
	c, status, body := dialWSFrom(t, b.WS, "127.0.0.1")
	if c == nil {
		t.Fatalf("after one closed: HTTP %d %s", status, body)
	}
	if got := c.call(`{"jsonrpc":"2.0","id":1,"method":"eth_chainId"}`); got != `{"jsonrpc":"2.0","id":1,"result":"0x1"}` {
		t.Errorf("eth_chainId: %s", got)
	}
}

// TestWebSocketSubscriptionsPerClient: the subscriptions of one address
// are capped across its connections (besides each connection's own cap);
// another address still subscribes; unsubscribing or disconnecting frees
// places.
func TestWebSocketSubscriptionsPerClient(t *testing.T) {
	needSecondLoopback(t)
	b := startWS(t, func(w *config.WebSocket) { w.MaxSubscriptions = 2; w.MaxSubscriptionsPerClient = 3 })
	c1, _, _ := dialWSFrom(t, b.WS, "127.0.0.1")
	c2, _, _ := dialWSFrom(t, b.WS, "127.0.0.1")
	subscribeRaw(t, b, c1, 1)
	subscribeRaw(t, b, c1, 2)
	id3, fs3 := subscribeRaw(t, b, c2, 3)
	capMsg := `{"jsonrpc":"2.0","id":4,"error":{"code":-32005,"message":"too many subscriptions from your address (websocket.max_subscriptions_per_client 3); unsubscribe unused ones"}}`
	const fourth = `{"jsonrpc":"2.0","id":4,"method":"eth_subscribe","params":["newHeads"]}`
	if got := c2.call(fourth); got != capMsg {
		t.Fatalf("a subscription beyond the address's cap:\n  got  %s\n  want %s", got, capMsg)
	}
	other, _, _ := dialWSFrom(t, b.WS, "127.0.0.2")
	subscribeRaw(t, b, other, 1)
	subscribeRaw(t, b, other, 2)

	if got := c2.call(`{"jsonrpc":"2.0","id":5,"method":"eth_unsubscribe","params":[` + id3 + `]}`); got != `{"jsonrpc":"2.0","id":5,"result":true}` {
		t.Fatalf("unsubscribe: %s", got)
	}
	fs3.waitStopped(t)
	subscribeRaw(t, b, c2, 6)
	if got := c2.call(fourth); got != capMsg {
		t.Fatalf("the cap again: %s", got)
	}
	// A connection that ends gives its subscriptions back.
	_ = c1.conn.CloseNow()
	if r := b.waitClose(t); r != "client" {
		t.Errorf("reason %q", r)
	}
	subscribeRaw(t, b, c2, 7)
}
