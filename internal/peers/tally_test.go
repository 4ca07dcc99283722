package peers

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"
)

func TestTallyCountsAndRanks(t *testing.T) {
	tl := NewTally(100)
	now := time.Now()
	good, slow, liar, unknown := peer.ID("good"), peer.ID("slow"), peer.ID("liar"), peer.ID("unknown")
	tl.Delivered(Transfer{Peer: good, Bytes: 10, Latency: time.Millisecond, At: now})
	tl.Delivered(Transfer{Peer: slow, Bytes: 20, Latency: time.Second, At: now})
	tl.Lied(Transfer{Peer: liar, At: now})
	tl.Missed(Transfer{Peer: slow, Result: NotHeld, At: now})
	tl.Served(Transfer{Peer: good, Direction: Out, Result: Served, Bytes: 5, At: now})
	tl.Served(Transfer{Peer: good, Direction: Out, Result: Refused, At: now})
	if s, _ := tl.Peer(good); s.In != (Flow{1, 10}) || s.Out != (Flow{1, 5}) || s.Refused != 1 || s.Latency != time.Millisecond {
		t.Fatalf("good %+v", s)
	}
	if s, _ := tl.Peer(slow); s.Misses != 1 {
		t.Fatalf("slow %+v", s)
	}
	got := tl.rank([]peer.ID{liar, unknown, slow, good})
	if want := []peer.ID{good, slow, unknown, liar}; !slices.Equal(got, want) {
		t.Fatalf("rank = %v, want %v", got, want)
	}
	if h, err := tl.Admit(context.Background(), Inbound{}); h != nil || err != nil {
		t.Fatal("the tally refuses")
	}
	if snap := tl.Snapshot(); len(snap) != 3 || snap[0].ID > snap[1].ID {
		t.Fatalf("snapshot %v", snap)
	}
}

func TestTallyIsBounded(t *testing.T) {
	tl := NewTally(10)
	start := time.Now()
	for i := range 100 {
		tl.Delivered(Transfer{Peer: peer.ID(fmt.Sprint(i)), At: start.Add(time.Duration(i) * time.Second)})
	}
	snap := tl.Snapshot()
	if len(snap) != 10 {
		t.Fatalf("%d peers kept", len(snap))
	}
	if _, ok := tl.Peer(peer.ID("99")); !ok {
		t.Fatal("the newest peer was forgotten")
	}
}
