package ledger

import (
	"testing"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/braidrpc/braid/internal/peers"
)

// BenchmarkDelivered: crediting a verified delivery (the ledger's cost on
// every fetch), over 1,000 peers.
func BenchmarkDelivered(b *testing.B) {
	e := newEnv(b, Config{})
	ts := make([]peers.Transfer, 1000)
	for i := range ts {
		ts[i] = e.delivered(id(i), uint64(i), 50_000)
	}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		e.l.Delivered(ts[i%len(ts)])
	}
}

// BenchmarkRank: ranking the 16 holders a fetch found and noting their
// claims (the ledger's cost before every fetch).
func BenchmarkRank(b *testing.B) {
	e := newEnv(b, Config{})
	ids := make([]peer.ID, 16)
	for i := range ids {
		ids[i] = id(i)
	}
	keys := make([]peers.Key, 5000)
	for n := range keys {
		keys[n] = key(peers.Receipts, uint64(n))
	}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		n := i % len(keys)
		e.l.Rank(keys[n], e.age(uint64(n)), ids)
	}
}

// BenchmarkAdmitContended: a request queued behind a full capacity and
// admitted by balance when a slot frees (64 waiting).
func BenchmarkAdmitContended(b *testing.B) {
	e := newEnv(b, Config{Capacity: 1, MaxWaiting: 64})
	hold, _ := e.l.Request(inbound(id(999)))
	ts := make([]*Ticket, 0, 64)
	for i := range 64 {
		t, _ := e.l.Request(inbound(id(i)))
		ts = append(ts, t)
	}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		hold.Done() // the best waiting request takes the slot
		for j, t := range ts {
			if t.Admitted() {
				hold = t
				ts[j], _ = e.l.Request(inbound(id(i % 64)))
				break
			}
		}
	}
}
