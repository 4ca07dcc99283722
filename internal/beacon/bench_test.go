package beacon_test

import (
	"runtime"
	"slices"
	"syscall"
	"testing"
	"time"

	"github.com/braidrpc/braid/internal/beacon"
)

// BenchmarkHeadLatency: from the simulated beacon API getting a new head
// (AddBlock: build, sign with the 512-key committee, announce on the event
// stream) to the light client exposing it through Head(), over loopback
// HTTP. It reports the latency percentiles, the process CPU per head (both
// sides: the simulator's signing and serving and the client's decoding and
// BLS verification) and the client's retained heap.
func BenchmarkHeadLatency(b *testing.B) {
	h := newHarness(b, options{})
	var m0, m1, m2 runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&m0)
	cfg := h.config()
	cfg.Registerer = nil
	c, err := beacon.New(cfg)
	if err != nil {
		b.Fatal(err)
	}
	if err := c.Start(); err != nil {
		b.Fatal(err)
	}
	h.nextSlot()
	h.waitHead(c, h.feed())
	ch, cancel := c.Watch()
	lat := make([]time.Duration, 0, b.N)
	cpu0 := cpuTime()
	b.ResetTimer()
	for range b.N {
		h.nextSlot()
		drain(ch)
		start := time.Now()
		fed := h.feed()
		for !serves(c, fed)() {
			select {
			case <-ch:
			case <-time.After(waitTimeout):
				b.Fatal("head not exposed")
			}
		}
		lat = append(lat, time.Since(start))
	}
	b.StopTimer()
	cpu := cpuTime() - cpu0
	cancel()
	runtime.GC()
	runtime.ReadMemStats(&m1)
	c.Close()
	c = nil
	runtime.GC()
	runtime.ReadMemStats(&m2)
	slices.Sort(lat)
	b.ReportMetric(ms(lat[len(lat)/2]), "p50-ms")
	b.ReportMetric(ms(lat[len(lat)*99/100]), "p99-ms")
	b.ReportMetric(ms(cpu)/float64(b.N), "cpu-ms/head")
	b.ReportMetric(float64(int64(m1.HeapAlloc)-int64(m2.HeapAlloc))/(1<<20), "client-heap-MB")
	b.ReportMetric(float64(int64(m1.HeapAlloc)-int64(m0.HeapAlloc))/(1<<20), "heap-growth-MB")
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// cpuTime is the process's user+system CPU time.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
