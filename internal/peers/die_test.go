package peers

import (
	"bytes"
	"context"
	"testing"

	"github.com/libp2p/go-libp2p/core/network"
)

// TestDeadHolderIsRetriedElsewhere: a holder that sends the start of a
// response and dies (its connection gone mid-payload) costs the fetch one
// attempt, no lie; the content comes from the next holder.
func TestDeadHolderIsRetriedElsewhere(t *testing.T) {
	b := busyBlock(t)
	store := openStore(t)
	storeBlock(t, store, b)
	nodes := cluster(t, 3, func(i int, o *Options) { o.Holder = store })
	fetcher, dying, honest := nodes[0], nodes[1], nodes[2]
	key := Key{Receipts, b.Hash()}
	want := wantBytes(b, Receipts)
	asked := make(chan struct{}, 1)
	dying.host.SetStreamHandler(ContentProtocol, func(s network.Stream) {
		if _, err := ReadRequest(s); err != nil {
			s.Reset()
			return
		}
		asked <- struct{}{}
		frame := AppendResponseHeader(nil, CodeOK, len(want))
		s.Write(append(frame, want[:len(want)/2]...))
		s.Conn().Close() // the holder is gone mid-transfer
	})
	dying.Provide(key)
	honest.Provide(key)
	waitHolders(t, fetcher, key, 2)
	prefer(fetcher, dying.ID())
	data, tr, err := fetcher.Fetch(context.Background(), key, Age{}, checkFor(b, Receipts))
	if err != nil {
		t.Fatal(err)
	}
	select {
	case <-asked:
	default:
		t.Fatal("the dying holder was not asked")
	}
	if !bytes.Equal(data, want) || tr.Peer != honest.ID() {
		t.Fatalf("delivered by %s", tr.Peer)
	}
	s, _ := fetcher.Tally().Peer(dying.ID())
	if s.Misses != 1 || s.Lies != 0 {
		t.Fatalf("dying holder's tally %+v, want one miss and no lie", s)
	}
	if fetcher.guard.banned(dying.ID()) {
		t.Fatal("a holder that died was banned")
	}
}

// TestGoneHoldersDoNotCrowdOutLiveOnes: provider records outlive their
// holders; when more records of gone holders than Limits.MaxHolders are
// out, the fetch still reaches the live holder it is connected to.
func TestGoneHoldersDoNotCrowdOutLiveOnes(t *testing.T) {
	b := busyBlock(t)
	store := openStore(t)
	storeBlock(t, store, b)
	nodes := cluster(t, 5, func(i int, o *Options) {
		o.Holder = store
		if i == 0 {
			o.Limits.MaxHolders = 1
		}
	})
	fetcher, live := nodes[0], nodes[4]
	key := Key{Receipts, b.Hash()}
	for _, n := range nodes[1:] {
		n.Provide(key)
	}
	fetcher.lim.MaxHolders = 4
	waitHolders(t, fetcher, key, 4)
	fetcher.lim.MaxHolders = 1
	for _, n := range nodes[1:4] {
		n.Close()
	}
	if err := fetcher.Connect(context.Background(), live.Addrs()[0]); err != nil {
		t.Fatal(err)
	}
	data, tr, err := fetcher.Fetch(context.Background(), key, Age{}, checkFor(b, Receipts))
	if err != nil || tr.Peer != live.ID() || !bytes.Equal(data, wantBytes(b, Receipts)) {
		t.Fatalf("fetch: %v from %s, want the live holder %s", err, tr.Peer, live.ID())
	}
}
