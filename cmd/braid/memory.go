package main

import (
	"log/slog"
	"math"
	"os"
	"runtime/debug"

	"github.com/braidrpc/braid/internal/config"
	"github.com/braidrpc/braid/internal/footprint"
)

// Memory settings are the binary's to make: a process has one heap, and a
// program that embeds braid as a library owns it (the library sets
// nothing). The answer cache's byte bound (cache.max_bytes) is what may
// grow; the rest of braid's heap is small. So braid sets Go's soft memory
// limit from the cache's bound and lets the collector work harder only
// when the heap nears it:
//
//	limit = memoryBase + cacheHeadroom × cache.max_bytes   (cache off: memoryBase)
//
// An explicit GOMEMLIMIT (or GOGC) in the environment wins, as Go's own
// settings always do; GOMEMLIMIT=off removes the limit.
const (
	// memoryBase is braid's heap besides the cache (runtime, connections,
	// answers in flight, head and stream state), with room for the
	// collector: RSS forwarding without a cache stays under it.
	memoryBase = 32 << 20
	// cacheHeadroomPct: the cache's accounted bytes plus its share of
	// garbage between collections.
	cacheHeadroomPct = 125
)

// gcPercent is braid's default GOGC (see docs/operations.md, "Memory"),
// and gcPercentNoCache its GOGC when the answer cache is off: then the
// heap is only answers in flight, and at 400 the runtime's own share
// (~25 MiB forwarding 14 kB answers at 32 connections) would be most of
// braid's RSS, where 200 holds it at ~17 MiB for no measurable CPU
// (docs/benchmarks.md, "RSS without cache").
const (
	gcPercent        = 400
	gcPercentNoCache = 200
)

// memoryLimit is the soft memory limit for cfg.
func memoryLimit(cfg *config.Config) int64 {
	limit := int64(memoryBase)
	if cfg.Cache.Backend == config.CacheOff {
		return limit
	}
	if cfg.Cache.MaxBytes > (math.MaxInt64-limit)/cacheHeadroomPct {
		return math.MaxInt64 // no limit: a bound this large bounds nothing
	}
	return limit + cfg.Cache.MaxBytes*cacheHeadroomPct/100
}

// setMemoryLimit applies memoryLimit(cfg) unless the environment set one,
// and says what governs the heap.
func setMemoryLimit(cfg *config.Config, log *slog.Logger) {
	if v := os.Getenv("GOMEMLIMIT"); v != "" {
		log.Info("memory limit from GOMEMLIMIT", "GOMEMLIMIT", v)
		return
	}
	cfg.ApplyDefaults() // idempotent; braid.New applies them too
	limit := memoryLimit(cfg)
	debug.SetMemoryLimit(limit)
	log.Info("memory limit set from cache.max_bytes", "limit_bytes", limit, "cache_max_bytes", cfg.Cache.MaxBytes,
		"cache", cfg.Cache.Backend)
}

// setGCPercent applies braid's GOGC unless the environment set one.
func setGCPercent() {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(gcPercent)
	}
}

// setGCPercentFor applies braid's GOGC for cfg (the cache on or off)
// unless the environment set one.
func setGCPercentFor(cfg *config.Config) {
	if os.Getenv("GOGC") != "" {
		return
	}
	cfg.ApplyDefaults()
	if cfg.Cache.Backend == config.CacheOff {
		debug.SetGCPercent(gcPercentNoCache)
		return
	}
	debug.SetGCPercent(gcPercent)
}

// releaseStartupPages hands back the executable's pages that start-up
// touched (see internal/footprint), once braid is built and about to
// serve, unless BRAID_RELEASE_PAGES=off. Failing to is no reason not to
// serve: it is said, and braid goes on.
func releaseStartupPages(log *slog.Logger) {
	if os.Getenv("BRAID_RELEASE_PAGES") == "off" {
		log.Info("start-up pages kept (BRAID_RELEASE_PAGES=off)")
		return
	}
	r, err := footprint.ReleaseExecutable()
	if err != nil {
		log.Info("start-up pages kept", "reason", err.Error())
		return
	}
	log.Info("released the binary's start-up pages", "mappings", r.Mappings,
		"rss_file_before_bytes", r.FileBefore, "rss_file_after_bytes", r.FileAfter)
}
