package replica

import (
	"context"
	"errors"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"github.com/braidrpc/braid/internal/await"
	"github.com/braidrpc/braid/internal/clock"
	"github.com/braidrpc/braid/internal/redistest"
)

const (
	warnLine = "redis unreachable: each replica serves from its own memory until it is back"
	infoLine = "redis reachable again: sharing resumed"
)

func TestLinkOutageAndRecovery(t *testing.T) {
	srv := redistest.StartArgs(t, "--requirepass", "s3cr3t-pw")
	url := "redis://:s3cr3t-pw@" + srv.Addr() + "/0"
	var logs logBuf
	reg := prometheus.NewRegistry()
	l, err := NewLink(LinkOptions{URL: url, Prefix: "braid", Timeout: testTimeout, Logger: logs.logger(), Registry: reg})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	ctx := context.Background()

	if !l.Up() {
		t.Fatalf("link not up against a running server; logs:\n%s", logs.String())
	}
	if got := metricValue(t, reg, "braid_redis_up"); got != 1 {
		t.Fatalf("braid_redis_up = %v, want 1", got)
	}
	if err := l.Do(ctx, func(ctx context.Context, c *redis.Client) error {
		return c.Set(ctx, l.Key("k"), "v", 0).Err()
	}); err != nil {
		t.Fatalf("Do while up: %v", err)
	}

	for outage := 1; outage <= 2; outage++ {
		srv.Stop()
		err := l.Do(ctx, func(ctx context.Context, c *redis.Client) error { return c.Get(ctx, l.Key("k")).Err() })
		if err == nil {
			t.Fatal("Do against a stopped server succeeded")
		}
		if l.Up() {
			t.Fatalf("link still up after %v", err)
		}
		if got := metricValue(t, reg, "braid_redis_up"); got != 0 {
			t.Fatalf("braid_redis_up = %v during the outage", got)
		}
		for range 5 {
			called := false
			err := l.Do(ctx, func(ctx context.Context, c *redis.Client) error { called = true; return nil })
			if !errors.Is(err, ErrDown) {
				t.Fatalf("Do while down = %v, want ErrDown", err)
			}
			if called {
				t.Fatal("Do ran fn while the link was down")
			}
		}
		if n := logs.count(warnLine); n != outage {
			t.Fatalf("%d outage warnings after outage %d, want %d; logs:\n%s", n, outage, outage, logs.String())
		}

		srv.Restart()
		await.Within(t, 10*time.Second, "the link up again after restart", l.Up)
		if n := logs.count(infoLine); n != outage {
			t.Fatalf("%d recovery lines after outage %d, want %d; logs:\n%s", n, outage, outage, logs.String())
		}
		if err := l.Do(ctx, func(ctx context.Context, c *redis.Client) error { return c.Ping(ctx).Err() }); err != nil {
			t.Fatalf("Do after recovery: %v", err)
		}
	}

	out := logs.String()
	if strings.Contains(out, "s3cr3t-pw") {
		t.Fatalf("logs reveal the password:\n%s", out)
	}
	if !strings.Contains(out, srv.Addr()) {
		t.Fatalf("logs do not name %s:\n%s", srv.Addr(), out)
	}
	if !strings.Contains(out, "down_for=") {
		t.Fatalf("recovery line does not say how long Redis was down:\n%s", out)
	}
	if got := metricValue(t, reg, "braid_redis_errors_total"); got < 2 {
		t.Fatalf("braid_redis_errors_total = %v, want ≥ 2", got)
	}
	names := map[string]bool{}
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		names[mf.GetName()] = true
	}
	for _, n := range []string{"braid_redis_up", "braid_redis_errors_total", "braid_redis_operation_seconds"} {
		if !names[n] {
			t.Errorf("metric %s not registered; have %v", n, names)
		}
	}
}

func TestLinkStartsDown(t *testing.T) {
	addr := refusedAddr(t)
	var logs logBuf
	l := newLink(t, "redis://alice:hunter2@"+addr+"/0", nil, logs.logger())
	if l.Up() {
		t.Fatal("link up against a refused address")
	}
	if err := l.Do(context.Background(), func(ctx context.Context, c *redis.Client) error { return nil }); !errors.Is(err, ErrDown) {
		t.Fatalf("Do = %v, want ErrDown", err)
	}
	out := logs.String()
	if n := logs.count(warnLine); n != 1 {
		t.Fatalf("%d warnings, want 1:\n%s", n, out)
	}
	if strings.Contains(out, "hunter2") || strings.Contains(out, "alice") {
		t.Fatalf("logs reveal the credentials:\n%s", out)
	}
	if !strings.Contains(out, addr) {
		t.Fatalf("logs do not name %s:\n%s", addr, out)
	}
}

func TestLinkComesUpLater(t *testing.T) {
	srv := redistest.Start(t)
	srv.Stop()
	l := newLink(t, srv.URL(), nil, nil)
	if l.Up() {
		t.Fatal("link up against a stopped server")
	}
	srv.Restart()
	await.Within(t, 10*time.Second, "the link up", l.Up)
}

func TestLinkRepliesKeepItUp(t *testing.T) {
	srv := redistest.Start(t)
	l := newLink(t, srv.URL(), nil, nil)
	ctx := context.Background()

	err := l.Do(ctx, func(ctx context.Context, c *redis.Client) error { return c.Get(ctx, l.Key("absent")).Err() })
	if !errors.Is(err, redis.Nil) {
		t.Fatalf("GET of a missing key = %v, want redis.Nil", err)
	}
	err = l.Do(ctx, func(ctx context.Context, c *redis.Client) error {
		if err := c.Set(ctx, l.Key("s"), "x", 0).Err(); err != nil {
			return err
		}
		return c.LPush(ctx, l.Key("s"), "y").Err()
	})
	if err == nil || !strings.Contains(err.Error(), "WRONGTYPE") {
		t.Fatalf("LPUSH on a string = %v, want WRONGTYPE", err)
	}
	err = l.Do(ctx, func(ctx context.Context, c *redis.Client) error { return errors.New("caller's own") })
	if err == nil {
		t.Fatal("fn's error was lost")
	}
	// A caller that gives up says nothing about Redis.
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	_ = l.Do(cctx, func(ctx context.Context, c *redis.Client) error { return c.Ping(ctx).Err() })
	if !l.Up() {
		t.Fatal("a reply, a miss, fn's own error or a cancelled caller marked the link down")
	}
}

func TestLinkKeyAndID(t *testing.T) {
	addr := refusedAddr(t)
	a := newLink(t, "redis://"+addr, nil, nil)
	b := newLink(t, "redis://"+addr, nil, nil)
	if got := a.Key("cache", "eth", "k"); got != "braid:cache:eth:k" {
		t.Fatalf("Key = %q", got)
	}
	host, _ := os.Hostname()
	re := regexp.MustCompile("^" + regexp.QuoteMeta(host) + "-" + strconv.Itoa(os.Getpid()) + "-[0-9a-f]{8}$")
	if !re.MatchString(a.ID()) {
		t.Fatalf("ID %q is not hostname-pid-hex", a.ID())
	}
	if a.ID() != a.ID() || a.ID() == b.ID() {
		t.Fatalf("IDs %q and %q: want stable and distinct", a.ID(), b.ID())
	}
}

func TestNewLinkBadURL(t *testing.T) {
	for _, u := range []string{"http://127.0.0.1:6379", "redis://bob:pa55word@[::1", "redis://127.0.0.1:6379/notanumber"} {
		_, err := NewLink(LinkOptions{URL: u})
		if err == nil {
			t.Errorf("NewLink(%q) succeeded", u)
			continue
		}
		if strings.Contains(err.Error(), "pa55word") {
			t.Errorf("error reveals the password: %v", err)
		}
	}
}

func TestLinkSharedRegistry(t *testing.T) {
	reg := prometheus.NewRegistry()
	addr := refusedAddr(t)
	for range 2 {
		l, err := NewLink(LinkOptions{URL: "redis://" + addr, Registry: reg, Clock: clock.Real{}})
		if err != nil {
			t.Fatal(err)
		}
		l.Close()
	}
}

func TestLinkCloseStopsProber(t *testing.T) {
	l := newLink(t, "redis://"+refusedAddr(t), nil, nil)
	done := make(chan struct{})
	go func() { l.Close(); l.Close(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Close hung")
	}
	if err := l.Do(context.Background(), func(ctx context.Context, c *redis.Client) error { return nil }); !errors.Is(err, ErrDown) {
		t.Fatalf("Do after Close = %v, want ErrDown", err)
	}
}

// metricValue reads the gauge or counter called name from reg.
func metricValue(t *testing.T, reg *prometheus.Registry, name string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name || len(mf.GetMetric()) != 1 {
			continue
		}
		m := mf.GetMetric()[0]
		if g := m.GetGauge(); g != nil {
			return g.GetValue()
		}
		return m.GetCounter().GetValue()
	}
	t.Fatalf("metric %s not found", name)
	return 0
}
