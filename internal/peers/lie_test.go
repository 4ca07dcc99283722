package peers

import (
	"bytes"
	"context"
	"errors"
	"testing"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/rlp"
	"github.com/libp2p/go-libp2p/core/network"

	"github.com/braidrpc/braid/internal/await"
	"github.com/braidrpc/braid/internal/history/historytest"
	"github.com/braidrpc/braid/internal/verify"
)

// liar holds one block and lies about one kind of it.
type liar struct {
	b    *historytest.Block
	kind Kind
	lie  []byte
}

func (l *liar) get(k Kind, hash common.Hash) ([]byte, bool) {
	if hash != l.b.Hash() {
		return nil, false
	}
	if k == l.kind {
		return l.lie, true
	}
	return wantBytes(l.b, k), true
}

func (l *liar) HeaderRLP(h common.Hash) ([]byte, bool)   { return l.get(Header, h) }
func (l *liar) BodyRLP(h common.Hash) ([]byte, bool)     { return l.get(Body, h) }
func (l *liar) ReceiptsRLP(h common.Hash) ([]byte, bool) { return l.get(Receipts, h) }

// tamperedTx is b's body with its first transaction replaced by one of
// another block.
func tamperedTx(t *testing.T, b *historytest.Block) []byte {
	t.Helper()
	var other *types.Transaction
	for _, o := range testChain(t).Blocks {
		if o != b && len(o.Body.Transactions) > 0 {
			other = o.Body.Transactions[0]
		}
	}
	body := *b.Body
	body.Transactions = append([]*types.Transaction{other}, b.Body.Transactions[1:]...)
	raw, err := rlp.EncodeToBytes(&body)
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

// droppedReceipt is b's receipts, in the storage encoding, without the
// last one.
func droppedReceipt(t *testing.T, b *historytest.Block) []byte {
	t.Helper()
	var rs []*types.ReceiptForStorage
	if err := rlp.DecodeBytes(b.StorageRLP, &rs); err != nil {
		t.Fatal(err)
	}
	raw, err := rlp.EncodeToBytes(rs[:len(rs)-1])
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

// forgedHeader is b's header with another gas used.
func forgedHeader(t *testing.T, b *historytest.Block) []byte {
	t.Helper()
	h := types.CopyHeader(b.Header)
	h.GasUsed++
	raw, err := rlp.EncodeToBytes(h)
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

// TestLiarIsNeverAccepted: three liars (a tampered transaction, a dropped
// receipt, a forged header) each hold a block with one honest node. The
// fetcher asks each liar first (it delivered before); the lie fails the
// check, is recorded against the liar and never returned, and the fetch
// succeeds from the honest holder.
func TestLiarIsNeverAccepted(t *testing.T) {
	b := busyBlock(t)
	store := openStore(t)
	storeBlock(t, store, b)
	lies := []*liar{
		{b: b, kind: Body, lie: tamperedTx(t, b)},
		{b: b, kind: Receipts, lie: droppedReceipt(t, b)},
		{b: b, kind: Header, lie: forgedHeader(t, b)},
	}
	nodes := cluster(t, 5, func(i int, o *Options) {
		switch {
		case i == 1:
			o.Holder = store
		case i >= 2:
			o.Holder = lies[i-2]
		}
	})
	fetcher, honest := nodes[0], nodes[1]
	for _, n := range nodes[1:] {
		n.Provide(keys(b)...)
	}
	for i, l := range lies {
		liarNode := nodes[i+2]
		key := Key{l.kind, b.Hash()}
		waitHolders(t, fetcher, key, 4)
		prefer(fetcher, liarNode.ID())
		var checked [][]byte
		check := func(data []byte) error {
			err := checkFor(b, l.kind)(data)
			if err == nil {
				checked = append(checked, data)
			}
			return err
		}
		data, tr, err := fetcher.Fetch(context.Background(), key, Age{}, check)
		if err != nil {
			t.Fatalf("%s: %v", l.kind, err)
		}
		if !bytes.Equal(data, wantBytes(b, l.kind)) || len(checked) != 1 || !bytes.Equal(checked[0], data) {
			t.Fatalf("%s: a lie got through", l.kind)
		}
		if tr.Peer == liarNode.ID() {
			t.Fatalf("%s: delivered by the liar", l.kind)
		}
		s, _ := fetcher.Tally().Peer(liarNode.ID())
		if s.Lies != 1 {
			t.Fatalf("%s: liar's tally %+v, want one lie", l.kind, s)
		}
		if s, _ := fetcher.Tally().Peer(tr.Peer); s.Lies != 0 {
			t.Fatalf("%s: the deliverer lied? %+v", l.kind, s)
		}
	}
	if s, _ := fetcher.Tally().Peer(honest.ID()); s.Lies != 0 || s.In.Transfers == 0 {
		t.Fatalf("honest holder's tally %+v", s)
	}
}

// TestLiesGetALiarBanned: a peer whose content fails verification twice
// in a ban window is disconnected and refused.
func TestLiesGetALiarBanned(t *testing.T) {
	b := busyBlock(t)
	nodes := cluster(t, 2, func(i int, o *Options) {
		if i == 1 {
			o.Holder = &liar{b: b, kind: Body, lie: tamperedTx(t, b)}
		}
	})
	fetcher, l := nodes[0], nodes[1]
	l.Provide(Key{Body, b.Hash()})
	waitHolders(t, fetcher, Key{Body, b.Hash()}, 1)
	for range 2 {
		_, _, err := fetcher.Fetch(context.Background(), Key{Body, b.Hash()}, Age{}, CheckBody(b.Header))
		if !errors.Is(err, ErrUnavailable) {
			t.Fatalf("err = %v, want ErrUnavailable", err)
		}
	}
	await.Within(t, peerWait, "the liar disconnected", func() bool {
		return fetcher.host.Network().Connectedness(l.ID()) != network.Connected
	})
	if !fetcher.guard.banned(l.ID()) || fetcher.Status().Banned != 1 {
		t.Fatal("liar not banned")
	}
	if _, err := ask(l, fetcher, Key{Body, b.Hash()}); err == nil {
		t.Fatal("a banned peer was answered")
	}
}

// TestCheckErrorsOfTheCallerBlameNobody: a check failing for the caller's
// own reason ends the fetch with that error and records no lie.
func TestCheckErrorsOfTheCallerBlameNobody(t *testing.T) {
	b := busyBlock(t)
	store := openStore(t)
	storeBlock(t, store, b)
	nodes := cluster(t, 2, func(i int, o *Options) {
		if i == 1 {
			o.Holder = store
		}
	})
	nodes[1].Provide(Key{Body, b.Hash()})
	waitHolders(t, nodes[0], Key{Body, b.Hash()}, 1)
	full := errors.New("store full")
	_, _, err := nodes[0].Fetch(context.Background(), Key{Body, b.Hash()}, Age{}, func([]byte) error { return full })
	if !errors.Is(err, full) {
		t.Fatalf("err = %v", err)
	}
	if s, _ := nodes[0].Tally().Peer(nodes[1].ID()); s.Lies != 0 {
		t.Fatalf("tally %+v", s)
	}
	_ = verify.ReceiptsStorage
}
