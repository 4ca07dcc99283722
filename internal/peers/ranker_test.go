package peers

import (
	"bytes"
	"context"
	"errors"
	"slices"
	"sync"
	"testing"

	"github.com/libp2p/go-libp2p/core/peer"
)

// ranker is a test Ranker: it records what it was shown and puts last the
// peers in its last set.
type ranker struct {
	mu    sync.Mutex
	last  map[peer.ID]bool
	calls []rankCall
}

type rankCall struct {
	key Key
	age Age
	ids []peer.ID
}

func (r *ranker) Rank(key Key, age Age, ids []peer.ID) []peer.ID {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls = append(r.calls, rankCall{key, age, slices.Clone(ids)})
	out := slices.Clone(ids)
	slices.SortStableFunc(out, func(a, b peer.ID) int {
		switch {
		case r.last[a] == r.last[b]:
			return 0
		case r.last[a]:
			return 1
		}
		return -1
	})
	out = append(out, "not-a-holder") // ignored
	return out
}

// TestRankerOrdersHolders: two holders of a block, one of which the
// fetcher's tally prefers; the Ranker puts that one last, so the other is
// asked first and delivers. The Ranker sees the key, the age and every
// holder found.
func TestRankerOrdersHolders(t *testing.T) {
	b := busyBlock(t)
	r := &ranker{last: map[peer.ID]bool{}}
	nodes := cluster(t, 3, func(i int, o *Options) {
		if i == 0 {
			o.Ranker = r
			return
		}
		s := openStore(t)
		storeBlock(t, s, b)
		o.Holder = s
	})
	fetcher, a, other := nodes[0], nodes[1], nodes[2]
	key := Key{Body, b.Hash()}
	a.Provide(key)
	other.Provide(key)
	waitHolders(t, fetcher, key, 2)
	prefer(fetcher, a.ID(), other.ID())
	r.mu.Lock()
	r.last[a.ID()] = true
	r.mu.Unlock()
	data, tr, err := fetcher.Fetch(context.Background(), key, Age{Number: b.Number(), Known: true}, checkFor(b, Body))
	if err != nil || !bytes.Equal(data, b.BodyRLP) {
		t.Fatalf("fetch: %v", err)
	}
	if tr.Peer != other.ID() {
		t.Fatalf("delivered by %s, want the peer the Ranker put first (%s)", tr.Peer, other.ID())
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.calls) != 1 || r.calls[0].key != key || r.calls[0].age.Number != b.Number() || len(r.calls[0].ids) != 2 ||
		r.calls[0].ids[0] != a.ID() {
		t.Fatalf("ranker calls %+v", r.calls)
	}
}

// TestFetchFrom: FetchFrom asks exactly the peer named, with no DHT
// record needed: a holder delivers (recorded as a verified transfer with
// the age given), a peer that does not hold the block answers not held (a
// miss, no lie), a liar's content is a lie recorded against it.
func TestFetchFrom(t *testing.T) {
	b := busyBlock(t)
	var book ledger
	bad := &liar{b: b, kind: Body, lie: tamperedTx(t, b)}
	nodes := cluster(t, 4, func(i int, o *Options) {
		switch i {
		case 0:
			o.Ledger = &book
		case 1:
			s := openStore(t)
			storeBlock(t, s, b)
			o.Holder = s
		case 3:
			o.Holder = bad
		}
	})
	fetcher, holder, empty, lying := nodes[0], nodes[1], nodes[2], nodes[3]
	key := Key{Body, b.Hash()}
	age := Age{Number: b.Number(), Depth: 500, Known: true}

	data, tr, err := fetcher.FetchFrom(context.Background(), holder.ID(), key, age, checkFor(b, Body))
	if err != nil || !bytes.Equal(data, b.BodyRLP) || tr.Peer != holder.ID() || tr.Result != Verified || tr.Age != age || tr.Holders != 0 {
		t.Fatalf("from the holder: %v %+v", err, tr)
	}
	_, tr, err = fetcher.FetchFrom(context.Background(), empty.ID(), key, age, checkFor(b, Body))
	if !errors.Is(err, ErrUnavailable) || tr.Result != NotHeld || tr.Peer != empty.ID() {
		t.Fatalf("from a peer without it: %v %+v", err, tr)
	}
	_, tr, err = fetcher.FetchFrom(context.Background(), lying.ID(), key, age, checkFor(b, Body))
	if !errors.Is(err, ErrUnavailable) || tr.Result != Lie || !IsLie(tr.Err) {
		t.Fatalf("from a liar: %v %+v", err, tr)
	}
	_, delivered, missed, _ := book.snapshot()
	if len(delivered) != 1 || delivered[0].Peer != holder.ID() || len(missed) != 1 || missed[0].Peer != empty.ID() {
		t.Fatalf("ledger: delivered %+v missed %+v", delivered, missed)
	}
	book.mu.Lock()
	lied := slices.Clone(book.lied)
	book.mu.Unlock()
	if len(lied) != 1 || lied[0].Peer != lying.ID() {
		t.Fatalf("ledger: lied %+v", lied)
	}
	if _, _, err := fetcher.FetchFrom(context.Background(), fetcher.ID(), key, age, checkFor(b, Body)); err == nil {
		t.Fatal("fetched from itself")
	}
}
