package access

import (
	"bytes"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/braidrpc/braid/internal/clock"
	"github.com/braidrpc/braid/internal/config"
	"github.com/braidrpc/braid/internal/replica"
)

// start is the tests' fake time: noon UTC, so a day ends 12 hours later.
var start = time.Date(2026, 3, 4, 12, 0, 0, 0, time.UTC)

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

func (w *logBuf) count(s string) int { return strings.Count(w.String(), s) }

func (w *logBuf) logger() *slog.Logger {
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// newLink connects to the Redis at url on the wall clock (its prober must
// run on its own); it is closed when the test ends.
func newLink(t *testing.T, url string) *replica.Link {
	t.Helper()
	return newLinkB(t, url)
}

func newLinkB(t testing.TB, url string) *replica.Link {
	t.Helper()
	l, err := replica.NewLink(replica.LinkOptions{URL: url, Prefix: "braid", Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return l
}

// testConfig is a validated configuration of networks "mainnet" and
// "sepolia" with auth and keys.
func testConfig(t *testing.T, auth config.Auth, keys ...config.APIKey) *config.Config {
	t.Helper()
	cfg := config.Default()
	cfg.Auth = auth
	cfg.Keys = keys
	for _, n := range []string{"mainnet", "sepolia"} {
		cfg.Networks = append(cfg.Networks, config.Network{Name: n, ChainID: 1,
			Upstreams: []config.Upstream{{Name: "u", URL: "http://127.0.0.1:1", Operator: "o"}}})
	}
	if auth.Store == config.KeyStoreRedis {
		cfg.Redis.URL = "redis://127.0.0.1:1/0"
	}
	cfg.ApplyDefaults()
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	return cfg
}

// newControl builds and starts a Control on a fake clock.
func newControl(t *testing.T, cfg *config.Config, opts Options) (*Control, *clock.Fake) {
	t.Helper()
	fake, _ := opts.Clock.(*clock.Fake)
	if fake == nil {
		fake = clock.NewFake(start)
		opts.Clock = fake
	}
	c, err := New(cfg, opts)
	if err != nil {
		t.Fatal(err)
	}
	c.Start(t.Context())
	t.Cleanup(c.Close)
	return c, fake
}
