package integration

import (
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/braidrpc/braid/internal/await"
	"github.com/braidrpc/braid/internal/config"
	"github.com/braidrpc/braid/internal/gateway"
	"github.com/braidrpc/braid/internal/gatewaytest"
	"github.com/braidrpc/braid/internal/server"
)

// echoingProvider answers every call but eth_chainId (unless brokenID)
// with an error whose message and data repeat the URL it was called at,
// key and all, as some providers do.
func echoingProvider(t *testing.T, brokenID bool) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		var req struct {
			ID     json.RawMessage `json:"id"`
			Method string          `json:"method"`
		}
		if json.Unmarshal(body, &req) != nil {
			// A batch (head polls): refuse it, so they come one by one.
			http.Error(w, "batches not supported at "+r.URL.RequestURI(), http.StatusBadRequest)
			return
		}
		full := "http://" + r.Host + r.URL.RequestURI()
		w.Header().Set("Content-Type", "application/json")
		if req.Method == "eth_chainId" && !brokenID {
			fmt.Fprintf(w, `{"jsonrpc":"2.0","id":%s,"result":"0x1"}`, req.ID)
			return
		}
		code := -32603 // "internal error": failed over, then passed on
		switch req.Method {
		case "eth_call":
			code = 3
		case "eth_sendRawTransaction":
			code = -32000
		}
		msg, _ := json.Marshal(fmt.Sprintf("%s: cannot serve %s (key %s)", req.Method, full, r.URL.Query().Get("apikey")))
		data, _ := json.Marshal(map[string]string{"url": full, "path": r.URL.Path})
		fmt.Fprintf(w, `{"jsonrpc":"2.0","id":%s,"error":{"code":%d,"message":%s,"data":%s}}`, req.ID, code, msg, data)
	}))
	t.Cleanup(srv.Close)
	return srv
}

// TestUpstreamSecretsReachNoClientAndNoLog: providers that echo their
// URL (path key, query key, user info) in every error: no answer braid
// gives and no line it logs shows any of it.
func TestUpstreamSecretsReachNoClientAndNoLog(t *testing.T) {
	secrets := []string{"PathKey0123456789", "QueryKey987654321", "hunter2pass"}
	var ups []config.Upstream
	for i, broken := range []bool{false, false, true} {
		srv := echoingProvider(t, broken)
		url := strings.Replace(srv.URL, "http://", "http://user:hunter2pass@", 1) +
			fmt.Sprintf("/v3/PathKey0123456789/%d?apikey=QueryKey987654321", i)
		ups = append(ups, config.Upstream{Name: fmt.Sprintf("e%d", i), Operator: fmt.Sprintf("op%d", i), URL: url})
	}
	cfg := config.Default()
	cfg.Networks = []config.Network{{Name: "mainnet", ChainID: 1, Upstreams: ups, Head: config.Head{PollInterval: 20 * time.Millisecond}}}
	cfg.ApplyDefaults()
	var logs syncBuffer
	log := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	gw, _ := gatewaytest.StartWith(t, cfg, gateway.Options{Logger: log, ProbeShare: -1})
	srv := httptest.NewServer(server.New(gw, server.Options{Limits: cfg.Limits, Logger: log}))
	t.Cleanup(srv.Close)

	addr := "0x52908400098527886e0f7030069857d2e4169ee7"
	var answers []string
	for _, c := range []struct {
		method string
		params []any
	}{
		{"eth_getBalance", []any{addr, "0x1"}},                    // failed on one, passed on from the other
		{"eth_call", []any{map[string]any{"to": addr}, "latest"}}, // a revert with data
		{"eth_sendRawTransaction", []any{"0xf86380843b9aca008252089452908400098527886e0f7030069857d2e4169ee7018026a08cbc59da19108441cd58ca73bd28220f824199d72f61c084c3864877607c53e2a07225d3e800d879fc80e3332e3dc590207ccf689c49311651352fc1f159ce5127"}},
		{"debug_traceTransaction", []any{"0x88df016429689c079f3b2f6ad39fa052532c56795b733da78a91ebe6a713944b"}},
	} {
		a := rawCall(t, srv.URL, c.method, c.params...)
		if a.Error == nil || !strings.Contains(a.Error.Message, "cannot serve") {
			t.Fatalf("%s: %s: the providers' error did not come through", c.method, a)
		}
		b, _ := json.Marshal(a.Error)
		answers = append(answers, string(b))
	}
	// Wait for the lines braid writes about what happened: the broadcast,
	// the failed head polls and the upstream whose chain id is unknown.
	await.Within(t, 10*time.Second, "braid logs the broadcast and the failing polls", func() bool {
		l := logs.String()
		return strings.Contains(l, "transaction broadcast") && strings.Contains(l, "cannot confirm upstream chain id") &&
			strings.Contains(l, "cannot serve")
	})
	for _, s := range secrets {
		for _, a := range answers {
			if strings.Contains(a, s) {
				t.Errorf("an answer shows %q: %s", s, a)
			}
		}
		if l := logs.String(); strings.Contains(l, s) {
			i := strings.Index(l, s)
			t.Errorf("the log shows %q: …%s…", s, l[max(0, i-200):min(len(l), i+100)])
		}
	}
	if !strings.Contains(answers[0], "redacted") {
		t.Errorf("answer %s: no sign of the redaction", answers[0])
	}
	t.Logf("answer: %s", answers[0])
}
