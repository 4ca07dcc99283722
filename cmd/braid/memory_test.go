package main

import (
	"context"
	"log/slog"
	"runtime"
	"runtime/debug"
	"testing"

	"github.com/braidrpc/braid/internal/config"
)

func TestMemoryLimitFollowsTheCache(t *testing.T) {
	for _, tt := range []struct {
		name    string
		backend string
		max     int64
		want    int64
	}{
		{"default cache", config.CacheMemory, 256 << 20, 32<<20 + 320<<20},
		{"small cache", config.CacheMemory, 16 << 20, 32<<20 + 20<<20},
		{"redis keeps a local copy", config.CacheRedis, 100 << 20, 32<<20 + 125<<20},
		{"cache off", config.CacheOff, 256 << 20, 32 << 20},
	} {
		cfg := config.Default()
		cfg.Cache.Backend, cfg.Cache.MaxBytes = tt.backend, tt.max
		if got := memoryLimit(cfg); got != tt.want {
			t.Errorf("%s: limit %d, want %d", tt.name, got, tt.want)
		}
	}
}

func TestSetMemoryLimit(t *testing.T) {
	old := debug.SetMemoryLimit(-1)
	t.Cleanup(func() { debug.SetMemoryLimit(old) })
	cfg := config.Default()
	cfg.Cache.MaxBytes = 100 << 20
	log := slog.New(slog.DiscardHandler)

	t.Setenv("GOMEMLIMIT", "")
	setMemoryLimit(cfg, log)
	if got := debug.SetMemoryLimit(-1); got != memoryLimit(cfg) {
		t.Fatalf("limit %d, want %d", got, memoryLimit(cfg))
	}

	// GOMEMLIMIT in the environment wins: braid leaves the limit alone.
	debug.SetMemoryLimit(1 << 40)
	t.Setenv("GOMEMLIMIT", "1GiB")
	setMemoryLimit(cfg, log)
	if got := debug.SetMemoryLimit(-1); got != 1<<40 {
		t.Fatalf("limit %d with GOMEMLIMIT set, want it untouched (%d)", got, int64(1<<40))
	}
}

func TestSetGCPercent(t *testing.T) {
	old := debug.SetGCPercent(100)
	t.Cleanup(func() { debug.SetGCPercent(old) })
	t.Setenv("GOGC", "")
	setGCPercent()
	if got := debug.SetGCPercent(100); got != gcPercent {
		t.Fatalf("GOGC %d, want braid's %d", got, gcPercent)
	}
	t.Setenv("GOGC", "50")
	setGCPercent()
	if got := debug.SetGCPercent(100); got != 100 {
		t.Fatalf("GOGC %d with GOGC set in the environment, want it untouched", got)
	}
}

func TestGCPercentFollowsTheCache(t *testing.T) {
	old := debug.SetGCPercent(100)
	t.Cleanup(func() { debug.SetGCPercent(old) })
	t.Setenv("GOGC", "")
	for _, tt := range []struct {
		backend string
		want    int
	}{{config.CacheOff, gcPercentNoCache}, {config.CacheMemory, gcPercent}, {config.CacheRedis, gcPercent}} {
		cfg := config.Default()
		cfg.Cache.Backend = tt.backend
		setGCPercentFor(cfg)
		if got := debug.SetGCPercent(100); got != tt.want {
			t.Errorf("cache %s: GOGC %d, want %d", tt.backend, got, tt.want)
		}
	}
	t.Setenv("GOGC", "50")
	cfg := config.Default()
	cfg.Cache.Backend = config.CacheOff
	setGCPercentFor(cfg)
	if got := debug.SetGCPercent(100); got != 100 {
		t.Fatalf("GOGC %d with GOGC set in the environment, want it untouched", got)
	}
}

func TestReleaseStartupPagesSaysWhatItDid(t *testing.T) {
	for _, tt := range []struct{ env, want string }{
		{"off", "start-up pages kept (BRAID_RELEASE_PAGES=off)"},
		{"", "released the binary's start-up pages"},
	} {
		t.Setenv("BRAID_RELEASE_PAGES", tt.env)
		var got []string
		log := slog.New(recordHandler{msgs: &got})
		releaseStartupPages(log)
		if runtime.GOOS != "linux" && tt.env == "" {
			tt.want = "start-up pages kept"
		}
		if len(got) != 1 || got[0] != tt.want {
			t.Errorf("BRAID_RELEASE_PAGES=%q: logged %q, want %q", tt.env, got, tt.want)
		}
	}
}

// recordHandler keeps the messages logged through it.
type recordHandler struct{ msgs *[]string }

func (h recordHandler) Enabled(context.Context, slog.Level) bool { return true }
func (h recordHandler) Handle(_ context.Context, r slog.Record) error {
	*h.msgs = append(*h.msgs, r.Message)
	return nil
}
func (h recordHandler) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h recordHandler) WithGroup(string) slog.Handler      { return h }
