package server_test

import (
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/braidrpc/braid/internal/access"
	"github.com/braidrpc/braid/internal/config"
)

// TestKeysNeverShown sends keys every way, into every error braid makes
// about them (unknown, revoked, wrong network, over a limit, bad paths,
// denied methods), over HTTP and WebSocket, then greps everything braid
// logged (at Debug) and every body it sent, /status and /metrics
// included: no key appears anywhere.
func TestKeysNeverShown(t *testing.T) {
	path := filepath.Join(t.TempDir(), "keys.json")
	store := access.NewFileStore(path)
	stored, unknown, conf := addStoredKey(t, store, "stored"), access.NewKey(), access.NewKey()
	spec := mainnet(newFake(t, "a", 1))
	keys := []config.APIKey{{Name: "conf", Key: conf, Networks: []string{"mainnet"},
		KeyLimits: config.KeyLimits{RPS: 1, Burst: 1, MaxBatch: 1}, Methods: config.Methods{Deny: []string{"eth_getBalance"}}}}
	auth := config.Auth{Required: true, Store: config.KeyStoreFile, File: path, Clients: config.ClientLimits{RPS: 1, Keyed: true}}
	b := startKeyed(t, keyedConfig(t, auth, keys, spec, goerli(newFake(t, "g", 5))), nil, spec)
	var bodies []string
	post := func(p, body string, h http.Header) {
		_, _, out := send(t, b.URL+p, body, h)
		bodies = append(bodies, out)
	}
	for _, k := range []string{stored, unknown, conf} {
		b.clock.Advance(time.Second) // the limits' buckets refill
		post("/"+k, balanceCall, nil)
		post("/mainnet/"+k, blockNumberCall, nil)
		post("/goerli/"+k, blockNumberCall, nil)
		post("/nosuch/"+k, blockNumberCall, nil)
		post("/mainnet/"+k+"/more", blockNumberCall, nil)
		post("/"+strings.TrimPrefix(k, "bk_"), blockNumberCall, nil)
		post("/mainnet/"+strings.TrimPrefix(k, "bk_"), blockNumberCall, nil)
		post("/mainnet", `[`+blockNumberCall+`,`+blockNumberCall+`]`, bearer(k))
		post("/mainnet", blockNumberCall, http.Header{"X-Api-Key": {k}, "Authorization": {"Bearer " + unknown}})
		for _, h := range []http.Header{bearer(k), apiKey(k)} {
			if c, _, body := dialKeyed(t, b.WS+"/mainnet", h); c != nil {
				bodies = append(bodies, c.call(blockNumberCall), c.call(balanceCall))
			} else {
				bodies = append(bodies, body)
			}
		}
		if c, _, body := dialKeyed(t, b.WS+"/nosuch/"+k, nil); c == nil {
			bodies = append(bodies, body)
		}
	}
	if _, err := store.Revoke(t.Context(), "stored", keyedStart); err != nil {
		t.Fatal(err)
	}
	reloadUntil(t, b, func() bool {
		s, _, _ := send(t, b.URL, blockNumberCall, bearer(stored))
		return s == http.StatusUnauthorized
	})
	post("/mainnet/"+stored, blockNumberCall, nil)
	for _, p := range []string{"/status", "/metrics", "/status/centralization", "/healthz", "/readyz"} {
		_, body := doRequest(t, http.MethodGet, b.URL+p, "")
		bodies = append(bodies, body)
	}
	all := strings.Join(bodies, "\n") + "\n" + b.logs.String()
	for name, k := range map[string]string{"stored": stored, "unknown": unknown, "conf": conf} {
		if strings.Contains(all, strings.TrimPrefix(k, "bk_")) {
			t.Errorf("the %s key appears in an answer or the log", name)
		}
	}
	// The grep saw the traffic: refusals of each kind, and the metrics.
	for _, want := range []string{"unknown API key", "this API key was revoked", "not valid for network", "limit exceeded",
		"not allowed for this API key", "exceeds this API key's limit", "two different API keys", `braid_auth_requests_total{key="conf",result="ok"}`} {
		if !strings.Contains(all, want) {
			t.Errorf("no %q in what braid sent: the test did not reach it", want)
		}
	}
}
