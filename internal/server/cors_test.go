package server_test

import (
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/braidrpc/braid/internal/config"
)

// corsRequest sends method to u with an Origin header and the other
// headers given, and returns the answer with its body read.
func corsRequest(t *testing.T, method, u, origin, body string, header map[string]string) (*http.Response, string) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, u, rd)
	if err != nil {
		t.Fatal(err)
	}
	if origin != "" {
		req.Header.Set("Origin", origin)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	out, _ := io.ReadAll(res.Body)
	return res, string(out)
}

var preflightHeaders = map[string]string{
	"Access-Control-Request-Method":  "POST",
	"Access-Control-Request-Headers": "content-type, x-app-version",
}

// noCORS fails when res carries any CORS header.
func noCORS(t *testing.T, what string, res *http.Response) {
	t.Helper()
	for k := range res.Header {
		if strings.HasPrefix(k, "Access-Control-") {
			t.Errorf("%s: CORS header %s: %s", what, k, res.Header.Get(k))
		}
	}
}

// TestCORS: preflights from the configured origins (exact or with a
// "*") are answered with what a browser needs, their requests carry
// Access-Control-Allow-Origin and expose braid's Braid-* headers; other
// origins get no CORS header at all.
func TestCORS(t *testing.T) {
	spec := mainnet(newFake(t, "a", 1))
	cfg := braidConfig(t, nil, spec)
	cfg.CORS = config.CORS{Origins: []string{"https://app.example.com", "https://*.example.org"}, MaxAge: 10 * time.Minute}
	b := startBraidConfig(t, cfg, spec)
	const call = `{"jsonrpc":"2.0","id":1,"method":"eth_chainId"}`

	for _, origin := range []string{"https://app.example.com", "https://dapp.example.org", "HTTPS://APP.EXAMPLE.COM"} {
		res, body := corsRequest(t, http.MethodOptions, b.URL+"/mainnet", origin, "", preflightHeaders)
		h := res.Header
		if res.StatusCode != http.StatusNoContent || body != "" ||
			h.Get("Access-Control-Allow-Origin") != origin ||
			!strings.Contains(h.Get("Access-Control-Allow-Methods"), "POST") ||
			h.Get("Access-Control-Allow-Headers") != "content-type, x-app-version" ||
			h.Get("Access-Control-Max-Age") != "600" ||
			!strings.Contains(strings.Join(h.Values("Vary"), ","), "Origin") {
			t.Errorf("preflight from %s: HTTP %d %q %v", origin, res.StatusCode, body, h)
		}
		res, body = corsRequest(t, http.MethodPost, b.URL+"/mainnet", origin, call, nil)
		if res.StatusCode != http.StatusOK || body != `{"jsonrpc":"2.0","id":1,"result":"0x1"}` ||
			res.Header.Get("Access-Control-Allow-Origin") != origin {
			t.Errorf("POST from %s: HTTP %d %s %v", origin, res.StatusCode, body, res.Header)
		}
		exposed := res.Header.Get("Access-Control-Expose-Headers")
		for _, name := range []string{"Braid-Cache", "Braid-Quorum"} {
			if !strings.Contains(exposed, name) {
				t.Errorf("POST from %s: %s not exposed (%q)", origin, name, exposed)
			}
		}
	}

	for _, origin := range []string{"https://evil.example.net", "http://app.example.com", "https://example.org", "https://app.example.com.evil.net"} {
		res, _ := corsRequest(t, http.MethodOptions, b.URL+"/mainnet", origin, "", preflightHeaders)
		if res.StatusCode != http.StatusForbidden {
			t.Errorf("preflight from %s: HTTP %d, want 403", origin, res.StatusCode)
		}
		noCORS(t, "preflight from "+origin, res)
		res, body := corsRequest(t, http.MethodPost, b.URL+"/mainnet", origin, call, nil)
		if res.StatusCode != http.StatusOK || body != `{"jsonrpc":"2.0","id":1,"result":"0x1"}` {
			t.Errorf("POST from %s: HTTP %d %s (non-browser clients are served as ever)", origin, res.StatusCode, body)
		}
		noCORS(t, "POST from "+origin, res)
	}
}

// TestCORSAnyOrigin: "*" allows every origin with the wildcard answer.
func TestCORSAnyOrigin(t *testing.T) {
	spec := mainnet(newFake(t, "a", 1))
	cfg := braidConfig(t, nil, spec)
	cfg.CORS = config.CORS{Origins: []string{"*"}}
	b := startBraidConfig(t, cfg, spec)
	res, _ := corsRequest(t, http.MethodOptions, b.URL+"/", "https://anything.example", "",
		map[string]string{"Access-Control-Request-Method": "POST", "Access-Control-Request-Private-Network": "true"})
	if res.StatusCode != http.StatusNoContent || res.Header.Get("Access-Control-Allow-Origin") != "*" ||
		res.Header.Get("Access-Control-Allow-Private-Network") != "true" || res.Header.Get("Access-Control-Max-Age") != "0" {
		t.Errorf("preflight: HTTP %d %v", res.StatusCode, res.Header)
	}
}

// TestCORSOff: without cors.origins nothing changes: no CORS header, and
// OPTIONS is refused like any method but POST.
func TestCORSOff(t *testing.T) {
	b := startBraid(t, nil, mainnet(newFake(t, "a", 1)))
	res, _ := corsRequest(t, http.MethodOptions, b.URL+"/", "https://app.example.com", "", preflightHeaders)
	if res.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("preflight: HTTP %d, want 405", res.StatusCode)
	}
	noCORS(t, "preflight", res)
	res, _ = corsRequest(t, http.MethodPost, b.URL+"/", "https://app.example.com", `{"jsonrpc":"2.0","id":1,"method":"eth_chainId"}`, nil)
	noCORS(t, "POST", res)
}
