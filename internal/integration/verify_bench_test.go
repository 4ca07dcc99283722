package integration

import (
	"context"
	"encoding/json"
	"slices"
	"syscall"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/ethclient"
	"github.com/ethereum/go-ethereum/rpc"

	"github.com/braidrpc/braid/internal/await"
	"github.com/braidrpc/braid/internal/config"
)

// Verified-read benchmark sizes.
const (
	verifyBenchBlocks = 120 // mined before measuring: a 100-block range fits
	verifyBenchRange  = 100
	verifyBenchCalls  = 500 // eth_getBalance calls per mode
	verifyBenchLogs   = 50  // eth_getLogs calls per mode (after the first)
)

// BenchmarkVerifiedReads compares verify off and strict on the devnet (4
// honest providers, no injected latency, one sequential client): the
// latency of eth_getBalance at "latest" (the tip's header cached after
// the first call) and of eth_getLogs over a 100-block range of token
// transfers (the first call, which establishes and verifies 100 headers
// and the receipts of every block whose bloom may match, reported on its
// own). CPU per request is the whole process's (braid and the devnet's
// chain and providers) user+system time over the calls.
//
// Run: go test -run '^$' -bench BenchmarkVerifiedReads -benchtime 1x -count 2 ./internal/integration
func BenchmarkVerifiedReads(b *testing.B) {
	for range b.N {
		results := map[string]map[string]float64{}
		for _, mode := range []string{config.VerifyOff, config.VerifyStrict} {
			results[mode] = benchVerifyMode(b, mode)
		}
		b.ReportMetric(results[config.VerifyOff]["direct_balance_p50_us"], "direct_balance_p50_us")
		b.ReportMetric(results[config.VerifyOff]["direct_proof_p50_us"], "direct_proof_p50_us")
		for _, m := range []string{"balance_p50_us", "balance_p99_us", "balance_cpu_us", "logs_first_ms", "logs_p50_ms", "logs_cpu_us"} {
			b.ReportMetric(results[config.VerifyOff][m], "off_"+m)
			b.ReportMetric(results[config.VerifyStrict][m], "strict_"+m)
		}
		b.ReportMetric(results[config.VerifyStrict]["balance_p50_us"]/results[config.VerifyOff]["balance_p50_us"], "balance_p50_ratio")
		b.ReportMetric(results[config.VerifyStrict]["logs_p50_ms"]/results[config.VerifyOff]["logs_p50_ms"], "logs_p50_ratio")
	}
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func benchVerifyMode(b *testing.B, mode string) map[string]float64 {
	b.Helper()
	ctx := context.Background()
	s := newLiveStackWith(b, liveOptions{manual: true, verify: config.Verify{Mode: mode}})
	for range verifyBenchBlocks {
		if _, err := s.dn.Step(ctx); err != nil {
			b.Fatal(err)
		}
	}
	head, err := ethclient.NewClient(s.dn.RPC()).BlockNumber(ctx)
	if err != nil {
		b.Fatal(err)
	}
	if !await.Poll(10*time.Second, func() bool { return s.tip().Latest.Number == head }) {
		b.Fatalf("tip never reached %d", head)
	}
	out := map[string]float64{}
	timeCalls := func(n int, method string, params ...any) ([]time.Duration, time.Duration) {
		lat := make([]time.Duration, 0, n)
		cpu0 := cpuTime()
		for range n {
			var res json.RawMessage
			start := time.Now()
			if err := s.rpc.CallContext(ctx, &res, method, params...); err != nil {
				b.Fatalf("%s (%s): %v", method, mode, err)
			}
			lat = append(lat, time.Since(start))
		}
		cpu := cpuTime() - cpu0
		slices.Sort(lat)
		return lat, cpu / time.Duration(n)
	}
	pct := func(lat []time.Duration, q float64) time.Duration { return lat[int(q*float64(len(lat)-1))] }

	// The provider's own cost of the two upstream calls, straight to p1.
	direct, err := rpc.DialHTTP(s.dn.Provider("p1").URL)
	if err != nil {
		b.Fatal(err)
	}
	defer direct.Close()
	directP50 := func(method string, params ...any) float64 {
		lat := make([]time.Duration, 0, verifyBenchCalls)
		for range verifyBenchCalls {
			var res json.RawMessage
			start := time.Now()
			if err := direct.CallContext(ctx, &res, method, params...); err != nil {
				b.Fatal(err)
			}
			lat = append(lat, time.Since(start))
		}
		slices.Sort(lat)
		return float64(lat[len(lat)/2].Microseconds())
	}
	out["direct_balance_p50_us"] = directP50("eth_getBalance", s.user, "latest")
	out["direct_proof_p50_us"] = directP50("eth_getProof", s.user, []string{}, "latest")

	timeCalls(20, "eth_getBalance", s.user, "latest") // warm: the tip's header, connections
	lat, cpu := timeCalls(verifyBenchCalls, "eth_getBalance", s.user, "latest")
	out["balance_p50_us"] = float64(pct(lat, .5).Microseconds())
	out["balance_p99_us"] = float64(pct(lat, .99).Microseconds())
	out["balance_cpu_us"] = float64(cpu.Microseconds())

	filter := map[string]any{"fromBlock": hexutil.EncodeUint64(head - verifyBenchRange + 1), "toBlock": hexutil.EncodeUint64(head), "address": s.token}
	first, _ := timeCalls(1, "eth_getLogs", filter)
	lat, cpu = timeCalls(verifyBenchLogs, "eth_getLogs", filter)
	out["logs_first_ms"] = ms(first[0])
	out["logs_p50_ms"] = ms(pct(lat, .5))
	out["logs_cpu_us"] = float64(cpu.Microseconds())
	var logs []json.RawMessage
	_ = s.rpc.CallContext(ctx, &logs, "eth_getLogs", filter)
	b.Logf("%s: direct to p1: eth_getBalance p50 %.0f µs, eth_getProof p50 %.0f µs", mode, out["direct_balance_p50_us"], out["direct_proof_p50_us"])
	b.Logf("%s: balance p50 %.0f µs p99 %.0f µs cpu %.0f µs/call; logs (%d logs over %d blocks) first %.1f ms, p50 %.2f ms, cpu %.0f µs/call",
		mode, out["balance_p50_us"], out["balance_p99_us"], out["balance_cpu_us"], len(logs), verifyBenchRange,
		out["logs_first_ms"], out["logs_p50_ms"], out["logs_cpu_us"])
	return out
}
