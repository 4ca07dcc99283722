package integration

import (
	"context"
	"math/big"
	"net/http"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/rpc"

	"github.com/braidrpc/braid/internal/await"
	"github.com/braidrpc/braid/internal/config"
)

// BenchmarkStrictCall compares eth_call through braid with the local EVM
// over proven state (verify: strict) with braid forwarding it unverified
// (verify: off), over the same devnet and loopback providers, the answer
// cache off: a token balance and a 10-token multicall, each iteration
// about an account not read before (so state is proven afresh; the
// block's header is cached), and, as "warm", the same call again (state
// already proven for that block). It reports upstream round trips and
// response bytes per call, counted by a proxy in front of each provider.
//
//	go test -run '^$' -bench BenchmarkStrictCall -benchtime 200x ./internal/integration
func BenchmarkStrictCall(b *testing.B) {
	e := newEVMEnv(b)
	plainCount := &upstreamCounter{}
	plain := e.plainGateway(b, plainCount)
	for _, kind := range []string{"balance", "multicall10"} {
		for _, mode := range []string{"unverified", "verified", "verified-warm"} {
			b.Run(kind+"/"+mode, func(b *testing.B) {
				c, count := e.s.rpc, e.count
				if mode == "unverified" {
					c, count = plain, plainCount
				}
				data := func(i int) any {
					who := common.BigToAddress(big.NewInt(int64(1_000_000 + i)))
					if mode == "verified-warm" {
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
				at := map[string]any{"blockHash": e.s.tip().Latest.Hash}
				call(b, c, "eth_call", map[string]any{"to": to, "data": data(-1)}, at) // header cached, warm-up
				r0, b0 := count.snapshot()
				b.ResetTimer()
				for i := range b.N {
					if a := call(b, c, "eth_call", map[string]any{"to": to, "data": data(i)}, at); a.Code != 0 {
						b.Fatal(a)
					}
				}
				b.StopTimer()
				r1, b1 := count.snapshot()
				b.ReportMetric(float64(r1-r0)/float64(b.N), "trips/op")
				b.ReportMetric(float64(b1-b0)/float64(b.N), "upstream-bytes/op")
			})
		}
	}
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
