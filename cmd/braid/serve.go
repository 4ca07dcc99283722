package main

import (
	"context"
	"errors"
	"flag"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/braidrpc/braid/internal/config"
	"github.com/braidrpc/braid/internal/gateway"
	"github.com/braidrpc/braid/internal/server"
	"github.com/prometheus/client_golang/prometheus"
)

// startupWait is how long serve waits for upstreams to confirm their chain
// id before it starts answering (slow ones join when they answer).
const startupWait = 10 * time.Second

func runServe(args []string) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	path := fs.String("config", "", "configuration file (YAML)")
	listen := fs.String("listen", "", "listen address (overrides the config's listen)")
	var lf logFlags
	lf.register(fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *path == "" {
		return errors.New("serve: --config FILE is required")
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

// run is what serve and demo share: build the gateway from a normal
// config, confirm upstreams, and serve on ln until ctx ends. extra mounts
// additional handlers (the demo's) before serving.
func run(ctx context.Context, cfg *config.Config, ln net.Listener, log *slog.Logger, extra func(*server.Server)) error {
	reg := prometheus.NewRegistry()
	gw, err := gateway.New(cfg, gateway.Options{Version: version(), Logger: log, Registry: reg})
	if err != nil {
		return err
	}
	defer gw.Close()
	srv := server.New(gw, server.Options{Limits: cfg.Limits, WebSocket: cfg.WebSocket, Logger: log, Gatherer: reg, Registry: reg})
	if extra != nil {
		extra(srv)
	}
	gw.Start(ctx, startupWait)
	log.Info("braid is serving", "listen", ln.Addr().String(), "networks", len(cfg.Networks), "version", version())
	return server.Serve(ctx, ln, srv, cfg.Limits.ShutdownTimeout, log)
}
