package server_test

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/braidrpc/braid/internal/access"
	"github.com/braidrpc/braid/internal/clock"
	"github.com/braidrpc/braid/internal/config"
	"github.com/braidrpc/braid/internal/gateway"
	"github.com/braidrpc/braid/internal/gatewaytest"
	"github.com/braidrpc/braid/internal/replica"
	"github.com/braidrpc/braid/internal/server"
)

// logBuf is a goroutine-safe buffer behind a slog.Logger at Debug: the
// tests grep everything braid logs.
type logBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (w *logBuf) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}

func (w *logBuf) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.String()
}

func (w *logBuf) logger() *slog.Logger {
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// keyedBraid is braid with API keys and limits: its access Control runs
// on a fake clock (limits, quotas and key reloads move only when the test
// says), and everything it logs is kept.
type keyedBraid struct {
	*braid
	WS    string
	ctl   *access.Control
	clock *clock.Fake
	logs  *logBuf
}

var keyedStart = time.Date(2026, 3, 4, 12, 0, 0, 0, time.UTC)

// startKeyed serves cfg (with its auth and keys) over the fakes of nets;
// link, when set, is the Redis its limits and keys are shared through.
func startKeyed(t *testing.T, cfg *config.Config, link *replica.Link, nets ...netSpec) *keyedBraid {
	t.Helper()
	cfg.ApplyDefaults()
	if err := cfg.Validate(); err != nil {
		t.Fatalf("test configuration is invalid: %v", err)
	}
	logs := &logBuf{}
	log := logs.logger()
	reg := prometheus.NewRegistry()
	gw, ctx := gatewaytest.StartWith(t, cfg, gateway.Options{Version: "test", Logger: log, Registry: reg, ProbeShare: -1})
	fake := clock.NewFake(keyedStart)
	ctl, err := access.New(cfg, access.Options{Link: link, Clock: fake, Logger: log, Registry: reg})
	if err != nil {
		t.Fatal(err)
	}
	ctl.Start(ctx)
	t.Cleanup(ctl.Close)
	srv := server.New(gw, server.Options{Limits: cfg.Limits, WebSocket: &cfg.WebSocket, TrustedProxies: cfg.TrustedProxies,
		Logger: log, Gatherer: reg, Registry: reg, Access: ctl})
	hs := httptest.NewServer(srv)
	t.Cleanup(hs.Close)
	t.Cleanup(srv.CloseWebSockets)
	b := &braid{t: t, cfg: cfg, gw: gw, reg: reg, srv: srv, http: hs, URL: hs.URL}
	for _, n := range nets {
		b.fakes = append(b.fakes, n.fakes...)
	}
	for _, f := range b.fakes {
		f.ResetCalls()
	}
	return &keyedBraid{braid: b, WS: "ws" + strings.TrimPrefix(hs.URL, "http"), ctl: ctl, clock: fake, logs: logs}
}

// keyedConfig is a configuration over nets with auth and keys.
func keyedConfig(t *testing.T, auth config.Auth, keys []config.APIKey, nets ...netSpec) *config.Config {
	t.Helper()
	cfg := braidConfig(t, nil, nets...)
	cfg.Auth, cfg.Keys = auth, keys
	return cfg
}

// send posts body to path with headers and returns the status, the
// Retry-After header and the body.
func send(t *testing.T, u, body string, header http.Header) (int, string, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, u, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	for k, v := range header {
		req.Header[k] = v
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	return res.StatusCode, res.Header.Get("Retry-After"), readAll(t, res)
}

// dialKeyed opens a WebSocket to u with header, or returns the HTTP
// status and body that refused the upgrade.
func dialKeyed(t *testing.T, u string, header http.Header) (*wsClient, int, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wsWait)
	defer cancel()
	c, res, err := websocket.Dial(ctx, u, &websocket.DialOptions{HTTPHeader: header})
	if err != nil {
		if res == nil {
			t.Fatalf("dial %s: %v", u, err)
		}
		return nil, res.StatusCode, readAll(t, res)
	}
	c.SetReadLimit(-1)
	t.Cleanup(func() { _ = c.CloseNow() })
	return &wsClient{t: t, conn: c}, http.StatusSwitchingProtocols, ""
}

func bearer(key string) http.Header { return http.Header{"Authorization": {"Bearer " + key}} }
func apiKey(key string) http.Header { return http.Header{"X-Api-Key": {key}} }

const blockNumberCall = `{"jsonrpc":"2.0","id":7,"method":"eth_blockNumber"}`
