package integration

import (
	"testing"
	"time"

	"github.com/braidrpc/braid/internal/devnet"
)

// Reads measured per iteration, from 16 clients: a cold window right
// after the fault is injected on a fresh stack, then a warm one.
const (
	benchColdCalls = 400
	benchCalls     = 1000
	// benchWarmup is unmeasured load between the two windows.
	benchWarmup = time.Second
)

// BenchmarkScenarioBHedging is chaos scenario (b), one provider (p1)
// answering after 2 s, with hedging on and off. Each iteration starts a
// fresh stack, injects the latency and measures two windows of reads from
// 16 clients:
//   - cold: the first benchColdCalls reads. braid tries unmeasured
//     upstreams first (in configuration order, so the slow p1 gets the
//     first call of each method class from every client) and, until a
//     method class has 16 latency samples, hedges only after
//     hedge.max_delay (2 s), which is the slow provider's latency.
//   - warm: benchCalls reads after benchWarmup more of load. These are the
//     headline p50-ms, p99-ms and extra-upstream-%.
//
// Latency is the client's, over every call of the mix (eth_blockNumber is
// answered from the tip without an upstream).
//
// The extra upstream requests are counted two ways, as the devnet has no
// per-method counts:
//   - extra-upstream-%: braid's own count of attempts its router sent
//     (braid_upstream_requests_total, every outcome, cancelled hedge
//     losers included; head polls and chain-id checks are not in it) minus
//     the calls braid had to forward (all but eth_blockNumber), over those
//     calls. This is what hedging costs in requests sent.
//   - provider-extra-%: the providers' own Requests() over the window,
//     minus the head polls measured as Requests() over an idle interval of
//     the same length right after it, minus the forwarded calls, over
//     those calls. Requests() does not count a request abandoned while the
//     provider still slept its injected latency, so the slow loser of a
//     hedge costs nothing here; and poll rates differ a little under load,
//     so this figure is noisy (it can go slightly negative).
//
// Run: go test -run '^$' -bench BenchmarkScenarioBHedging -benchtime 1x ./internal/integration
func BenchmarkScenarioBHedging(b *testing.B) {
	for _, hedge := range []bool{true, false} {
		name := "hedge=off"
		if hedge {
			name = "hedge=on"
		}
		b.Run(name, func(b *testing.B) {
			var sum map[string]float64
			for range b.N {
				r := benchScenarioB(b, hedge)
				if sum == nil {
					sum = map[string]float64{}
				}
				for k, v := range r {
					sum[k] += v
				}
			}
			for unit, v := range sum {
				b.ReportMetric(v/float64(b.N), unit)
			}
			b.ReportMetric(0, "ns/op") // an iteration's wall time is set-up and warm-up, not a figure
		})
	}
}

// benchScenarioB runs one iteration and returns its metrics by unit.
func benchScenarioB(b *testing.B, hedge bool) map[string]float64 {
	b.StopTimer()
	s := newLiveStack(b, hedge)
	slow := s.dn.Provider("p1")
	slow.SetFaults(devnet.Faults{LatencyMS: 2000})

	out := map[string]float64{}
	cold := s.benchWindow(b, "cold", slow, benchColdCalls)
	s.runLoad(liveClients, liveCallCap, benchWarmup)
	warm := s.benchWindow(b, "warm", slow, benchCalls)
	for k, v := range cold {
		out["cold-"+k] = v
	}
	for k, v := range warm {
		out[k] = v
	}
	return out
}

// benchWindow measures calls reads from 16 clients and returns p50-ms,
// p99-ms, max-ms, extra-upstream-%, provider-extra-% and slow-attempts (routed
// attempts to the slow provider).
func (s *liveStack) benchWindow(b *testing.B, label string, slow *devnet.Provider, calls int64) map[string]float64 {
	reqBefore, routedBefore := s.providerRequests(), s.routed(b)
	start := time.Now()
	b.StartTimer()
	st := s.startLoad(liveClients, calls).wait()
	b.StopTimer()
	took := time.Since(start)
	reqAfter, routedAfter := s.providerRequests(), s.routed(b)
	won, lost := s.counter(b, "braid_hedges_total", "result", "won"), s.counter(b, "braid_hedges_total", "result", "lost")
	time.Sleep(took) // head polls over an idle interval as long as the window
	reqIdle := s.providerRequests()

	if st.Errors > 0 || st.Stale > 0 {
		b.Fatalf("%s: %s\n%v\n%v", label, st, st.ErrorExamples, st.StaleExamples)
	}
	var served, polls float64
	for name := range reqAfter {
		served += float64(reqAfter[name] - reqBefore[name])
		polls += float64(reqIdle[name] - reqAfter[name])
	}
	attempts := routedTotal(routedAfter) - routedTotal(routedBefore)
	fwd := float64(st.Forwarded)
	b.Logf("%s: %s in %s; routed attempts %.0f (to %s: %s); provider requests %.0f, idle polls %.0f; hedges so far won=%.0f lost=%.0f",
		label, st, took.Round(time.Millisecond), attempts, slow.Name,
		outcomeDelta(routedBefore[slow.Name], routedAfter[slow.Name]), served, polls, won, lost)
	return map[string]float64{
		"p50-ms":           ms(st.percentile(0.50)),
		"p99-ms":           ms(st.percentile(0.99)),
		"max-ms":           ms(st.percentile(1)),
		"extra-upstream-%": (attempts - fwd) / fwd * 100,
		"provider-extra-%": (served - polls - fwd) / fwd * 100,
		"slow-attempts":    sumOutcomes(routedAfter[slow.Name]) - sumOutcomes(routedBefore[slow.Name]),
	}
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
