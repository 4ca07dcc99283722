package peers

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"

	"github.com/braidrpc/braid/internal/await"
	"github.com/braidrpc/braid/internal/history"
	"github.com/braidrpc/braid/internal/verify"
)

func TestLocationRoundTrip(t *testing.T) {
	loc := history.TxLocation{BlockHash: common.HexToHash("0xab"), Number: 1 << 40, Index: 513}
	raw := AppendLocation(nil, loc)
	if len(raw) != LocationSize || len(raw) != Location.MaxSize() {
		t.Fatalf("%d bytes, size %d, bound %d", len(raw), LocationSize, Location.MaxSize())
	}
	got, err := DecodeLocation(raw)
	if err != nil || got != loc {
		t.Fatalf("got %+v, %v", got, err)
	}
	for _, bad := range [][]byte{nil, raw[:LocationSize-1], append(raw, 0)} {
		if _, err := DecodeLocation(bad); !errors.Is(err, verify.ErrMalformed) || !IsLie(err) {
			t.Fatalf("%d bytes: %v, want a malformed lie", len(bad), err)
		}
	}
}

func FuzzDecodeLocation(f *testing.F) {
	f.Add(AppendLocation(nil, history.TxLocation{Number: 7, Index: 1}))
	f.Add([]byte{1, 2, 3})
	f.Fuzz(func(t *testing.T, b []byte) {
		loc, err := DecodeLocation(b)
		if err != nil {
			return
		}
		if again := AppendLocation(nil, loc); string(again) != string(b) {
			t.Fatalf("%x decodes to %+v, which encodes as %x", b, loc, again)
		}
	})
}

// falseLocator claims every transaction sits at index 0 of block 1.
type falseLocator struct{ asked int }

func (*falseLocator) HeaderRLP(common.Hash) ([]byte, bool)   { return nil, false }
func (*falseLocator) BodyRLP(common.Hash) ([]byte, bool)     { return nil, false }
func (*falseLocator) ReceiptsRLP(common.Hash) ([]byte, bool) { return nil, false }
func (l *falseLocator) TxLookup(common.Hash) (*types.Transaction, history.TxLocation, bool) {
	l.asked++
	return nil, history.TxLocation{BlockHash: common.HexToHash("0x01"), Number: 1}, true
}

// TestLocateAsksConnectedPeers: a transaction's location is asked of the
// connected peers, the liar first (it delivered before); its false
// location fails the check and is recorded as its lie, and the honest
// holder's location — what its store's index says — is returned. A
// transaction nobody holds is ErrUnavailable, with nothing recorded as a
// lie.
func TestLocateAsksConnectedPeers(t *testing.T) {
	b := busyBlock(t)
	store := openStore(t)
	storeBlock(t, store, b)
	liar := &falseLocator{}
	nodes := cluster(t, 4, func(i int, o *Options) {
		switch i {
		case 1:
			o.Holder = store
		case 2:
			o.Holder = liar
		}
	})
	asker, honest, liarNode := nodes[0], nodes[1], nodes[2]
	await.Within(t, peerWait, "content peers identified", func() bool { return len(asker.contentPeers()) == 3 })
	prefer(asker, liarNode.ID())

	idx := len(b.Body.Transactions) - 1
	tx := b.Body.Transactions[idx]
	want := history.TxLocation{BlockHash: b.Hash(), Number: b.Header.Number.Uint64(), Index: uint64(idx)}
	check := func(raw []byte) error {
		loc, err := DecodeLocation(raw)
		if err != nil {
			return err
		}
		if loc != want {
			return &verify.Error{What: fmt.Sprintf("location %+v", loc)}
		}
		return nil
	}
	loc, tr, err := asker.Locate(context.Background(), tx.Hash(), check)
	if err != nil {
		t.Fatal(err)
	}
	if loc != want || tr.Peer != honest.ID() || tr.Key != (Key{Location, tx.Hash()}) {
		t.Fatalf("located %+v by %s, want %+v by the honest holder", loc, tr.Peer, want)
	}
	if s, _ := asker.Tally().Peer(liarNode.ID()); s.Lies != 1 || liar.asked != 1 {
		t.Fatalf("liar's tally %+v, asked %d times; want one lie", s, liar.asked)
	}

	// Only the liar claims to know this one; its claim fails the check.
	_, _, err = asker.Locate(context.Background(), common.HexToHash("0x1234"), func([]byte) error {
		return &verify.Error{What: "no such transaction there"}
	})
	if !errors.Is(err, ErrUnavailable) {
		t.Fatalf("nobody holds it: %v", err)
	}
	if s, _ := asker.Tally().Peer(honest.ID()); s.Lies != 0 {
		t.Fatalf("honest holder's tally %+v", s)
	}
	if s, _ := asker.Tally().Peer(liarNode.ID()); s.Lies != 2 {
		t.Fatalf("liar's tally %+v, want two lies", s)
	}
}

// TestLocateWithoutPeers: a node connected to nobody says so.
func TestLocateWithoutPeers(t *testing.T) {
	n := startNode(t, loopback(t))
	if _, _, err := n.Locate(context.Background(), common.HexToHash("0x1"), func([]byte) error { return nil }); !errors.Is(err, ErrNoHolders) {
		t.Fatalf("got %v, want ErrNoHolders", err)
	}
}
