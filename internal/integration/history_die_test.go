package integration

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/libp2p/go-libp2p/core/crypto"

	"github.com/braidrpc/braid/internal/await"
	"github.com/braidrpc/braid/internal/devnet"
	"github.com/braidrpc/braid/internal/history/historytest"
	"github.com/braidrpc/braid/internal/peers"
)

// dier is a peer's store that serves block good honestly and, asked for
// block dies's body, says so (asked) and holds the request until release.
type dier struct {
	c         *historytest.Chain
	good, die common.Hash
	asked     chan struct{}
	release   chan struct{}
}

func (d *dier) HeaderRLP(hash common.Hash) ([]byte, bool) {
	if b := d.c.Block(hash); b != nil && (hash == d.good || hash == d.die) {
		return b.HeaderRLP, true
	}
	return nil, false
}

func (d *dier) BodyRLP(hash common.Hash) ([]byte, bool) {
	switch hash {
	case d.good:
		return d.c.Block(hash).BodyRLP, true
	case d.die:
		select {
		case d.asked <- struct{}{}:
		default:
		}
		<-d.release
		return d.c.Block(hash).BodyRLP, true
	}
	return nil, false
}

func (d *dier) ReceiptsRLP(hash common.Hash) ([]byte, bool) {
	if hash == d.good {
		return d.c.Block(hash).StorageRLP, true
	}
	return nil, false
}

// TestHistoryPeerDiesMidTransfer: a reader gateway asks the holder it
// knows best (it served the reader before) for a block; that holder dies
// while the request is in flight (its node closes its connections); the
// read is retried at the other holder, a gateway that keeps the block, and
// the client gets the block as the unpruned chain has it. The dead holder
// is not recorded as a liar.
func TestHistoryPeerDiesMidTransfer(t *testing.T) {
	ctx := context.Background()
	chain, err := historytest.New(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { chain.Devnet.Close() })
	dn := chain.Devnet
	head := chain.Head().Number()
	good, target := chain.Blocks[1], busiest(chain)
	if len(good.Body.Transactions) == 0 || target.Number() < 2 {
		t.Fatalf("block 1 has %d transactions, the busiest old block is %d", len(good.Body.Transactions), target.Number())
	}
	want := map[uint64]json.RawMessage{}
	for _, b := range []*historytest.Block{good, target} {
		var raw json.RawMessage
		if err := dn.RPC().CallContext(ctx, &raw, "eth_getBlockReceipts", hexutil.Uint64(b.Number())); err != nil {
			t.Fatal(err)
		}
		want[b.Number()] = raw
	}

	d := &dier{c: chain, good: good.Hash(), die: target.Hash(), asked: make(chan struct{}, 1), release: make(chan struct{})}
	key, _, err := crypto.GenerateEd25519Key(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	node, err := peers.New(peers.Options{Key: key, Listen: []string{"/ip4/127.0.0.1/tcp/0"}, DialRanges: []string{"127.0.0.0/8"},
		Holder: d, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	released := false
	t.Cleanup(func() {
		if !released {
			close(d.release)
		}
		node.Close()
	})
	for _, h := range []common.Hash{good.Hash(), target.Hash()} {
		node.Provide(peers.Key{Kind: peers.Body, Hash: h}, peers.Key{Kind: peers.Receipts, Hash: h}, peers.Key{Kind: peers.Header, Hash: h})
	}

	// The keeper holds every block from 2 on (not block 1).
	keeper := newHistoryGateway(t, dn, t.TempDir(), "from:2", node.Addrs())
	waitFilled(t, keeper, head)
	for _, p := range dn.Providers() {
		p.SetFaults(devnet.Faults{PruneBelow: head})
	}
	reader := newHistoryGateway(t, dn, t.TempDir(), "none", node.Addrs())
	// Block 1 only the dying holder has: once the reader's DHT finds it,
	// it delivers, and the reader ranks it first from then on.
	read := func(b *historytest.Block) historyAnswer {
		got := postHistory(t, reader.url, "eth_getBlockReceipts", hexutil.Uint64(b.Number()))
		if got.Error == nil && !sameJSON(got.Result, want[b.Number()]) {
			t.Fatalf("block %d: %s, want %s", b.Number(), got.Result, want[b.Number()])
		}
		if got.Error != nil && got.Error.Code != 4444 {
			t.Fatalf("block %d: %+v, want the block or the providers' 4444", b.Number(), got.Error)
		}
		return got
	}
	await.Within(t, 60*time.Second, "block 1 from the dying holder", func() bool { return read(good).Error == nil })

	// The busiest block: the dying holder is asked first and dies with
	// the request in flight; the read is retried at the keeper.
	done := make(chan historyAnswer, 1)
	go func() {
		// Not postHistory: t.Fatal must not run on this goroutine.
		var got historyAnswer
		body, _ := json.Marshal(map[string]any{"jsonrpc": "2.0", "id": 1, "method": "eth_getBlockReceipts",
			"params": []any{hexutil.Uint64(target.Number())}})
		resp, err := http.Post(reader.url, "application/json", bytes.NewReader(body))
		if err == nil {
			raw, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if json.Unmarshal(raw, &got) != nil {
				got.Result = raw
			}
			got.Source = resp.Header.Get("Braid-Source")
		} else {
			got.Result = json.RawMessage(`"` + err.Error() + `"`)
		}
		done <- got
	}()
	var got historyAnswer
	select {
	case <-d.asked:
		go node.Close() // its connections close; Close then waits for the held request
		got = <-done
		close(d.release)
		released = true
	case got = <-done:
		t.Fatalf("the read was answered (%+v, source %q) without asking the holder that served before", got.Error, got.Source)
	}
	if got.Error != nil || !sameJSON(got.Result, want[target.Number()]) || got.Source != "peer" {
		t.Fatalf("after the holder died: %s (error %+v, source %q), want the block from the keeper", got.Result, got.Error, got.Source)
	}
	if lies := peerLies(reader, node.ID().String()); lies != 0 {
		t.Fatalf("the dead holder was recorded with %d lies", lies)
	}
}
