package beaconsim

import (
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/beacon/light/api"
	"github.com/ethereum/go-ethereum/beacon/types"
	"github.com/ethereum/go-ethereum/common"
)

// TestEventStreamDecodesWithGoEthereum feeds blocks while go-ethereum's
// head listener is subscribed and checks that every head arrives, in order,
// as an optimistic update naming the fed execution block.
func TestEventStreamDecodesWithGoEthereum(t *testing.T) {
	f := newFixture(t, Config{})
	f.feed(t, 1)
	client := api.NewBeaconLightApi(f.srv.URL, nil, f.sim.ChainConfig())
	updates := make(chan types.OptimisticUpdate, 64)
	stop := client.StartHeadListener(api.HeadEventListener{
		OnNewHead:    func(uint64, common.Hash) {},
		OnOptimistic: func(u types.OptimisticUpdate) { updates <- u },
		OnFinality:   func(types.FinalityUpdate) {},
		OnError:      func(error) {},
	})
	defer stop()
	next := func() types.OptimisticUpdate {
		t.Helper()
		select {
		case u := <-updates:
			return u
		case <-time.After(10 * time.Second):
			t.Fatal("no optimistic update within 10s")
			return types.OptimisticUpdate{}
		}
	}
	first := next() // the listener fetches the current one when it starts
	if first.Attested.BlockHash() != f.heads[0].Hash() {
		t.Fatalf("initial update names %s", first.Attested.BlockHash())
	}
	waitSubscribed(t, f.api)
	for range 5 {
		head := f.feed(t, 1)
		if u := next(); u.Attested.BlockHash() != head.BlockHash || u.Attested.Slot != head.Slot {
			t.Fatalf("event for slot %d names %s, fed %s at slot %d", u.Attested.Slot, u.Attested.BlockHash(), head.BlockHash, head.Slot)
		}
	}
}

func waitSubscribed(t *testing.T, a *API) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		a.mu.Lock()
		n := len(a.subs)
		a.mu.Unlock()
		if n > 0 {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatal("no event stream subscribed within 10s")
}
