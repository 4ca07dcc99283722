package server_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/braidrpc/braid/internal/config"
	"github.com/braidrpc/braid/internal/gateway"
	"github.com/braidrpc/braid/internal/gatewaytest"
	"github.com/braidrpc/braid/internal/server"
)

// The fake providers and the gateway under them are package
// gatewaytest's, shared with the gateway's own tests; this file puts the
// HTTP front on top.

// Fixed answers of the fake upstreams. Transcripts in testdata/ spell them
// out byte for byte.
const (
	revertData   = gatewaytest.RevertData
	revertError  = gatewaytest.RevertError
	callResult   = gatewaytest.CallResult
	blockResult  = gatewaytest.BlockResult
	sendRawError = gatewaytest.SendRawError
)

type (
	fakeUpstream = gatewaytest.Fake
	rpcAnswer    = gatewaytest.RPCAnswer
)

var (
	setTrap      = gatewaytest.SetTrap
	testLogger   = gatewaytest.Logger
	decodeAnswer = gatewaytest.DecodeAnswer
	servesTip    = gatewaytest.ServesTip
)

func newFake(t testing.TB, name string, chainID uint64) *fakeUpstream {
	return gatewaytest.NewFake(t, name, chainID)
}

// netSpec describes one network of a test configuration.
type netSpec struct {
	name    string
	chainID uint64
	methods config.Methods
	fakes   []*fakeUpstream
}

// braidConfig builds a validated configuration for nets, with the default
// limits changed by limits (when not nil).
func braidConfig(t testing.TB, limits func(*config.Limits), nets ...netSpec) *config.Config {
	t.Helper()
	specs := make([]gatewaytest.NetSpec, len(nets))
	for i, n := range nets {
		specs[i] = gatewaytest.NetSpec{Name: n.name, ChainID: n.chainID, Methods: n.methods, Fakes: n.fakes}
	}
	return gatewaytest.Config(t, limits, specs...)
}

// mainnet returns a network spec "mainnet" (chain 1) over fakes.
func mainnet(fakes ...*fakeUpstream) netSpec {
	return netSpec{name: "mainnet", chainID: 1, fakes: fakes}
}

// braid is a running gateway and its HTTP front.
type braid struct {
	t     testing.TB
	cfg   *config.Config
	gw    *gateway.Gateway
	reg   *prometheus.Registry
	srv   *server.Server
	http  *httptest.Server
	URL   string
	fakes []*fakeUpstream
}

// startGateway builds and starts the gateway for cfg; it is stopped when the
// test ends.
func startGateway(t testing.TB, cfg *config.Config) (*gateway.Gateway, *prometheus.Registry) {
	t.Helper()
	return gatewaytest.StartGateway(t, cfg)
}

// startBraid runs braid over the fakes of nets and serves it on loopback.
// The fakes' counters are reset once braid has verified their chain ids,
// so tests count only the calls their own requests caused.
func startBraid(t testing.TB, limits func(*config.Limits), nets ...netSpec) *braid {
	t.Helper()
	return startBraidConfig(t, braidConfig(t, limits, nets...), nets...)
}

// startBraidConfig is startBraid for a configuration the test adjusted
// (e.g. an upstream's timeout); nets name the fakes it uses.
func startBraidConfig(t testing.TB, cfg *config.Config, nets ...netSpec) *braid {
	t.Helper()
	if err := cfg.Validate(); err != nil {
		t.Fatalf("test configuration is invalid: %v", err)
	}
	gw, reg := startGateway(t, cfg)
	srv := server.New(gw, server.Options{Limits: cfg.Limits, WebSocket: cfg.WebSocket, TrustedProxies: cfg.TrustedProxies, CORS: cfg.CORS,
		Logger: testLogger(), Gatherer: reg})
	hs := httptest.NewServer(srv)
	t.Cleanup(hs.Close)
	b := &braid{t: t, cfg: cfg, gw: gw, reg: reg, srv: srv, http: hs, URL: hs.URL}
	for _, n := range nets {
		b.fakes = append(b.fakes, n.fakes...)
	}
	servesTip(t, gw)
	for _, f := range b.fakes {
		f.ResetCalls()
	}
	return b
}

// fake returns the fake upstream called name.
func (b *braid) fake(name string) *fakeUpstream {
	for _, f := range b.fakes {
		if f.Name() == name {
			return f
		}
	}
	b.t.Fatalf("no fake upstream %q", name)
	return nil
}

// calls sums the calls for method over every fake.
func (b *braid) calls(method string) int { return gatewaytest.CallsOf(method, b.fakes...) }

// post sends body to path and returns the status and the response body.
func (b *braid) post(path, body string) (int, string) {
	b.t.Helper()
	return doRequest(b.t, http.MethodPost, b.URL+path, body)
}

// call sends a single JSON-RPC call and decodes the answer.
func (b *braid) call(path, method, params string) rpcAnswer {
	b.t.Helper()
	body := `{"jsonrpc":"2.0","id":1,"method":"` + method + `"`
	if params != "" {
		body += `,"params":` + params
	}
	body += "}"
	status, out := b.post(path, body)
	if status != http.StatusOK {
		b.t.Fatalf("%s: HTTP %d: %s", method, status, out)
	}
	return decodeAnswer(b.t, out)
}

func doRequest(t testing.TB, method, url, body string) (int, string) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer res.Body.Close()
	out, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatalf("%s %s: reading answer: %v", method, url, err)
	}
	return res.StatusCode, string(out)
}

// postRaw posts body to u; unlike braid.post it needs no testing.T, so
// goroutines may use it.
func postRaw(u, body string) (int, string, error) {
	res, err := http.Post(u, "application/json", strings.NewReader(body))
	if err != nil {
		return 0, "", err
	}
	defer res.Body.Close()
	out, err := io.ReadAll(res.Body)
	return res.StatusCode, string(out), err
}
