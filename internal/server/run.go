package server

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/braidrpc/braid/internal/h1"
)

// Listen binds addr. It is separate from Serve so that callers (the demo,
// tests) learn the real address, e.g. when addr has port 0.
func Listen(addr string) (net.Listener, error) {
	return net.Listen("tcp", addr)
}

// webSocketCloser is a handler holding WebSocket connections, which
// http.Server.Shutdown does not see once they are hijacked.
type webSocketCloser interface {
	CloseWebSockets()
}

var _ webSocketCloser = (*Server)(nil)

// Serve serves h on ln until ctx is done, then shuts down gracefully:
// the listener closes at once, in-flight requests get up to grace to
// finish, WebSocket clients (when h has any) are closed with status 1001,
// and what is still running then is cut off. Plain JSON-RPC POSTs are
// answered by h1.Server in their connection's goroutine, every other
// request by net/http (docs/architecture.md, "Client-facing HTTP
// server").
func Serve(ctx context.Context, ln net.Listener, h http.Handler, grace time.Duration, log *slog.Logger) error {
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelDebug),
	}
	var wsClosed chan struct{}
	if wc, ok := h.(webSocketCloser); ok {
		wsClosed = make(chan struct{})
		srv.RegisterOnShutdown(func() {
			defer close(wsClosed)
			wc.CloseWebSockets()
		})
	}
	fast := &h1.Server{Handler: h, Fallback: srv, ReadHeaderTimeout: srv.ReadHeaderTimeout, IdleTimeout: srv.IdleTimeout, Log: log}
	errc := make(chan error, 1)
	go func() { errc <- fast.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	log.Info("shutting down: finishing in-flight requests", "grace", grace.String())
	sctx, cancel := context.WithTimeout(context.Background(), grace)
	defer cancel()
	err := fast.Shutdown(sctx)
	if wsClosed != nil && err == nil {
		select {
		case <-wsClosed:
		case <-sctx.Done():
			err = sctx.Err()
		}
	}
	if errors.Is(err, context.DeadlineExceeded) {
		log.Warn("shutdown grace period over: closing remaining connections")
		err = fast.Close()
	}
	if serr := <-errc; serr != nil && !errors.Is(serr, http.ErrServerClosed) {
		return serr
	}
	return err
}
