package main

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/braidrpc/braid"
	"github.com/braidrpc/braid/internal/config"
	"github.com/braidrpc/braid/internal/server"
)

// startupWait is how long serve waits for upstreams to confirm their chain
// id before it starts answering (slow ones join when they answer).
const startupWait = 10 * time.Second

const serveUsage = `Usage: braid serve --config FILE [flags]

Serves the networks configured in FILE (YAML) until SIGINT or SIGTERM:
JSON-RPC over HTTP and WebSocket at / (the first network) and /{network},
with /healthz, /status, /status/centralization and /metrics beside them.
${NAME} in FILE is the environment variable NAME (API keys stay out of the
file); braid never shows an upstream URL beyond its scheme and host.
`

func runServe(args []string, stderr io.Writer) error {
	fs := newFlagSet("serve", serveUsage, stderr)
	path := fs.String("config", "", "configuration file (YAML); see docs/configuration.md")
	listen := fs.String("listen", "", "listen address (overrides the config's listen)")
	var lf logFlags
	lf.register(fs)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *path == "" {
		return usageError{error: errors.New(`serve: --config FILE is required (run "braid serve -h"; examples/ has configurations to start from)`)}
	}
	log, err := lf.logger(os.Stderr)
	if err != nil {
		return err
	}
	cfg, err := config.Load(*path)
	if err != nil {
		return err
	}
	if *listen != "" {
		cfg.Listen = *listen
	}
	ln, err := server.Listen(cfg.Listen)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return run(ctx, cfg, ln, log, nil)
}

// run is what serve and demo share: start braid from a normal config
// through the same public API a Go program embeds, and serve it on ln until
// ctx ends. opts add to it (the demo mounts its fault controls).
func run(ctx context.Context, cfg *config.Config, ln net.Listener, log *slog.Logger, opts ...braid.Option) error {
	setMemoryLimit(cfg, log)
	setGCPercentFor(cfg)
	releaseStartupPages(log)
	opts = append([]braid.Option{braid.WithLogger(log), braid.WithVersion(version()), braid.WithStartWait(startupWait)}, opts...)
	b, err := braid.New(cfg, opts...)
	if err != nil {
		return err
	}
	defer b.Close()
	log.Info("braid is serving", "listen", ln.Addr().String(), "networks", len(cfg.Networks), "version", version())
	return b.Serve(ctx, ln)
}
