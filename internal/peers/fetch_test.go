package peers

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/braidrpc/braid/internal/await"
	"github.com/braidrpc/braid/internal/history"
	"github.com/braidrpc/braid/internal/verify"
)

// TestFetchFindsTheOnlyHolder: five nodes, each with its own history
// store; one block is held by one node only. Every other node finds it
// through the DHT, fetches header, body and receipts, verifies them and
// stores them, and the transfers are recorded on both sides.
func TestFetchFindsTheOnlyHolder(t *testing.T) {
	c := testChain(t)
	b := busyBlock(t)
	stores := make([]*history.Store, 5)
	nodes := cluster(t, 5, func(i int, o *Options) {
		stores[i] = openStore(t)
		o.Holder = stores[i]
	})
	holder := nodes[4]
	storeBlock(t, stores[4], b)
	holder.Provide(keys(b)...)
	waitProvided(t, holder, 3)

	for i, n := range nodes[:4] {
		waitHolders(t, n, Key{Receipts, b.Hash()}, 1)
		for _, k := range Kinds {
			data, tr, err := n.Fetch(context.Background(), Key{k, b.Hash()}, Age{Number: b.Number(), Known: true}, checkFor(b, k))
			if err != nil {
				t.Fatalf("node %d: fetch %s: %v", i, k, err)
			}
			if !bytes.Equal(data, wantBytes(b, k)) {
				t.Fatalf("node %d: %s differs from the holder's", i, k)
			}
			if tr.Peer != holder.ID() || tr.Holders != 1 || tr.Result != Verified || tr.Bytes != len(data) ||
				tr.Direction != In || tr.Age.Number != b.Number() {
				t.Fatalf("node %d: transfer %+v", i, tr)
			}
		}
		// The fetched parts verify into the fetcher's own store.
		body, _, _ := n.Fetch(context.Background(), Key{Body, b.Hash()}, Age{}, CheckBody(b.Header))
		rcpts, _, _ := n.Fetch(context.Background(), Key{Receipts, b.Hash()}, Age{}, CheckReceipts(b.Header, b.Body.Transactions))
		if err := stores[i].PutBlockRLP(b.Header, body, rcpts, verify.ReceiptsStorage, history.Proven); err != nil {
			t.Fatalf("node %d: store fetched block: %v", i, err)
		}
		if s, ok := n.Tally().Peer(holder.ID()); !ok || s.In.Transfers != 5 || s.Lies != 0 {
			t.Fatalf("node %d: tally of the holder %+v", i, s)
		}
	}
	if s := holder.Status(); s.Provided != 3 || len(s.Peers) < 4 {
		t.Fatalf("holder status %+v", s)
	}
	// The holder records a serve once its reply is written, which can be
	// after the fetcher has read it: wait for the last ones.
	served := func(n *Node) int64 { s, _ := holder.Tally().Peer(n.ID()); return s.Out.Transfers }
	await.Within(t, peerWait, "the holder's record of its serves", func() bool {
		for _, n := range nodes[:4] {
			if served(n) < 5 {
				return false
			}
		}
		return true
	})
	for _, n := range nodes[:4] {
		if got := served(n); got != 5 {
			t.Fatalf("holder served %s %d times, want 5", n.ID(), got)
		}
	}
	_ = c
}

// TestFetchNoHolder: content nobody announced is ErrNoHolders, not a hang.
func TestFetchNoHolder(t *testing.T) {
	b := busyBlock(t)
	nodes := cluster(t, 2, nil)
	_, _, err := nodes[1].Fetch(context.Background(), Key{Body, b.Hash()}, Age{}, CheckBody(b.Header))
	if !errors.Is(err, ErrNoHolders) {
		t.Fatalf("err = %v, want ErrNoHolders", err)
	}
}

// TestFetchStaleAnnouncement: a holder that announced content and then
// evicted it answers not held; the fetch fails with ErrUnavailable and the
// miss is recorded, no lie.
func TestFetchStaleAnnouncement(t *testing.T) {
	b := busyBlock(t)
	nodes := cluster(t, 2, nil) // no Holder: everything is not held
	nodes[0].Provide(Key{Body, b.Hash()})
	waitProvided(t, nodes[0], 1)
	waitHolders(t, nodes[1], Key{Body, b.Hash()}, 1)
	_, _, err := nodes[1].Fetch(context.Background(), Key{Body, b.Hash()}, Age{}, CheckBody(b.Header))
	if !errors.Is(err, ErrUnavailable) {
		t.Fatalf("err = %v, want ErrUnavailable", err)
	}
	s, _ := nodes[1].Tally().Peer(nodes[0].ID())
	if s.Misses != 1 || s.Lies != 0 {
		t.Fatalf("tally %+v", s)
	}
}

// TestFetchOverQUIC: nodes listening on QUIC alone find and fetch from
// each other.
func TestFetchOverQUIC(t *testing.T) {
	b := busyBlock(t)
	store := openStore(t)
	storeBlock(t, store, b)
	nodes := cluster(t, 2, func(i int, o *Options) {
		o.Listen = []string{"/ip4/127.0.0.1/udp/0/quic-v1"}
		if i == 1 {
			o.Holder = store
		}
	})
	for _, a := range nodes[0].Addrs() {
		if !strings.Contains(a, "/quic-v1/") {
			t.Fatalf("address %s is not QUIC", a)
		}
	}
	key := Key{Body, b.Hash()}
	nodes[1].Provide(key)
	waitHolders(t, nodes[0], key, 1)
	data, _, err := nodes[0].Fetch(context.Background(), key, Age{}, CheckBody(b.Header))
	if err != nil || !bytes.Equal(data, b.BodyRLP) {
		t.Fatalf("fetch over QUIC: %v", err)
	}
}
