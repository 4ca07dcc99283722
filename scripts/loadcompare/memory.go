package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// The memory run: braid's resident memory (RSS) with its answer cache
// filled to its bound and churning (new blocks evicting old ones), under
// GOGC 100 and 400, with and without the soft memory limit cmd/braid
// derives from the cache's size; and forwarding with the cache off.

// memVariant is one way of running braid.
type memVariant struct {
	name  string
	cache bool
	env   []string
}

var memVariants = []memVariant{
	{"cache, GOGC=400, no limit", true, []string{"GOGC=400", "GOMEMLIMIT=off"}},
	{"cache, GOGC=100, no limit", true, []string{"GOGC=100", "GOMEMLIMIT=off"}},
	{"cache, GOGC=400, braid's limit", true, []string{"GOGC=400"}},
	{"cache, GOGC=200, braid's limit", true, []string{"GOGC=200"}},
	{"cache, GOGC=100, braid's limit", true, []string{"GOGC=100"}},
	{"cache, braid's defaults", true, nil},
	{"no cache, GOGC=400, no limit", false, []string{"GOGC=400", "GOMEMLIMIT=off"}},
	{"no cache, GOGC=400, braid's limit", false, []string{"GOGC=400"}},
	{"no cache, GOGC=200, braid's limit", false, []string{"GOGC=200"}},
	{"no cache, GOGC=100, braid's limit", false, []string{"GOGC=100"}},
	{"no cache, braid's defaults", false, nil},
	{"no cache, braid's defaults, pages kept", false, []string{"BRAID_RELEASE_PAGES=off"}},
}

// memStatus is the part of braid's /status the run reads.
type memStatus struct {
	Memory struct {
		HeapBytes     int64 `json:"heap_bytes"`
		RuntimeBytes  int64 `json:"runtime_bytes"`
		LimitBytes    int64 `json:"limit_bytes"`
		GOGC          int64 `json:"gogc"`
		CacheBytes    int64 `json:"cache_bytes"`
		CacheMaxBytes int64 `json:"cache_max_bytes"`
	} `json:"memory"`
}

func readStatus(base string) (memStatus, error) {
	var st memStatus
	resp, err := http.Get(base + "status")
	if err != nil {
		return st, err
	}
	defer resp.Body.Close()
	return st, json.NewDecoder(resp.Body).Decode(&st)
}

func runMemory(ctx context.Context, o options, dir string) error {
	up, err := startRole(ctx, "upstream", "-role", "upstream")
	if err != nil {
		return err
	}
	defer up.stop()
	cacheBytes := o.cacheMB << 20
	fmt.Printf("memory run: cache.max_bytes %d MiB of 14 kB blocks, filled, then %s of churn (new blocks evicting old) at 8 connections;\n"+
		"without cache: %s of 14 kB pass-through at 32 connections. RSS from /proc (VmRSS at the end, VmHWM the peak).\n",
		o.cacheMB, o.duration, o.duration)
	const row = "%-34s %4v %9v %9v %8v %8v %8v %8v %12v %9v %7v %11v\n"
	fmt.Printf(row, "variant", "GOGC", "limit MiB", "cache MiB", "heap MiB", "RSS MiB", "anon MiB", "file MiB", "peak RSS MiB", "RSS/cache", "calls/s", "cpu/call µs")
	for _, v := range memVariants {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if !chosen(v.name, o.variants) {
			continue
		}
		size := int64(0)
		if v.cache {
			size = cacheBytes
		}
		b, err := startBraid(ctx, o.braidBin, dir, "braid-mem", up.URL, size, v.env...)
		if err != nil {
			return err
		}
		cpu0 := b.cpu()
		rate, calls, err := memLoad(ctx, b, v.cache, o.duration)
		cpu := b.cpu() - cpu0
		st, serr := readStatus(b.URL)
		now, peak, anon, file := b.rss()
		b.stop()
		if err != nil {
			return fmt.Errorf("%s: %w", v.name, err)
		}
		if serr != nil {
			return fmt.Errorf("%s: /status: %w", v.name, serr)
		}
		m := st.Memory
		ratio := "-"
		if m.CacheBytes > 0 {
			ratio = fmt.Sprintf("%.2f", float64(now)/float64(m.CacheBytes))
		}
		perCall := int64(0)
		if calls > 0 {
			perCall = micro(cpu / time.Duration(calls))
		}
		fmt.Printf(row, v.name, m.GOGC, mib(m.LimitBytes), mib(m.CacheBytes),
			mib(m.HeapBytes), mib(now), mib(anon), mib(file), mib(peak), ratio, fmt.Sprintf("%.0f", rate), perCall)
	}
	return nil
}

// chosen: name holds one of the comma-separated filters (none: all).
func chosen(name, filters string) bool {
	if filters == "" {
		return true
	}
	for _, f := range strings.Split(filters, ",") {
		if f = strings.TrimSpace(f); f != "" && strings.Contains(name, f) {
			return true
		}
	}
	return false
}

func mib(b int64) string {
	if b <= 0 {
		return "-"
	}
	return fmt.Sprintf("%.1f", float64(b)/(1<<20))
}

// memLoad fills braid's cache (when on) and then loads it for d; it
// returns the calls per second and the calls of the whole run (the fill
// included: the CPU figure is per call of both).
func memLoad(ctx context.Context, b *proc, cache bool, d time.Duration) (float64, int, error) {
	if !cache {
		body := []byte(`{"jsonrpc":"2.0","id":1,"method":"eth_getBlockByNumber","params":["0x1863c",true]}`)
		r := runLoad(ctx, b.URL, body, 32, 0, d, b.cpu)
		if r.Errors > 0 {
			return 0, 0, fmt.Errorf("%d errors, e.g. %s", r.Errors, r.Example)
		}
		return r.rate(), r.Calls, nil
	}
	var next atomic.Uint64
	client := newClient(8)
	defer client.CloseIdleConnections()
	blocks := func(until time.Time, full func() bool) (int, error) {
		var wg sync.WaitGroup
		var calls atomic.Int64
		var failed atomic.Value
		for range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for ctx.Err() == nil && time.Now().Before(until) && !full() && failed.Load() == nil {
					n := next.Add(1) % (headNumber - finalityLag)
					body := fmt.Sprintf(`{"jsonrpc":"2.0","id":1,"method":"eth_getBlockByNumber","params":["0x%x",true]}`, n)
					if ok, status, out := call(client, b.URL, []byte(body)); !ok {
						failed.Store(fmt.Errorf("HTTP %d: %.100s", status, out))
					}
					calls.Add(1)
				}
			}()
		}
		wg.Wait()
		if err, _ := failed.Load().(error); err != nil {
			return 0, err
		}
		return int(calls.Load()), ctx.Err()
	}
	// Fill to 95 % of the bound (bounded in time).
	var lastCheck time.Time
	full := func() bool {
		if time.Since(lastCheck) < 200*time.Millisecond {
			return false
		}
		lastCheck = time.Now()
		st, err := readStatus(b.URL)
		return err == nil && st.Memory.CacheMaxBytes > 0 && st.Memory.CacheBytes >= st.Memory.CacheMaxBytes*95/100
	}
	var mu sync.Mutex
	fullLocked := func() bool { mu.Lock(); defer mu.Unlock(); return full() }
	filled, err := blocks(time.Now().Add(5*time.Minute), fullLocked)
	if err != nil {
		return 0, 0, fmt.Errorf("filling the cache: %w", err)
	}
	start := time.Now()
	n, err := blocks(start.Add(d), func() bool { return false })
	return float64(n) / time.Since(start).Seconds(), filled + n, err
}
