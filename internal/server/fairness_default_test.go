package server_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/braidrpc/braid/internal/access"
	"github.com/braidrpc/braid/internal/await"
	"github.com/braidrpc/braid/internal/config"
)

// TestFairnessByDefault: TestFairness with keys on and NO
// auth.max_inflight in the configuration. The upstream has a budget of 32
// rps and takes a second per call, so braid derives 16 slots (32 rps ×
// 0.5 s). One key floods braid with 64 concurrent clients while another
// sends its calls one after another. Without fair admission the flood
// keeps 32 calls at the provider and 32 more polling for budget tokens,
// and a steady call wins a token against them by chance; with the
// derived slots the flood holds 16 and waits in braid's queue, so each
// steady call reaches the provider after at most a few flood calls it did
// not find there. Judged by order at the provider, never by time. Both
// keys stay within their own limits (they have none), and no call times
// out.
func TestFairnessByDefault(t *testing.T) {
	const (
		flooders   = 64
		steadyN    = 10
		rps        = 32
		slots      = 16 // rps × config.FairLatency
		steadyAddr = "0x00000000000000000000000000000000005754ad"
	)
	greedy, steady := access.NewKey(), access.NewKey()
	fake := newFake(t, "a", 1)
	spec := mainnet(fake)
	cfg := braidConfig(t, func(l *config.Limits) { l.RequestTimeout = 60 * time.Second }, spec)
	cfg.Cache.Backend = config.CacheOff // every call reaches the provider
	cfg.Networks[0].Upstreams[0].RPS, cfg.Networks[0].Upstreams[0].Burst = rps, rps
	cfg.Auth = config.Auth{Required: true} // max_inflight unset
	cfg.Keys = []config.APIKey{{Name: "greedy", Key: greedy}, {Name: "steady", Key: steady}}
	if got, from := cfg.FairSlots("mainnet"); got != slots || from != config.FairBudgets {
		t.Fatalf("derived slots %d (%s), want %d", got, from, slots)
	}
	b := startKeyed(t, cfg, nil, spec)
	fake.SetLatency(time.Second)
	fake.SetCapacity("eth_getBalance", 1000) // never refuses: only counts the peak
	l := newFairLoad(t, b, fake, steady, flooders)
	// Distinct calls: braid sends identical calls in flight at once
	// upstream only once.
	stop := l.flood(flooders, greedy, func(g, i int) string {
		return strings.Replace(balanceCall, testAddr, fmt.Sprintf("0x%040x", g*1000+i+1), 1)
	})
	defer stop()
	// The flood has filled what braid lets through and is queued behind
	// it before the steady key starts (judged the same way with and
	// without fair admission: by what reached the provider).
	await.Until(t, "the flood reached the provider", func() bool {
		return len(fake.Params("eth_getBalance")) >= 2*slots
	})
	ok, ahead := l.steadyCalls(steadyN, steadyAddr)
	waiting := admissionWaiting(t, b)
	stop()
	peak, _, _ := fake.Capacity()
	t.Logf("steady %d/%d, flood calls ahead of each %v, flood %d/%d, provider peak %d, waiting in braid at the end %d",
		ok, steadyN, ahead, l.floodOK.Load(), l.floodSent.Load(), peak, waiting)
	l.checkSteady(ok, steadyN, ahead)
	// TestFairness's bound: a steady call queued behind the flood meets
	// about 32 flood calls polling for the budget's tokens.
	if worst := slices.Max(append(ahead, 0)); worst >= flooders/4 {
		t.Errorf("a steady call reached the provider after %d flood calls it did not find there (each: %v): it queued behind the flood", worst, ahead)
	}
	if peak > slots {
		t.Errorf("the provider saw %d calls at once, above the %d derived slots", peak, slots)
	}
}
