// Package braid runs braid, a federation of independent Ethereum JSON-RPC
// providers, inside a Go program: no gateway process to fail and no extra
// network hop. New starts the whole federation from a Config (failover,
// hedging, quorum across operators, verification, the finality-aware
// cache); Client returns a go-ethereum *rpc.Client bound to it, so
// ethclient.NewClient(b.Client()) works unchanged; Handler serves the
// same JSON-RPC, WebSocket, health, status and metrics endpoints as
// `braid serve`, for mounting in an existing HTTP server.
//
// DialFailover is for the other shape: a Go program talking to several
// braid replicas, failing over between them.
package braid

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/ethereum/go-ethereum/rpc"
	"github.com/gorilla/websocket"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/braidrpc/braid/internal/config"
	"github.com/braidrpc/braid/internal/gateway"
	"github.com/braidrpc/braid/internal/server"
)

// Configuration types. A Config is usually read from YAML with LoadConfig
// or ParseConfig (docs/configuration.md); it can also be built in code.
type (
	Config    = config.Config
	Network   = config.Network
	Upstream  = config.Upstream
	Limits    = config.Limits
	Cache     = config.Cache
	Redis     = config.Redis
	Quorum    = config.Quorum
	Verify    = config.Verify
	Head      = config.Head
	Hedge     = config.Hedge
	Breaker   = config.Breaker
	Strikes   = config.Strikes
	Methods   = config.Methods
	Require   = config.Require
	WebSocket = config.WebSocket
	Filters   = config.Filters
	// API keys and limits on callers (Config.Auth, Config.Keys).
	Auth         = config.Auth
	APIKey       = config.APIKey
	KeyLimits    = config.KeyLimits
	ClientLimits = config.ClientLimits
	// Inflight is Auth.MaxInflight: 0 (unset) lets braid derive it per
	// network when callers share braid; InflightOff turns it off.
	Inflight = config.Inflight
)

// InflightOff turns fair admission off (Auth.MaxInflight).
const InflightOff = config.InflightOff

// LoadConfig reads, checks and completes a YAML configuration file,
// expanding ${ENV} references from the environment.
func LoadConfig(path string) (*Config, error) { return config.Load(path) }

// ParseConfig is LoadConfig for YAML already in memory; source names it in
// error messages.
func ParseConfig(data []byte, source string) (*Config, error) { return config.Parse(data, source) }

// DefaultConfig returns a Config holding every default, with no networks.
func DefaultConfig() *Config { return config.Default() }

// defaultStartWait bounds how long New waits for the upstreams to confirm
// their chain id before it returns.
const defaultStartWait = 10 * time.Second

// Option tunes New.
type Option func(*options)

type options struct {
	logger    *slog.Logger
	registry  *prometheus.Registry
	startWait time.Duration
	version   string
	routes    []route
}

type route struct {
	pattern string
	h       http.Handler
}

// WithLogger sends braid's logs to l (default: discarded).
func WithLogger(l *slog.Logger) Option { return func(o *options) { o.logger = l } }

// WithRegistry registers braid's Prometheus collectors on reg, which
// Handler's /metrics then serves (default: a registry of braid's own).
func WithRegistry(reg *prometheus.Registry) Option { return func(o *options) { o.registry = reg } }

// WithStartWait bounds how long New waits for every upstream to confirm
// its chain id and for every network's first served tip (default 10s;
// slower upstreams join when they answer). Zero returns at once.
func WithStartWait(d time.Duration) Option { return func(o *options) { o.startWait = d } }

// WithVersion sets the version braid reports (web3_clientVersion, logs).
func WithVersion(v string) Option { return func(o *options) { o.version = v } }

// WithRoute mounts h on Handler's mux at pattern (http.ServeMux syntax),
// beside braid's own paths.
func WithRoute(pattern string, h http.Handler) Option {
	return func(o *options) { o.routes = append(o.routes, route{pattern, h}) }
}

// Braid is a running federation. Its methods are safe for concurrent use.
type Braid struct {
	cfg  *Config
	gw   *gateway.Gateway
	srv  *server.Server
	log  *slog.Logger
	stop context.CancelFunc

	pipe *pipeListener
	wg   sync.WaitGroup
	keys *keys // API keys and limits; nil when not configured

	mu      sync.Mutex
	clients map[string]*rpc.Client
	closed  bool
}

// New checks cfg, starts the federation it describes and returns once the
// upstreams have confirmed their chain id and every network has a served
// tip (see WithStartWait). cfg is
// completed with defaults in place; it must not be changed afterwards.
func New(cfg *Config, opts ...Option) (*Braid, error) {
	o := options{startWait: defaultStartWait, version: "dev"}
	for _, opt := range opts {
		if opt != nil {
			opt(&o)
		}
	}
	if o.logger == nil {
		o.logger = slog.New(slog.DiscardHandler)
	}
	if o.registry == nil {
		o.registry = prometheus.NewRegistry()
	}
	registerRuntime(o.registry, o.logger)
	if cfg == nil {
		return nil, errors.New("braid: nil config")
	}
	cfg.ApplyDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("braid: %w", err)
	}
	for i := range cfg.Networks {
		for _, w := range cfg.Networks[i].Warnings() {
			o.logger.Warn(w, "network", cfg.Networks[i].Name)
		}
	}
	for _, w := range cfg.AuthWarnings() {
		o.logger.Warn(w)
	}
	gw, err := gateway.New(cfg, gateway.Options{Version: o.version, Logger: o.logger, Registry: o.registry})
	if err != nil {
		return nil, fmt.Errorf("braid: %w", err)
	}
	ctx, stop := context.WithCancel(context.Background())
	keys, err := startKeys(ctx, cfg, &o)
	if err != nil {
		stop()
		gw.Close()
		return nil, err
	}
	srv := server.New(gw, server.Options{Limits: cfg.Limits, WebSocket: &cfg.WebSocket, TrustedProxies: cfg.TrustedProxies,
		CORS: cfg.CORS, Logger: o.logger, Gatherer: o.registry, Registry: o.registry, Access: keys.control()})
	for _, r := range o.routes {
		srv.Handle(r.pattern, r.h)
	}
	b := &Braid{cfg: cfg, gw: gw, srv: srv, log: o.logger, stop: stop, pipe: newPipeListener(),
		clients: make(map[string]*rpc.Client), keys: keys}
	gw.Start(ctx, o.startWait)
	b.wg.Add(1)
	go func() {
		defer b.wg.Done()
		// Quiet: this is the in-process clients' listener, not the
		// endpoint a shutdown log line is about.
		_ = server.Serve(ctx, b.pipe, srv, cfg.Limits.ShutdownTimeout, slog.New(slog.DiscardHandler))
	}()
	return b, nil
}

// Handler serves braid's endpoints: JSON-RPC over HTTP POST and WebSocket
// at / (the first network) and /{network}, /healthz, /readyz, /status and
// /metrics.
func (b *Braid) Handler() http.Handler { return b.srv }

// Serve serves Handler on ln until ctx ends, then shuts down gracefully
// (limits.shutdown_timeout for in-flight requests; WebSocket clients are
// closed with status 1001). It is what `braid serve` runs.
func (b *Braid) Serve(ctx context.Context, ln net.Listener) error {
	return server.Serve(ctx, ln, b.srv, b.cfg.Limits.ShutdownTimeout, b.log)
}

// Client returns a go-ethereum RPC client for the first configured
// network, connected in-process: calls go straight into braid with no
// network in between, and subscriptions (eth_subscribe) work. The client
// is shared; Close closes it. It belongs to the program that embeds
// braid: it needs no API key and no limit counts its calls.
func (b *Braid) Client() *rpc.Client {
	c, err := b.NetworkClient(b.cfg.Networks[0].Name)
	if err != nil {
		// Only possible after Close: return a client whose calls fail
		// with the reason rather than a nil one.
		c, _ = rpc.DialOptions(context.Background(), "http://braid.closed/", rpc.WithHTTPClient(&http.Client{
			Transport: closedTransport{err},
		}))
	}
	return c
}

// NetworkClient returns the in-process client of the named network.
func (b *Braid) NetworkClient(name string) (*rpc.Client, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return nil, errClosed
	}
	if c, ok := b.clients[name]; ok {
		return c, nil
	}
	if b.gw.Network(name) == nil {
		return nil, fmt.Errorf("braid: no network %q", name)
	}
	c, err := rpc.DialOptions(context.Background(), "ws://braid.in-process/"+name,
		rpc.WithWebsocketDialer(websocket.Dialer{
			NetDialContext:  b.pipe.DialContext,
			ReadBufferSize:  64 << 10,
			WriteBufferSize: 64 << 10,
		}),
		rpc.WithWebsocketMessageSizeLimit(b.cfg.Limits.MaxResponseBytes),
	)
	if err != nil {
		return nil, fmt.Errorf("braid: in-process client: %w", err)
	}
	b.clients[name] = c
	return c, nil
}

// Close stops braid: clients are closed, background work stops and
// upstream connections are released.
func (b *Braid) Close() error {
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return nil
	}
	b.closed = true
	clients := b.clients
	b.clients = nil
	b.mu.Unlock()
	for _, c := range clients {
		c.Close()
	}
	b.stop()
	b.wg.Wait()
	b.keys.close()
	b.gw.Close()
	return nil
}

// registerRuntime adds the Go runtime (go_*: goroutines, heap, GC) and
// process (process_*: resident memory, CPU, open files) collectors to reg,
// once: a registry that has them already (a program's own) keeps its
// own, and one whose collectors clash with them is left without them,
// with a warning.
func registerRuntime(reg *prometheus.Registry, log *slog.Logger) {
	for _, c := range []prometheus.Collector{
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	} {
		if err := reg.Register(c); err != nil {
			var dup prometheus.AlreadyRegisteredError
			if !errors.As(err, &dup) {
				log.Warn("metrics: the registry refused a runtime collector", "err", err)
			}
		}
	}
}

var errClosed = errors.New("braid: closed")

type closedTransport struct{ err error }

func (t closedTransport) RoundTrip(*http.Request) (*http.Response, error) { return nil, t.err }
