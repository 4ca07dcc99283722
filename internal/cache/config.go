package cache

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/braidrpc/braid/internal/clock"
	"github.com/braidrpc/braid/internal/config"
)

// New is the answer cache cfg asks for (defaults applied): memory, or,
// with backend redis and a shared store, memory in front of it (Tiered,
// filled for at most cache.tip_ttl); nil when the cache is off. The
// memory store's size is exposed on reg (nil: not exposed).
func New(cfg config.Cache, shared Store, clk clock.Clock, reg prometheus.Registerer) Store {
	if cfg.Backend == config.CacheOff {
		return nil
	}
	mem := NewMemory(MemoryOptions{MaxBytes: cfg.MaxBytes, Clock: clk})
	if reg != nil {
		RegisterMemory(reg, mem)
	}
	if cfg.Backend != config.CacheRedis || shared == nil {
		return mem
	}
	return NewTiered(mem, shared, cfg.TipTTL)
}
