package peers

import (
	"testing"
	"time"

	"github.com/braidrpc/braid/internal/await"
	"github.com/braidrpc/braid/internal/clock"
	"github.com/braidrpc/braid/internal/history"
	"github.com/braidrpc/braid/internal/verify"
)

// TestOnStoredAnnouncesWhatTheStoreHolds: a history store's Notify wired
// to OnStored announces each part as it is stored; an evicted block's
// keys are withdrawn (no longer announced again).
func TestOnStoredAnnouncesWhatTheStoreHolds(t *testing.T) {
	b := busyBlock(t)
	nodes := cluster(t, 2, nil)
	holder, other := nodes[0], nodes[1]
	s, err := history.Open(t.TempDir(), history.Options{MaxBytes: 64 << 20, Notify: holder.OnStored, Logger: testLogger()})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.PutHeader(b.Header); err != nil {
		t.Fatal(err)
	}
	waitHolders(t, other, Key{Header, b.Hash()}, 1)
	if st := holder.Status(); st.Provided+st.Pending != 1 {
		t.Fatalf("header only: %d keys tracked", st.Provided+st.Pending)
	}
	if err := s.PutBlockRLP(b.Header, b.BodyRLP, b.StorageRLP, verify.ReceiptsStorage, history.Proven); err != nil {
		t.Fatal(err)
	}
	waitHolders(t, other, Key{Receipts, b.Hash()}, 1)
	waitProvided(t, holder, 3)
	holder.OnStored(history.Event{Hash: b.Hash(), Number: b.Number()}) // evicted
	if st := holder.Status(); st.Provided+st.Pending != 0 {
		t.Fatalf("%d keys tracked after eviction", st.Provided+st.Pending)
	}
}

// TestKeysAreAnnouncedAgain: on the injected clock, every key is
// announced again each Interval; keys over MaxKeys are refused.
func TestKeysAreAnnouncedAgain(t *testing.T) {
	b := busyBlock(t)
	fake := clock.NewFake(time.Unix(1_700_000_000, 0))
	nodes := cluster(t, 2, func(i int, o *Options) {
		if i == 0 {
			o.Clock = fake
			o.Provide = ProvideOptions{Retry: time.Minute, Interval: time.Hour, MaxKeys: 2}
		}
	})
	n := nodes[0]
	n.Provide(keys(b)...)
	waitProvided(t, n, 2)
	if st := n.Status(); st.Refused != 1 || st.Announcements != 2 {
		t.Fatalf("status %+v", st)
	}
	for range 59 { // not yet an hour: failed keys only, and none failed
		await.Within(t, peerWait, "the scheduler's timer", func() bool { return fake.Waiters() > 0 })
		fake.Advance(time.Minute)
	}
	await.Within(t, peerWait, "the scheduler's timer", func() bool { return fake.Waiters() > 0 })
	if st := n.Status(); st.Announcements != 2 {
		t.Fatalf("announced again early: %d", st.Announcements)
	}
	fake.Advance(time.Minute)
	await.Within(t, peerWait, "the keys announced again", func() bool { return n.Status().Announcements == 4 })
	n.Withdraw(keys(b)...)
	if st := n.Status(); st.Provided != 0 {
		t.Fatalf("%d keys after withdrawal", st.Provided)
	}
}

// TestFailedAnnouncementsRetrySoon: a node that announces before it has
// joined the DHT (a restarted gateway re-announcing its store while its
// bootstrap peer has not answered yet) fails every announcement at once;
// it tries again after firstRetry, not after the whole Retry, so its
// content is findable within seconds of joining.
func TestFailedAnnouncementsRetrySoon(t *testing.T) {
	b := busyBlock(t)
	fake := clock.NewFake(time.Unix(1_700_000_000, 0))
	o := loopback(t)
	o.Clock = fake
	o.Provide = ProvideOptions{Retry: time.Minute, Interval: time.Hour}
	alone := startNode(t, o)
	alone.Provide(keys(b)...)
	await.Within(t, peerWait, "the announcements tried and failed", func() bool {
		alone.prov.mu.Lock()
		defer alone.prov.mu.Unlock()
		return len(alone.prov.queue) == 0 && len(alone.prov.keys) == 3
	})
	if st := alone.Status(); st.Announcements != 0 || st.Pending != 3 {
		t.Fatalf("status before joining %+v, want 3 pending, none announced", st)
	}
	other := loopback(t)
	other.Bootstrap = alone.Addrs()
	startNode(t, other)
	await.Within(t, peerWait, "a routing table peer", func() bool { return alone.dht.RoutingTable().Size() > 0 })
	await.Within(t, peerWait, "the scheduler's timer", func() bool { return fake.Waiters() > 0 })
	fake.Advance(firstRetry)
	waitProvided(t, alone, 3)
}
