package server_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/coder/websocket"

	"github.com/braidrpc/braid/internal/access"
	"github.com/braidrpc/braid/internal/config"
)

func goerli(fakes ...*fakeUpstream) netSpec {
	return netSpec{name: "goerli", chainID: 5, fakes: fakes}
}

// TestKeysEveryWay: a key works in the path (/{network}/{key}, and /{key}
// for the first network), in Authorization: Bearer and in X-Api-Key, over
// HTTP and WebSocket alike, and takes the call to the network the path
// names.
func TestKeysEveryWay(t *testing.T) {
	key := access.NewKey()
	main, gö := mainnet(newFake(t, "a", 1)), goerli(newFake(t, "g", 5))
	b := startKeyed(t, keyedConfig(t, config.Auth{Required: true}, []config.APIKey{{Name: "app", Key: key}}, main, gö), nil, main, gö)
	const chainID = `{"jsonrpc":"2.0","id":7,"method":"eth_chainId"}`
	ways := []struct {
		name, path string
		header     http.Header
		chain      string
	}{
		{"path", "/goerli/" + key, nil, "0x5"},
		{"path, first network", "/" + key, nil, "0x1"},
		{"bearer", "/goerli", bearer(key), "0x5"},
		{"bearer, first network", "/", bearer(key), "0x1"},
		{"x-api-key", "/mainnet", apiKey(key), "0x1"},
	}
	want := func(chain string) string { return `{"jsonrpc":"2.0","id":7,"result":"` + chain + `"}` }
	for _, w := range ways {
		t.Run(w.name, func(t *testing.T) {
			if status, _, body := send(t, b.URL+w.path, chainID, w.header); status != http.StatusOK || body != want(w.chain) {
				t.Errorf("HTTP: %d %s, want %s", status, body, want(w.chain))
			}
			c, status, body := dialKeyed(t, b.WS+w.path, w.header)
			if c == nil {
				t.Fatalf("WebSocket upgrade refused: %d %s", status, body)
			}
			if got := c.call(chainID); got != want(w.chain) {
				t.Errorf("WebSocket: %s, want %s", got, want(w.chain))
			}
		})
	}
}

// TestKeysRefused: no key where one is required, an unknown key, two
// different keys, a key of another network: HTTP 401 (403) with a
// JSON-RPC error, on HTTP and on the WebSocket upgrade.
func TestKeysRefused(t *testing.T) {
	key, mainOnly := access.NewKey(), access.NewKey()
	main, gö := mainnet(newFake(t, "a", 1)), goerli(newFake(t, "g", 5))
	keys := []config.APIKey{{Name: "app", Key: key}, {Name: "main-only", Key: mainOnly, Networks: []string{"mainnet"}}}
	b := startKeyed(t, keyedConfig(t, config.Auth{Required: true, Networks: []string{"mainnet"}}, keys, main, gö), nil, main, gö)
	const missing = `{"jsonrpc":"2.0","id":null,"error":{"code":-32047,"message":"unauthorized: this endpoint needs an API key: put it in the path (/{network}/{key}), an Authorization: Bearer header or an X-Api-Key header","data":{"reason":"missing"}}}`
	const unknown = `{"jsonrpc":"2.0","id":null,"error":{"code":-32047,"message":"unauthorized: unknown API key","data":{"reason":"unknown"}}}`
	const twoKeys = `{"jsonrpc":"2.0","id":null,"error":{"code":-32047,"message":"unauthorized: the request carries two different API keys (path, Authorization, X-Api-Key): send one","data":{"reason":"conflict"}}}`
	const forbidden = `{"jsonrpc":"2.0","id":null,"error":{"code":-32047,"message":"forbidden: this API key is not valid for network \"goerli\"","data":{"reason":"forbidden"}}}`
	cases := []struct {
		name, path string
		header     http.Header
		status     int
		body       string
	}{
		{"missing", "/mainnet", nil, http.StatusUnauthorized, missing},
		{"missing, first network", "/", nil, http.StatusUnauthorized, missing},
		{"unknown in the path", "/mainnet/" + access.NewKey(), nil, http.StatusUnauthorized, unknown},
		{"unknown bearer", "/goerli", bearer(access.NewKey()), http.StatusUnauthorized, unknown},
		{"two keys", "/mainnet/" + key, apiKey(mainOnly), http.StatusUnauthorized, twoKeys},
		{"another network's", "/goerli", apiKey(mainOnly), http.StatusForbidden, forbidden},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if status, _, body := send(t, b.URL+c.path, blockNumberCall, c.header); status != c.status || body != c.body {
				t.Errorf("HTTP: %d %s\nwant %d %s", status, body, c.status, c.body)
			}
			if conn, status, body := dialKeyed(t, b.WS+c.path, c.header); conn != nil || status != c.status || body != c.body {
				t.Errorf("WebSocket upgrade: %d %s\nwant %d %s", status, body, c.status, c.body)
			}
		})
	}
	// goerli does not require a key: anonymous calls are served there.
	if status, _, body := send(t, b.URL+"/goerli", blockNumberCall, nil); status != http.StatusOK || !strings.Contains(body, `"result"`) {
		t.Errorf("anonymous on a network without required keys: %d %s", status, body)
	}
}

// TestKeysChallenge: every 401 says how to authenticate in
// WWW-Authenticate (RFC 9110 requires it; RFC 6750's Bearer scheme and
// error codes), over HTTP and on a refused WebSocket upgrade; a 403 and
// a served call carry none.
func TestKeysChallenge(t *testing.T) {
	key, mainOnly := access.NewKey(), access.NewKey()
	main, gö := mainnet(newFake(t, "a", 1)), goerli(newFake(t, "g", 5))
	keys := []config.APIKey{{Name: "app", Key: key}, {Name: "main-only", Key: mainOnly, Networks: []string{"mainnet"}}}
	b := startKeyed(t, keyedConfig(t, config.Auth{Required: true}, keys, main, gö), nil, main, gö)
	cases := []struct {
		name, path string
		header     http.Header
		want       string
	}{
		{"missing", "/mainnet", nil, `Bearer realm="braid"`},
		{"unknown", "/mainnet/" + access.NewKey(), nil, `Bearer realm="braid", error="invalid_token", error_description="unknown API key"`},
		{"two keys", "/mainnet/" + key, apiKey(mainOnly), `Bearer realm="braid", error="invalid_request", error_description="two different API keys"`},
		{"another network's", "/goerli", apiKey(mainOnly), ""},
		{"served", "/mainnet", bearer(key), ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			req, err := http.NewRequest(http.MethodPost, b.URL+c.path, strings.NewReader(blockNumberCall))
			if err != nil {
				t.Fatal(err)
			}
			for k, v := range c.header {
				req.Header[k] = v
			}
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			res.Body.Close()
			if got := res.Header.Get("WWW-Authenticate"); got != c.want {
				t.Errorf("HTTP %d: WWW-Authenticate %q, want %q", res.StatusCode, got, c.want)
			}
			ctx, cancel := context.WithTimeout(context.Background(), wsWait)
			defer cancel()
			conn, res, err := websocket.Dial(ctx, b.WS+c.path, &websocket.DialOptions{HTTPHeader: c.header})
			if err == nil {
				_ = conn.CloseNow()
			}
			if res == nil {
				t.Fatalf("dial: %v", err)
			}
			if got := res.Header.Get("WWW-Authenticate"); got != c.want {
				t.Errorf("WebSocket upgrade %d: WWW-Authenticate %q, want %q", res.StatusCode, got, c.want)
			}
		})
	}
}
