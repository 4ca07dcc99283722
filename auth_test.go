package braid_test

import (
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/ethclient"

	"github.com/braidrpc/braid"
	"github.com/braidrpc/braid/internal/devnet"
)

// TestLibraryKeys: with keys required, the endpoint Handler serves
// refuses a request without one and serves one with it, while the
// in-process client of the embedding program needs none.
func TestLibraryKeys(t *testing.T) {
	dn, err := devnet.New(t.Context(), devnet.Options{Providers: 1, WebSocket: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { dn.Close() })
	const key = "bk_library-test-key-0123456789abcdefghijkl"
	cfg := braid.DefaultConfig()
	cfg.Networks = []braid.Network{{Name: "devnet", ChainID: dn.ChainID(), Upstreams: dn.Upstreams(),
		Head: braid.Head{PollInterval: 50 * time.Millisecond}}}
	cfg.Auth = braid.Auth{Required: true}
	cfg.Keys = []braid.APIKey{{Name: "app", Key: key, KeyLimits: braid.KeyLimits{RPS: 1, Burst: 1}}}
	b, err := braid.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })

	// The in-process client: no key, and no limit (rps 1 is the key's).
	ec := ethclient.NewClient(b.Client())
	for range 5 {
		if id, err := ec.ChainID(t.Context()); err != nil || id.Uint64() != dn.ChainID() {
			t.Fatalf("in-process client: %v, %v", id, err)
		}
	}
	srv := httptest.NewServer(b.Handler())
	t.Cleanup(srv.Close)
	post := func(path, header string) int {
		req, _ := http.NewRequest(http.MethodPost, srv.URL+path, strings.NewReader(`{"jsonrpc":"2.0","id":1,"method":"eth_chainId"}`))
		req.Header.Set("Content-Type", "application/json")
		if header != "" {
			req.Header.Set("X-Api-Key", header)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res.StatusCode
	}
	if got := post("/", ""); got != http.StatusUnauthorized {
		t.Errorf("Handler without a key: HTTP %d, want 401", got)
	}
	if got := post("/devnet/"+key, ""); got != http.StatusOK {
		t.Errorf("Handler with the key: HTTP %d", got)
	}
	if got := post("/", key); got != http.StatusTooManyRequests {
		t.Errorf("Handler over the key's rate: HTTP %d, want 429", got)
	}
}

// TestLibraryWarnsUnfairAuth: braid run for several callers with fair
// admission turned off says once, at start, that they do not share the
// providers fairly; unset, braid derives the cap (DefaultFairSlots here,
// the upstream has no rps budget) and logs it; set, it logs that.
func TestLibraryWarnsUnfairAuth(t *testing.T) {
	cases := []struct {
		maxInflight braid.Inflight
		warnings    int
		logged      string
	}{
		{braid.InflightOff, 1, "max_inflight=0 from=off"},
		{0, 0, `max_inflight=256 from="default: an upstream has no rps budget"`},
		{8, 0, "max_inflight=8 from=auth.max_inflight"},
	}
	for _, c := range cases {
		cfg := braid.DefaultConfig()
		cfg.Networks = []braid.Network{{Name: "devnet", ChainID: 1337,
			Upstreams: []braid.Upstream{{Name: "a", Operator: "a", URL: "http://127.0.0.1:1"}}}}
		cfg.Auth = braid.Auth{Required: true, MaxInflight: c.maxInflight}
		cfg.Keys = []braid.APIKey{{Name: "a", Key: "bk_" + strings.Repeat("a", 40)}, {Name: "b", Key: "bk_" + strings.Repeat("b", 40)}}
		var logs syncBuffer
		b, err := braid.New(cfg, braid.WithStartWait(0), braid.WithLogger(slog.New(slog.NewTextHandler(&logs, nil))))
		if err != nil {
			t.Fatal(err)
		}
		b.Close()
		if got := strings.Count(logs.String(), "auth: max_inflight is off"); got != c.warnings {
			t.Errorf("max_inflight %d: %d warnings about fair sharing, want %d:\n%s", c.maxInflight, got, c.warnings, logs.String())
		}
		if !strings.Contains(logs.String(), `msg="fair admission" network=devnet `+c.logged) {
			t.Errorf("max_inflight %d: the start log does not say %q:\n%s", c.maxInflight, c.logged, logs.String())
		}
	}
}
