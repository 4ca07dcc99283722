package access

import (
	"testing"

	"github.com/braidrpc/braid/internal/config"
)

// TestControlDerivedSlots: with keys on and auth.max_inflight unset, every
// network admits its calls through fair admission's derived slots
// (sepolia's upstream has a budget, mainnet's none); written off, no call
// waits except behind a key's own cap.
func TestControlDerivedSlots(t *testing.T) {
	keys := []config.APIKey{{Name: "a", Key: NewKey()}, {Name: "b", Key: NewKey()}}
	cfg := testConfig(t, config.Auth{Required: true}, keys...)
	cfg.Networks[1].Upstreams[0].RPS = 100
	c, _ := newControl(t, cfg, Options{})
	caller, ref := c.Identify("mainnet", keys[0].Key, "10.0.0.1")
	if ref != nil {
		t.Fatal(ref)
	}
	want := map[string]Slots{"mainnet": {config.DefaultFairSlots, config.FairDefault}, "sepolia": {50, config.FairBudgets}}
	for n, w := range want {
		if got := c.Slots(n); got != w || !c.Queues(caller, n) || c.admit[n] == nil || c.admit[n].max != w.Max {
			t.Errorf("%s: slots %+v (queues %v), want %+v", n, got, c.Queues(caller, n), w)
		}
	}

	off := testConfig(t, config.Auth{Required: true, MaxInflight: config.InflightOff}, keys...)
	c, _ = newControl(t, off, Options{})
	if got := c.Slots("mainnet"); got != (Slots{0, config.FairOff}) || c.Queues(caller, "mainnet") {
		t.Errorf("off: slots %+v, queues %v", got, c.Queues(caller, "mainnet"))
	}
}
