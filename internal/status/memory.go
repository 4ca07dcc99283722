package status

import (
	"runtime/metrics"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/braidrpc/braid/internal/cache"
	"github.com/braidrpc/braid/internal/config"
)

// Memory is the process's memory beside the answer cache's, in
// /status: the cache's byte bound is meant to govern the heap (cmd/braid
// derives a soft memory limit from it), and this shows whether it does.
type Memory struct {
	// HeapBytes: heap objects, live or not yet collected.
	HeapBytes uint64 `json:"heap_bytes"`
	// HeapGoalBytes: the heap size at which the next collection is due.
	HeapGoalBytes uint64 `json:"heap_goal_bytes"`
	// RuntimeBytes: all memory the Go runtime holds from the OS (heap,
	// stacks, metadata, freed but not yet returned): what RSS follows.
	RuntimeBytes uint64 `json:"runtime_bytes"`
	// LimitBytes: the soft memory limit (absent when there is none).
	LimitBytes uint64 `json:"limit_bytes,omitempty"`
	// GOGC: the collector's target percentage (absent when off).
	GOGC uint64 `json:"gogc,omitempty"`
	// CacheBytes and CacheMaxBytes: what the in-memory answer cache
	// holds and may hold (absent with the cache off).
	CacheBytes    int64 `json:"cache_bytes,omitempty"`
	CacheMaxBytes int64 `json:"cache_max_bytes,omitempty"`
}

// cacheStats is a store that can say how much it holds (cache.Memory,
// cache.Tiered).
type cacheStats interface{ Stats() cache.MemoryStats }

// MemorySource reads the process's memory and the cache's size.
type MemorySource struct {
	cache    cacheStats // nil: cache off
	cacheMax int64
}

// NewMemorySource watches store (nil: cache off) and registers the heap
// gauges on reg (when not nil).
func NewMemorySource(store cache.Store, cfg config.Cache, reg prometheus.Registerer) MemorySource {
	var m MemorySource
	if cs, ok := store.(cacheStats); ok {
		m.cache, m.cacheMax = cs, cfg.MaxBytes
	}
	if reg != nil {
		reg.MustRegister(
			prometheus.NewGaugeFunc(prometheus.GaugeOpts{
				Namespace: "braid", Name: "heap_bytes",
				Help: "Heap objects, live or not yet collected (compare braid_cache_bytes).",
			}, func() float64 { return float64(readMemory().HeapBytes) }),
			prometheus.NewGaugeFunc(prometheus.GaugeOpts{
				Namespace: "braid", Name: "memory_limit_bytes",
				Help: "The soft memory limit the Go runtime keeps to (0: none).",
			}, func() float64 { return float64(readMemory().LimitBytes) }),
		)
	}
	return m
}

func (m MemorySource) Status() Memory {
	st := readMemory()
	if m.cache != nil {
		st.CacheBytes, st.CacheMaxBytes = m.cache.Stats().Bytes, m.cacheMax
	}
	return st
}

// noLimit is what the runtime reports for "no memory limit".
const noLimit = 1<<63 - 1

// readMemory reads the runtime's figures (runtime/metrics: no
// stop-the-world, unlike runtime.ReadMemStats).
func readMemory() Memory {
	samples := []metrics.Sample{
		{Name: "/memory/classes/heap/objects:bytes"},
		{Name: "/gc/heap/goal:bytes"},
		{Name: "/memory/classes/total:bytes"},
		{Name: "/gc/gomemlimit:bytes"},
		{Name: "/gc/gogc:percent"},
	}
	metrics.Read(samples)
	val := func(i int) uint64 {
		if samples[i].Value.Kind() != metrics.KindUint64 {
			return 0
		}
		return samples[i].Value.Uint64()
	}
	st := Memory{HeapBytes: val(0), HeapGoalBytes: val(1), RuntimeBytes: val(2), LimitBytes: val(3), GOGC: val(4)}
	if st.LimitBytes >= noLimit {
		st.LimitBytes = 0
	}
	return st
}
