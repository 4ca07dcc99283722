package integration

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/rpc"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/braidrpc/braid/internal/await"
	"github.com/braidrpc/braid/internal/config"
	"github.com/braidrpc/braid/internal/devnet"
	"github.com/braidrpc/braid/internal/gateway"
	"github.com/braidrpc/braid/internal/server"
)

// stack is a devnet with braid in front of it.
type stack struct {
	dn    *devnet.Devnet
	url   string
	braid *rpc.Client
}

// newStack starts a devnet with n providers (manual blocks) and a gateway
// configured the way `braid demo` configures it.
func newStack(t *testing.T, n int) *stack {
	t.Helper()
	ctx := context.Background()
	dn, err := devnet.New(ctx, devnet.Options{Providers: n})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { dn.Close() })
	cfg := config.Default()
	cfg.Networks = []config.Network{{Name: "devnet", ChainID: dn.ChainID(), Upstreams: dn.Upstreams(),
		Head: config.Head{PollInterval: 50 * time.Millisecond}}}
	cfg.ApplyDefaults()
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	_, url := serveGateway(t, cfg, n)
	c, err := rpc.DialHTTP(url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return &stack{dn: dn, url: url, braid: c}
}

// serveGateway starts braid for cfg (validated) the way `braid serve`
// does, waits until all want upstreams are usable, and serves it over
// HTTP on loopback.
func serveGateway(t testing.TB, cfg *config.Config, want int) (*gateway.Gateway, string) {
	t.Helper()
	gw, _, url := serveGatewayMetrics(t, cfg, want)
	return gw, url
}

// serveGatewayMetrics is serveGateway that also returns the metrics
// registry.
func serveGatewayMetrics(t testing.TB, cfg *config.Config, want int) (*gateway.Gateway, *prometheus.Registry, string) {
	t.Helper()
	return serveGatewayWith(t, cfg, want, 0)
}

// serveGatewayWith is serveGatewayMetrics with the gateway's probe share
// (0: its default).
func serveGatewayWith(t testing.TB, cfg *config.Config, want int, probeShare float64) (*gateway.Gateway, *prometheus.Registry, string) {
	t.Helper()
	reg := prometheus.NewRegistry()
	log := slog.New(slog.DiscardHandler)
	gw, err := gateway.New(cfg, gateway.Options{Logger: log, Registry: reg, ProbeShare: probeShare})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(gw.Close)
	gw.Start(context.Background(), 10*time.Second)
	if got := gw.Networks()[0].Usable(); got != want {
		t.Fatalf("%d of %d upstreams usable after start", got, want)
	}
	url := serveFront(t, server.New(gw, server.Options{Limits: cfg.Limits, Logger: log, Gatherer: reg}))
	return gw, reg, url
}

// serveFront serves h on loopback as `braid serve` does (server.Serve:
// h1.Server in front of net/http), until the test ends, and returns its URL.
func serveFront(t testing.TB, h http.Handler) string {
	t.Helper()
	ln, err := server.Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- server.Serve(ctx, ln, h, 5*time.Second, slog.New(slog.DiscardHandler)) }()
	t.Cleanup(func() {
		cancel()
		if err := <-served; err != nil {
			t.Errorf("serving braid: %v", err)
		}
	})
	return "http://" + ln.Addr().String()
}

// provider dials one provider directly, bypassing braid.
func (s *stack) provider(t *testing.T, name string) *rpc.Client {
	t.Helper()
	p := s.dn.Provider(name)
	if p == nil {
		t.Fatalf("no provider %s", name)
	}
	c, err := rpc.DialHTTP(p.URL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

// waitTip waits (bounded) until braid serves the chain's current head as
// its own tip: blocks mined with Step or Commit reach braid with its next
// head poll. (eth_blockNumber alone cannot tell: before the tip is known
// it is forwarded to a provider.)
func (s *stack) waitTip(t *testing.T) {
	t.Helper()
	var want hexutil.Uint64
	if err := s.dn.RPC().CallContext(context.Background(), &want, "eth_blockNumber"); err != nil {
		t.Fatal(err)
	}
	await.Within(t, 10*time.Second, fmt.Sprintf("braid serves block %d", want), func() bool {
		resp, err := http.Get(s.url + "/status")
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		var st gateway.Status
		return json.NewDecoder(resp.Body).Decode(&st) == nil && st.Networks[0].Tip.Known &&
			st.Networks[0].Tip.Latest.Number >= uint64(want)
	})
}
