package replica

import (
	"bytes"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/braidrpc/braid/internal/clock"
)

// logBuf is a goroutine-safe buffer behind a text slog.Logger.
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

// count is how many lines carry s.
func (w *logBuf) count(s string) int { return strings.Count(w.String(), s) }

func (w *logBuf) logger() *slog.Logger {
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// testTimeout is generous so that a loaded -race run does not mistake a slow
// Redis for a dead one.
const testTimeout = time.Second

func newLink(t *testing.T, url string, clk clock.Clock, log *slog.Logger) *Link {
	t.Helper()
	l, err := NewLink(LinkOptions{URL: url, Prefix: "braid", Timeout: testTimeout, Clock: clk, Logger: log})
	if err != nil {
		t.Fatalf("NewLink: %v", err)
	}
	t.Cleanup(func() { l.Close() })
	return l
}

// refusedAddr is a loopback address nobody listens on.
func refusedAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}
