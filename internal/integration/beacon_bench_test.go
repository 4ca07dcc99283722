package integration

import (
	"context"
	"net/http/httptest"
	"slices"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/ethclient"

	"github.com/braidrpc/braid/internal/beaconsim"
	"github.com/braidrpc/braid/internal/devnet"
)

// BenchmarkBeaconHeadToServed measures, with trust: beacon, the time from
// a new head on the beacon API (Sim.AddBlock: build, sign with the
// 512-key committee, announce on the event stream of two APIs) to braid
// serving it as its tip: the light client verifies the signed update, and
// braid fetches the execution header from a provider and checks that it
// hashes to the signed block hash. It reports p50/p99 latency and the
// process CPU per head (simulator, light client, gateway, provider).
func BenchmarkBeaconHeadToServed(b *testing.B) {
	ctx := context.Background()
	dn, err := devnet.New(ctx, devnet.Options{Providers: 2})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { dn.Close() })
	ec := ethclient.NewClient(dn.RPC())
	sim, err := beaconsim.New(beaconsim.Config{SlotDuration: beaconSlot})
	if err != nil {
		b.Fatal(err)
	}
	c := &beaconChain{dn: dn, sim: sim}
	for range 2 {
		api := sim.NewAPI()
		srv := httptest.NewServer(api)
		b.Cleanup(srv.Close)
		c.apis, c.urls = append(c.apis, api), append(c.urls, srv.URL)
	}
	// next commits a block in a slot of its own and returns it with the
	// time the simulator took to sign and announce it.
	next := func() (common.Hash, time.Time) {
		last, err := sim.Head()
		for err == nil && sim.CurrentSlot() <= last.Slot {
			time.Sleep(time.Millisecond)
		}
		h := dn.Commit()
		hdr, err := ec.HeaderByHash(ctx, h)
		if err != nil {
			b.Fatal(err)
		}
		start := time.Now()
		if _, err := sim.AddBlock(hdr); err != nil {
			b.Fatal(err)
		}
		return h, start
	}
	next() // the anchor
	c.cp, _ = sim.Checkpoint()
	gw, _ := beaconGateway(b, c, dn.Upstreams(), c.trust(""), true)
	for served(gw) == (common.Hash{}) { // a head announced before the client subscribed is missed
		next()
		deadline := time.Now().Add(5 * time.Second)
		for served(gw) == (common.Hash{}) && time.Now().Before(deadline) {
			time.Sleep(time.Millisecond)
		}
	}
	lat := make([]time.Duration, 0, b.N)
	cpu0 := cpuTime()
	b.ResetTimer()
	for range b.N {
		h, start := next()
		deadline := start.Add(30 * time.Second)
		for served(gw) != h {
			if time.Now().After(deadline) {
				b.Fatal("head not served")
			}
			time.Sleep(200 * time.Microsecond)
		}
		lat = append(lat, time.Since(start))
	}
	b.StopTimer()
	cpu := cpuTime() - cpu0
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2])/1e6, "p50-ms")
	b.ReportMetric(float64(lat[len(lat)*99/100])/1e6, "p99-ms")
	b.ReportMetric(float64(cpu)/1e6/float64(b.N), "cpu-ms/head")
}
