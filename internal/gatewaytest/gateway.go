package gatewaytest

import (
	"context"
	"encoding/json"
	"log/slog"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/expfmt"

	"github.com/braidrpc/braid/internal/await"
	"github.com/braidrpc/braid/internal/config"
	"github.com/braidrpc/braid/internal/gateway"
	"github.com/braidrpc/braid/internal/jsonrpc"
	"github.com/braidrpc/braid/internal/upstream"
)

// NetSpec describes one network of a test configuration.
type NetSpec struct {
	Name    string
	ChainID uint64
	Methods config.Methods
	Fakes   []*Fake
}

// Mainnet is a network "mainnet" (chain 1) over fakes.
func Mainnet(fakes ...*Fake) NetSpec {
	return NetSpec{Name: "mainnet", ChainID: 1, Fakes: fakes}
}

// Config builds a validated configuration for nets (each fake an upstream
// of operator "op-" + its name), with the default limits changed by
// limits (when not nil).
func Config(t testing.TB, limits func(*config.Limits), nets ...NetSpec) *config.Config {
	t.Helper()
	cfg := config.Default()
	cfg.Listen = "127.0.0.1:0"
	if limits != nil {
		limits(&cfg.Limits)
	}
	for _, n := range nets {
		nc := config.Network{Name: n.Name, ChainID: n.ChainID, Methods: n.Methods}
		for _, f := range n.Fakes {
			nc.Upstreams = append(nc.Upstreams, config.Upstream{Name: f.name, URL: f.URL(), Operator: "op-" + f.name})
		}
		cfg.Networks = append(cfg.Networks, nc)
	}
	cfg.ApplyDefaults()
	if err := cfg.Validate(); err != nil {
		t.Fatalf("test configuration is invalid: %v", err)
	}
	return cfg
}

// Logger discards, unless BRAID_TEST_LOG is set: then it writes every
// line to stderr.
func Logger() *slog.Logger {
	if os.Getenv("BRAID_TEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.DiscardHandler)
}

// StartGateway builds and starts the gateway for cfg (probing off, so the
// first choice of upstream is deterministic; probeShare overrides that
// when given); it is stopped when the test ends.
func StartGateway(t testing.TB, cfg *config.Config, probeShare ...float64) (*gateway.Gateway, *prometheus.Registry) {
	t.Helper()
	reg := prometheus.NewRegistry()
	opts := gateway.Options{Version: "test", Logger: Logger(), Registry: reg, ProbeShare: -1}
	if len(probeShare) > 0 {
		opts.ProbeShare = probeShare[0]
	}
	gw, _ := StartWith(t, cfg, opts)
	return gw, reg
}

// StartWith validates cfg, starts a gateway with opts and stops it when the
// test ends; the context it returns is the gateway's run context,
// cancelled then too.
func StartWith(t testing.TB, cfg *config.Config, opts gateway.Options) (*gateway.Gateway, context.Context) {
	t.Helper()
	if err := cfg.Validate(); err != nil {
		t.Fatalf("test configuration is invalid: %v", err)
	}
	gw, err := gateway.New(cfg, opts)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(func() {
		cancel()
		gw.Close()
	})
	gw.Start(ctx, 5*time.Second)
	return gw, ctx
}

// ServesTip waits (bounded) until every network that can have a tip
// serves one, polling its upstreams' heads meanwhile, so that a test sees
// braid as it runs, not in the moment before its first head poll (when
// it forwards eth_blockNumber and pins nothing): which of the two a test
// met depended on how fast it ran. gateway.Start waits for this too, but
// only for a while: on a loaded machine it may give up first. A network
// whose upstreams are all checked (none waits for its chain id) with too
// few usable operators for a tip (e.g. one serves another chain) gets
// none; one whose upstreams cannot even be checked (the test took them
// down) is the test's business.
func ServesTip(t testing.TB, gw *gateway.Gateway) {
	t.Helper()
	for _, n := range gw.Networks() {
		checked := func() bool {
			for _, u := range n.Upstreams() {
				if st, _ := u.State(); st == upstream.Unverified {
					return false
				}
			}
			return true
		}
		done := await.Poll(await.Timeout, func() bool {
			if n.Tip().Known || (checked() && n.Usable() < n.Heads().MinOperators()) {
				return true
			}
			for _, u := range n.Upstreams() {
				if u.Usable() {
					_ = n.Heads().PollOnce(context.Background(), u) // failing: the test's business
				}
			}
			return n.Tip().Known
		})
		if !done && checked() {
			t.Fatalf("network %s serves no tip after polling its upstreams for %s", n.Name, await.Timeout)
		}
	}
}

// Harness is a started gateway over fakes, called through its executor.
type Harness struct {
	T     testing.TB
	Cfg   *config.Config
	GW    *gateway.Gateway
	Reg   *prometheus.Registry
	Fakes []*Fake
}

// Start runs a gateway over the fakes of nets, as Config builds it.
func Start(t testing.TB, limits func(*config.Limits), nets ...NetSpec) *Harness {
	t.Helper()
	return StartConfig(t, Config(t, limits, nets...), nets...)
}

// StartConfig is Start for a configuration the test adjusted (e.g. an
// upstream's timeout); nets name the fakes it uses. It returns once every
// network serves a tip (ServesTip), with the fakes' counters reset, so
// tests count only the calls their own requests caused.
func StartConfig(t testing.TB, cfg *config.Config, nets ...NetSpec) *Harness {
	t.Helper()
	gw, reg := StartGateway(t, cfg)
	return Started(t, cfg, gw, reg, nets...)
}

// Started is the harness of a gateway the test started itself (e.g. with
// other options), once it serves a tip, with the fakes' counters reset.
func Started(t testing.TB, cfg *config.Config, gw *gateway.Gateway, reg *prometheus.Registry, nets ...NetSpec) *Harness {
	t.Helper()
	h := &Harness{T: t, Cfg: cfg, GW: gw, Reg: reg}
	for _, n := range nets {
		h.Fakes = append(h.Fakes, n.Fakes...)
	}
	ServesTip(t, gw)
	for _, f := range h.Fakes {
		f.ResetCalls()
	}
	return h
}

// Calls sums the calls for method over every fake.
func (h *Harness) Calls(method string) int { return CallsOf(method, h.Fakes...) }

// CallsOf sums the calls for method over fakes.
func CallsOf(method string, fakes ...*Fake) int {
	n := 0
	for _, f := range fakes {
		n += f.Calls(method)
	}
	return n
}

// Exec runs body, one JSON-RPC call, through the first network's executor
// and returns its result (the answer and what the server reports of it).
func (h *Harness) Exec(body string) gateway.Result {
	h.T.Helper()
	msg, bad := jsonrpc.Decode([]byte(body), 0)
	if bad != nil || msg.Batch || msg.Members[0].Req == nil {
		h.T.Fatalf("%s is not one valid call", body)
	}
	return h.GW.Networks()[0].Execute(context.Background(), msg.Members[0].Req)
}

// Answer runs body as Exec does and returns the answer as a client gets
// it, byte for byte.
func (h *Harness) Answer(body string) string {
	h.T.Helper()
	return string(h.Exec(body).Response.AppendJSON(nil))
}

// Call runs a single call with id 1 and decodes the answer.
func (h *Harness) Call(method, params string) RPCAnswer {
	h.T.Helper()
	body := `{"jsonrpc":"2.0","id":1,"method":"` + method + `"`
	if params != "" {
		body += `,"params":` + params
	}
	return DecodeAnswer(h.T, h.Answer(body+"}"))
}

// Metrics is the text exposition of every collector in the harness's
// registry, as /metrics shows it.
func (h *Harness) Metrics() string {
	h.T.Helper()
	mfs, err := h.Reg.Gather()
	if err != nil {
		h.T.Fatal(err)
	}
	var sb strings.Builder
	for _, mf := range mfs {
		if _, err := expfmt.MetricFamilyToText(&sb, mf); err != nil {
			h.T.Fatal(err)
		}
	}
	return sb.String()
}

// RPCAnswer is a decoded JSON-RPC answer.
type RPCAnswer struct {
	ID     json.RawMessage `json:"id"`
	Result json.RawMessage `json:"result"`
	Error  *struct {
		Code    int             `json:"code"`
		Message string          `json:"message"`
		Data    json.RawMessage `json:"data"`
	} `json:"error"`
}

// DecodeAnswer decodes body, failing t if it is not a JSON-RPC answer.
func DecodeAnswer(t testing.TB, body string) RPCAnswer {
	t.Helper()
	var a RPCAnswer
	if err := json.Unmarshal([]byte(body), &a); err != nil {
		t.Fatalf("answer %q is not a JSON-RPC object: %v", body, err)
	}
	return a
}

// QuorumConfig is mainnet over fakes with quorum q: heads polled every
// 20 ms, 3 strikes in a minute quarantine an operator for an hour, and
// the cache off (every read reaches the operators: quorum tests count
// disputes, strikes and answers served per operator).
func QuorumConfig(t testing.TB, q config.Quorum, fakes ...*Fake) *config.Config {
	t.Helper()
	cfg := Config(t, nil, Mainnet(fakes...))
	cfg.Networks[0].Quorum = q
	cfg.Networks[0].Head.PollInterval = 20 * time.Millisecond
	cfg.Networks[0].Strikes = config.Strikes{Max: 3, Window: time.Minute, Quarantine: time.Hour}
	cfg.Cache.Backend = config.CacheOff
	cfg.ApplyDefaults()
	return cfg
}

// AwaitHeads waits until every upstream of n reported its head (a quorum
// read goes only to upstreams known to hold the pinned block), then
// resets the fakes' counters.
func AwaitHeads(t testing.TB, n *gateway.Network, fakes ...*Fake) {
	t.Helper()
	await.Until(t, "every upstream's head polled", func() bool {
		known := 0
		for _, u := range n.Upstreams() {
			if _, ok := n.Heads().Heads(u); ok {
				known++
			}
		}
		return known == len(n.Upstreams())
	})
	for _, f := range fakes {
		f.ResetCalls()
	}
}
