package integration

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"log/slog"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/rlp"
	"github.com/libp2p/go-libp2p/core/crypto"

	"github.com/braidrpc/braid/internal/await"
	"github.com/braidrpc/braid/internal/devnet"
	"github.com/braidrpc/braid/internal/history/historytest"
	"github.com/braidrpc/braid/internal/peers"
)

// liar is a peer's store that lies about every block: a body with one
// transaction swapped for another block's, receipts with the last one
// dropped, and another block's header.
type liar struct{ c *historytest.Chain }

func (l liar) other(hash common.Hash) *historytest.Block {
	b := l.c.Block(hash)
	if b == nil {
		return nil
	}
	return l.c.Blocks[(int(b.Number())+1)%len(l.c.Blocks)]
}

func (l liar) HeaderRLP(hash common.Hash) ([]byte, bool) {
	if o := l.other(hash); o != nil {
		return o.HeaderRLP, true
	}
	return nil, false
}

func (l liar) BodyRLP(hash common.Hash) ([]byte, bool) {
	b := l.c.Block(hash)
	if b == nil || len(b.Body.Transactions) == 0 {
		return nil, false
	}
	body := *b.Body
	body.Transactions = append([]*types.Transaction(nil), body.Transactions...)
	for _, o := range l.c.Blocks {
		if o.Hash() != hash && len(o.Body.Transactions) > 0 {
			body.Transactions[0] = o.Body.Transactions[0]
			break
		}
	}
	raw, _ := rlp.EncodeToBytes(&body)
	return raw, true
}

func (l liar) ReceiptsRLP(hash common.Hash) ([]byte, bool) {
	b := l.c.Block(hash)
	if b == nil || len(b.Receipts) == 0 {
		return nil, false
	}
	stored := make([]*types.ReceiptForStorage, len(b.Receipts)-1)
	for i := range stored {
		stored[i] = (*types.ReceiptForStorage)(b.Receipts[i])
	}
	raw, _ := rlp.EncodeToBytes(stored)
	return raw, true
}

// startLiar starts a peer node serving liar's content and announcing every
// block of the chain.
func startLiar(t *testing.T, c *historytest.Chain) *peers.Node {
	t.Helper()
	key, _, err := crypto.GenerateEd25519Key(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	n, err := peers.New(peers.Options{Key: key, Listen: []string{"/ip4/127.0.0.1/tcp/0"}, DialRanges: []string{"127.0.0.0/8"},
		Holder: liar{c}, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.Close() })
	for _, b := range c.Blocks {
		n.Provide(peers.Key{Kind: peers.Body, Hash: b.Hash()}, peers.Key{Kind: peers.Receipts, Hash: b.Hash()},
			peers.Key{Kind: peers.Header, Hash: b.Hash()})
	}
	return n
}

// busiest is the chain's old block with the most transactions.
func busiest(c *historytest.Chain) *historytest.Block {
	var best *historytest.Block
	for _, b := range c.Blocks[:len(c.Blocks)-1] {
		if best == nil || len(b.Body.Transactions) > len(best.Body.Transactions) {
			best = b
		}
	}
	return best
}

// peerLies is how many lies gw's status records of peer id.
func peerLies(g *historyGateway, id string) int64 {
	for _, p := range g.gw.Status().Networks[0].Peers {
		if p.ID == id {
			return p.Lies
		}
	}
	return 0
}

// TestHistoryLiarsAndRestarts: a peer that lies (a tampered transaction,
// a dropped receipt, another block's header) is never served to a client
// and is recorded; the read succeeds once an honest holder is around — a
// gateway restarted on the store it filled before, which survives the
// restart; and a holder that is gone is passed over for another.
func TestHistoryLiarsAndRestarts(t *testing.T) {
	ctx := context.Background()
	chain, err := historytest.New(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { chain.Devnet.Close() })
	dn := chain.Devnet
	head := chain.Head().Number()
	keeperDir := t.TempDir()

	// The keeper fills its store while the provider still serves all.
	keeper := newHistoryGateway(t, dn, keeperDir, "all", nil)
	waitFilled(t, keeper, head)
	filled := keeper.gw.Status().Networks[0].History.Store
	keeper.gw.Close()
	for _, p := range dn.Providers() {
		p.SetFaults(devnet.Faults{PruneBelow: head})
	}

	// Only the liar holds the block: the reader never serves its content.
	l := startLiar(t, chain)
	reader := newHistoryGateway(t, dn, t.TempDir(), "none", l.Addrs())
	b := busiest(chain)
	num := hexutil.Uint64(b.Number())
	// Its announcements reach the DHT once the reader has joined: read
	// until the reader has asked it (each read must be the providers'
	// 4444, never the liar's content).
	await.Within(t, 90*time.Second, "the liar asked and its lie recorded", func() bool {
		for _, c := range [][]any{{"eth_getBlockByNumber", num, true}, {"eth_getBlockReceipts", num}} {
			got := postHistory(t, reader.url, c[0].(string), c[1:]...)
			if got.Error == nil || got.Error.Code != 4444 || got.Source != "provider" {
				t.Fatalf("%v with only a liar holding it: %s %+v (source %q), want the providers' 4444", c, got.Result, got.Error, got.Source)
			}
		}
		return peerLies(reader, l.ID().String()) > 0
	})

	// The keeper comes back on its store: everything it held is still
	// there, announced again, and the reader's reads succeed from it.
	keeper = newHistoryGateway(t, dn, keeperDir, "all", l.Addrs())
	if st := keeper.gw.Status().Networks[0].History.Store; st.Blocks != filled.Blocks || st.Receipts != filled.Receipts || st.Bytes > st.MaxBytes {
		t.Fatalf("store after restart %+v, before %+v", st, filled)
	}
	want := map[string]json.RawMessage{}
	for _, c := range [][]any{{"eth_getBlockByNumber", num, true}, {"eth_getBlockReceipts", num}} {
		var raw json.RawMessage
		if err := dn.RPC().CallContext(ctx, &raw, c[0].(string), c[1:]...); err != nil {
			t.Fatal(err)
		}
		want[fmt.Sprint(c)] = raw
		await.Within(t, 60*time.Second, fmt.Sprintf("%v answered from the honest keeper", c), func() bool {
			got := postHistory(t, reader.url, c[0].(string), c[1:]...)
			if got.Error == nil && !sameJSON(got.Result, raw) {
				t.Fatalf("%v = %s, want %s: a lie was served", c, got.Result, raw)
			}
			return got.Error == nil
		})
	}
	// A second reader takes another block from the keeper; then the
	// keeper is gone, and the first reader finds that block at the second.
	other := chain.Blocks[1]
	reader2 := newHistoryGateway(t, dn, t.TempDir(), "none", keeper.gw.Networks()[0].PeerAddrs())
	call := []any{"eth_getBlockReceipts", hexutil.Uint64(other.Number())}
	var raw json.RawMessage
	if err := dn.RPC().CallContext(ctx, &raw, "eth_getBlockReceipts", call[1]); err != nil {
		t.Fatal(err)
	}
	// Reader 2 has only just joined: until its DHT finds the keeper's
	// records, the providers' 4444 is the answer.
	await.Within(t, 60*time.Second, "reader 2 reads the block from the keeper", func() bool {
		got := postHistory(t, reader2.url, "eth_getBlockReceipts", call[1])
		if got.Error == nil && !sameJSON(got.Result, raw) {
			t.Fatalf("reader 2: %s, want %s", got.Result, raw)
		}
		if got.Error != nil && got.Error.Code != 4444 {
			t.Fatalf("reader 2: %+v, want the block or the providers' 4444", got.Error)
		}
		return got.Error == nil
	})
	keeper.gw.Close()
	await.Within(t, 60*time.Second, "the first reader reads the block the second one holds", func() bool {
		got := postHistory(t, reader.url, "eth_getBlockReceipts", call[1])
		if got.Error == nil && !sameJSON(got.Result, raw) {
			t.Fatalf("%v = %s, want %s", call, got.Result, raw)
		}
		return got.Error == nil && got.Source == "peer"
	})
}
