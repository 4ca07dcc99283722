package integration

import (
	"context"
	"fmt"
	"math/big"
	"net/http"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/ethclient"
	"github.com/ethereum/go-ethereum/rpc"

	"github.com/braidrpc/braid/internal/await"
	"github.com/braidrpc/braid/internal/config"
	"github.com/braidrpc/braid/internal/devnet"
)

// BenchmarkStrictCall compares eth_call through braid with the local EVM
// over proven state (verify: strict) with braid forwarding it unverified
// (verify: off), over the same devnet and loopback providers, the answer
// cache off, the block's header cached: a token balance and a 10-token
// multicall, run four ways:
//
//   - unverified: forwarded to one provider;
//   - verified: each iteration about an account not read before, so the
//     call is new to braid (the eth_createAccessList hint, then a batch);
//   - verified-repeat: the same call on each of 8 recent blocks in turn,
//     more than braid keeps the state of, so state is proven afresh every
//     time, as for a dApp reading on every block (one batch: what the call
//     read last time is the hint);
//   - verified-warm: the same call again on the same block.
//
// Each runs with the providers answering at once (rtt=0) and with every
// request to them delayed 20 ms (rtt=20ms, a hosted provider's round
// trip), both braids alike. It reports upstream round trips and response
// bytes per call, counted by a proxy in front of each provider.
//
//	go test -run '^$' -bench BenchmarkStrictCall -benchtime 200x ./internal/integration
func BenchmarkStrictCall(b *testing.B) {
	e := newEVMEnv(b)
	plainCount := &upstreamCounter{}
	plain := e.plainGateway(b, plainCount)
	recent := e.recentBlocks(b, 8)
	for _, rtt := range []int{0, 20} {
		for _, p := range e.s.dn.Providers() {
			p.SetFaults(devnet.Faults{LatencyMS: rtt})
		}
		for _, kind := range []string{"balance", "multicall10"} {
			for _, mode := range []string{"unverified", "verified", "verified-repeat", "verified-warm"} {
				b.Run(fmt.Sprintf("rtt=%dms/%s/%s", rtt, kind, mode), func(b *testing.B) {
					e.benchCall(b, kind, mode, recent, plain, plainCount)
				})
			}
		}
	}
	for _, p := range e.s.dn.Providers() {
		p.SetFaults(devnet.Faults{})
	}
}

// benchCall is one of BenchmarkStrictCall's runs.
func (e *evmEnv) benchCall(b *testing.B, kind, mode string, recent []common.Hash, plain *rpc.Client, plainCount *upstreamCounter) {
	c, count := e.s.rpc, e.count
	if mode == "unverified" {
		c, count = plain, plainCount
	}
	data := func(int) any {
		// An account no call read before, in any run (each run is started
		// more than once, with growing b.N).
		e.benchWho++
		who := common.BigToAddress(big.NewInt(int64(1_000_000 + e.benchWho)))
		if mode == "verified-warm" || mode == "verified-repeat" {
			who = e.s.user
		}
		if kind == "balance" {
			return e.pack(b, e.tokenABI, "balanceOf", who)
		}
		return e.multicallOf(b, who)
	}
	to := e.tokens[0]
	if kind == "multicall10" {
		to = e.multicall
	}
	at := func(i int) any {
		if mode == "verified-repeat" {
			return map[string]any{"blockHash": recent[i%len(recent)]}
		}
		return map[string]any{"blockHash": recent[0]}
	}
	// Warm-up: the headers cached (and, for verified-repeat, the call run
	// once on every block).
	for i := range recent {
		call(b, c, "eth_call", map[string]any{"to": to, "data": data(-1 - i)}, at(i))
	}
	r0, b0 := count.snapshot()
	b.ResetTimer()
	for i := range b.N {
		if a := call(b, c, "eth_call", map[string]any{"to": to, "data": data(i)}, at(i)); a.Code != 0 {
			b.Fatal(a)
		}
	}
	b.StopTimer()
	r1, b1 := count.snapshot()
	b.ReportMetric(float64(r1-r0)/float64(b.N), "trips/op")
	b.ReportMetric(float64(b1-b0)/float64(b.N), "upstream-bytes/op")
}

// recentBlocks returns the hashes of the chain's n newest blocks, newest
// first.
func (e *evmEnv) recentBlocks(t testing.TB, n int) []common.Hash {
	t.Helper()
	ec := ethclient.NewClient(e.s.dn.RPC())
	h, err := ec.HeaderByNumber(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	out := []common.Hash{h.Hash()}
	for len(out) < n {
		if h, err = ec.HeaderByHash(context.Background(), h.ParentHash); err != nil {
			t.Fatal(err)
		}
		out = append(out, h.Hash())
	}
	return out
}

// plainGateway is a second braid over e's devnet with verify off, its
// providers behind count; it returns a client of it.
func (e *evmEnv) plainGateway(t testing.TB, count *upstreamCounter) *rpc.Client {
	t.Helper()
	cfg := config.Default()
	ups := e.s.dn.Upstreams()
	for i := range ups {
		ups[i].URL = count.front(t, e.s.dn.Provider(ups[i].Name).URL)
	}
	off := false
	cfg.Networks = []config.Network{{Name: "devnet", ChainID: e.s.dn.ChainID(), Upstreams: ups,
		Head: config.Head{PollInterval: livePoll}, Hedge: config.Hedge{Enabled: &off}}}
	cfg.Cache.Backend = config.CacheOff
	cfg.ApplyDefaults()
	_, _, url := serveGatewayWith(t, cfg, len(ups), -1)
	c, err := rpc.DialOptions(context.Background(), url, rpc.WithHTTPClient(&http.Client{}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	if !await.Poll(10*time.Second, func() bool { return call(t, c, "eth_blockNumber").Code == 0 }) {
		t.Fatal("the unverified braid never answered")
	}
	return c
}
