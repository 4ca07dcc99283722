package ledger

import (
	"context"
	"crypto/rand"
	"errors"
	"testing"

	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/braidrpc/braid/internal/await"
	"github.com/braidrpc/braid/internal/clock"
	"github.com/braidrpc/braid/internal/history"
	"github.com/braidrpc/braid/internal/history/historytest"
	"github.com/braidrpc/braid/internal/peers"
	"github.com/braidrpc/braid/internal/verify"
)

// oldBlocks are the devnet blocks with content, from 1 (all old at the
// loopback head).
func oldBlocks(t *testing.T, c *historytest.Chain, n int) []*historytest.Block {
	t.Helper()
	if len(c.Blocks) < n+1 {
		t.Fatalf("the devnet chain has %d blocks, want %d", len(c.Blocks), n+1)
	}
	return c.Blocks[1 : n+1]
}

// TestLoopbackFreeRiderWaits: five gateways. The holder has one serving
// slot; a contributor once served it a block, a free rider only took
// from it. With the slot busy, the free rider asks first and the
// contributor second: the contributor is served first, the free rider
// after it, and both get the block.
func TestLoopbackFreeRiderWaits(t *testing.T) {
	c := devChain(t)
	bs := oldBlocks(t, c, 2)
	x, y := bs[0], bs[1]
	gs := cluster(t, c, [5]setup{
		{cfg: Config{Capacity: 1, NewcomerEvery: -1, ForgiveRate: 1e-6}, blocks: []*historytest.Block{x}}, // holder
		{blocks: []*historytest.Block{y}}, // contributor
		{},                                // free rider
		{}, {},
	})
	holder, contributor, rider := gs[0], gs[1], gs[2]
	xKey, yKey := peers.Key{Kind: peers.Header, Hash: x.Hash()}, peers.Key{Kind: peers.Header, Hash: y.Hash()}
	waitHolders(t, holder, yKey, 1)
	fetchHeader(t, holder, y) // the contributor serves the holder
	waitHolders(t, rider, xKey, 1)
	waitHolders(t, contributor, xKey, 1)
	fetchHeaderFrom(t, rider, holder, x) // the rider takes
	if holder.l.Balance(contributor.node.ID()) <= 0 || holder.l.Balance(rider.node.ID()) >= 0 {
		t.Fatalf("balances: contributor %v, rider %v", holder.l.Balance(contributor.node.ID()), holder.l.Balance(rider.node.ID()))
	}
	// The holder charges a serve when its reply is written and frees the
	// slot after that: wait for the slot, or the test's own take of it
	// would queue behind the rider's finished serve.
	await.Until(t, "the holder's slot free", func() bool { serving, _ := holder.l.Queue(); return serving == 0 })
	busy, err := holder.l.Request(peers.Inbound{Peer: peer.ID("busy")})
	if err != nil || !busy.Admitted() {
		serving, waiting := holder.l.Queue()
		t.Fatalf("taking the slot: %v (serving %d, waiting %d)", err, serving, waiting)
	}
	got := make(chan peer.ID, 2)
	fetch := func(g *gateway) {
		_, _, err := g.node.Fetch(context.Background(), xKey, peers.Age{Number: x.Number(), Known: true}, peers.CheckHeader(x.Hash()))
		if err != nil {
			t.Errorf("fetch by %s: %v", g.node.ID(), err)
		}
		got <- g.node.ID()
	}
	go fetch(rider)
	await.Until(t, "the rider waiting", func() bool { _, w := holder.l.Queue(); return w == 1 })
	go fetch(contributor)
	await.Until(t, "both waiting", func() bool { _, w := holder.l.Queue(); return w == 2 })
	before := len(holder.rec.order())
	busy.Done()
	<-got
	<-got
	order := holder.rec.order()[before:]
	if len(order) != 2 || order[0] != contributor.node.ID() || order[1] != rider.node.ID() {
		t.Fatalf("admitted %v, want the contributor (%s) before the rider (%s)", order, contributor.node.ID(), rider.node.ID())
	}
}

// TestLoopbackAuditCatchesDropper: five gateways. Two advertise an old
// block; one has dropped it. The auditor learns both claims from a fetch
// and audits at random until each was audited: the dropper fails (missing
// receipts), loses standing and is ranked last; the keeper passes and is
// credited for the audit's delivery.
func TestLoopbackAuditCatchesDropper(t *testing.T) {
	c := devChain(t)
	x := busiest(c)
	gs := cluster(t, c, [5]setup{
		{cfg: Config{AuditTimeout: 30e9}}, // auditor
		{blocks: []*historytest.Block{x}}, // keeper
		{drop: []*historytest.Block{x}},   // dropper: announces, holds nothing
		{}, {},
	})
	auditor, keeper, dropper := gs[0], gs[1], gs[2]
	key := peers.Key{Kind: peers.Receipts, Hash: x.Hash()}
	waitHolders(t, auditor, key, 2)
	_, tr, err := auditor.node.Fetch(context.Background(), key, peers.Age{Number: x.Number(), Known: true},
		peers.CheckReceipts(x.Header, x.Body.Transactions))
	if err != nil || tr.Peer != keeper.node.ID() {
		t.Fatalf("fetch: %v from %s", err, tr.Peer)
	}
	seen := map[peer.ID]Outcome{}
	for i := 0; i < 100 && len(seen) < 2; i++ {
		a, err := auditor.l.AuditOnce(context.Background(), auditor.node, chainHeaders{c}, nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := seen[a.Peer]; !ok && a.Outcome != Inconclusive {
			seen[a.Peer] = a.Outcome
		}
	}
	if seen[keeper.node.ID()] != Passed || seen[dropper.node.ID()] != Missing {
		t.Fatalf("audits %v: want the keeper passed, the dropper missing", seen)
	}
	ks, _ := auditor.l.Peer(keeper.node.ID())
	ds, _ := auditor.l.Peer(dropper.node.ID())
	if ds.Standing >= 0.5 || ds.AuditsFailed == 0 || ds.Balance >= 0 || ks.Standing != 1 || ks.Balance <= 0 {
		t.Fatalf("keeper %+v\ndropper %+v", ks, ds)
	}
	ids := auditor.l.Rank(key, peers.Age{Number: x.Number(), Depth: 1000, Known: true}, []peer.ID{dropper.node.ID(), keeper.node.ID()})
	if ids[0] != keeper.node.ID() {
		t.Fatalf("rank %v: the dropper is not last", ids)
	}
}

// TestLoopbackOnlyHolderEarnsMost: five gateways. One holds the only copy
// of an old block; three hold another. The fetcher credits the only
// holder most, for content of about the same size: ×8 for rarity against
// ×8/3.
func TestLoopbackOnlyHolderEarnsMost(t *testing.T) {
	c := devChain(t)
	bs := oldBlocks(t, c, 2)
	rare, common := bs[0], bs[1]
	gs := cluster(t, c, [5]setup{
		{},
		{blocks: []*historytest.Block{rare}},
		{blocks: []*historytest.Block{common}},
		{blocks: []*historytest.Block{common}},
		{blocks: []*historytest.Block{common}},
	})
	fetcher, only := gs[0], gs[1]
	waitHolders(t, fetcher, peers.Key{Kind: peers.Header, Hash: common.Hash()}, 3)
	waitHolders(t, fetcher, peers.Key{Kind: peers.Header, Hash: rare.Hash()}, 1)
	rt := fetchHeader(t, fetcher, rare)
	ct := fetchHeader(t, fetcher, common)
	if rt.Peer != only.node.ID() || rt.Holders != 1 || ct.Holders != 3 {
		t.Fatalf("rare from %s (%d holders), common from %s (%d holders)", rt.Peer, rt.Holders, ct.Peer, ct.Holders)
	}
	best := fetcher.l.Snapshot().Peers[0]
	if best.ID != only.node.ID().String() {
		t.Fatalf("best balance %s, want the only holder %s", best.ID, only.node.ID())
	}
	if want := float64(rt.Bytes) * 5 * 8; best.Balance != want {
		t.Fatalf("only holder's credit %v, want %v", best.Balance, want)
	}
	if got, want := fetcher.l.Balance(ct.Peer), float64(ct.Bytes)*5*8/3; got < want*0.999 || got > want*1.001 {
		t.Fatalf("common holder's credit %v, want %v", got, want)
	}
}

// busiest is the devnet block with the most transactions.
func busiest(c *historytest.Chain) *historytest.Block {
	best := c.Blocks[1]
	for _, b := range c.Blocks[1:] {
		if len(b.Body.Transactions) > len(best.Body.Transactions) {
			best = b
		}
	}
	return best
}

// TestLoopbackLedgerSurvivesRestart: five gateways; one's ledger is
// persisted. After it is credited by a fetch and charged by a serve, the
// gateway stops and starts again with the same identity and directory:
// the balances, flows and claims are what they were, and new transfers
// add to them.
func TestLoopbackLedgerSurvivesRestart(t *testing.T) {
	c := devChain(t)
	bs := oldBlocks(t, c, 3)
	key, _, err := crypto.GenerateEd25519Key(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	clk := clock.NewFake(epoch) // no forgiveness between the readings
	gs := cluster(t, c, [5]setup{
		{},
		{dir: dir, key: key, clk: clk, blocks: []*historytest.Block{bs[0]}},
		{blocks: []*historytest.Block{bs[1], bs[2]}},
		{}, {},
	})
	boot, g, giver, taker := gs[0], gs[1], gs[2], gs[3]
	waitHolders(t, g, peers.Key{Kind: peers.Header, Hash: bs[1].Hash()}, 1)
	fetchHeader(t, g, bs[1])
	waitHolders(t, taker, peers.Key{Kind: peers.Header, Hash: bs[0].Hash()}, 1)
	fetchHeaderFrom(t, taker, g, bs[0])
	before := g.l.Snapshot()
	if len(before.Peers) < 2 {
		t.Fatalf("accounts before the restart: %+v", before.Peers)
	}
	g.close()

	again := startGateway(t, c, setup{dir: dir, key: key, clk: clk}, boot.node.Addrs())
	if again.node.ID() != g.node.ID() {
		t.Fatal("a new identity")
	}
	after := again.l.Snapshot()
	for _, id := range []peer.ID{giver.node.ID(), taker.node.ID()} {
		b, _ := g.l.Peer(id) // the closed ledger still answers from memory
		a, ok := again.l.Peer(id)
		if !ok || a.Balance != b.Balance || a.Received[3] != b.Received[3] || a.Served[3] != b.Served[3] || a.Claims != b.Claims {
			t.Fatalf("account of %s: before %+v\nafter %+v", id, b, a)
		}
	}
	if len(after.Peers) != len(before.Peers) {
		t.Fatalf("%d accounts before, %d after", len(before.Peers), len(after.Peers))
	}
	was := again.l.Balance(giver.node.ID())
	await.Until(t, "a DHT peer", func() bool { return again.node.Status().RoutingTable > 0 })
	waitHolders(t, again, peers.Key{Kind: peers.Header, Hash: bs[2].Hash()}, 1)
	tr := fetchHeader(t, again, bs[2])
	if tr.Peer != giver.node.ID() || again.l.Balance(giver.node.ID()) <= was {
		t.Fatalf("a delivery after the restart did not add to %v", was)
	}
}

// TestLoopbackEvicterKeepsStanding: five gateways. Three advertise an old
// block: a keeper; an honest gateway that evicts it from its bounded
// store after announcing it (its DHT record lives on); a dropper that
// hides it without a tombstone (a false advertiser). The auditor learns
// the three claims from the DHT and audits until each was audited: the
// keeper passes, the evicter answers "evicted" and keeps its standing
// and balance, the dropper fails. A fetch that meets the evicter's stale
// record skips it at no cost.
func TestLoopbackEvicterKeepsStanding(t *testing.T) {
	c := devChain(t)
	x := busiest(c)
	gs := cluster(t, c, [5]setup{
		{cfg: Config{AuditTimeout: 30e9}},                              // auditor
		{blocks: []*historytest.Block{x}},                              // keeper
		{drop: []*historytest.Block{x}},                                // dropper: announces, holds nothing, no tombstone
		{blocks: []*historytest.Block{x}, maxBytes: 2 * blockBytes(x)}, // evicter
		{},
	})
	auditor, keeper, dropper, evicter := gs[0], gs[1], gs[2], gs[3]
	key := peers.Key{Kind: peers.Receipts, Hash: x.Hash()}
	waitHolders(t, auditor, key, 3)
	evict(t, evicter, c, x)
	at, ok := evicter.store.Evicted(x.Hash(), history.ReceiptsPart)
	if !ok {
		t.Fatal("the evicter's store has no tombstone of the block it evicted")
	}

	hs, err := auditor.node.FindHolders(context.Background(), key)
	if err != nil {
		t.Fatal(err)
	}
	ids := make([]peer.ID, len(hs))
	for i, h := range hs {
		ids[i] = h.ID
	}
	age := peers.Age{Number: x.Number(), Depth: 1000, Known: true}
	auditor.l.Rank(key, age, ids) // as a fetch does: the claims to audit
	seen := map[peer.ID]Outcome{}
	for i := 0; i < 200 && len(seen) < 3; i++ {
		a, err := auditor.l.AuditOnce(context.Background(), auditor.node, chainHeaders{c}, nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := seen[a.Peer]; !ok && a.Outcome != Inconclusive {
			seen[a.Peer] = a.Outcome
		}
	}
	if seen[keeper.node.ID()] != Passed || seen[evicter.node.ID()] != Evicted || seen[dropper.node.ID()] != Missing {
		t.Fatalf("audits %v: want the keeper passed, the evicter evicted, the dropper missing", seen)
	}
	es, _ := auditor.l.Peer(evicter.node.ID())
	ds, _ := auditor.l.Peer(dropper.node.ID())
	if es.Standing != 1 || es.AuditsFailed != 0 || es.AuditsEvicted != 1 || es.Penalties != 0 || es.Balance < 0 {
		t.Fatalf("the honest evicter lost standing: %+v (evicted at %v)", es, at)
	}
	if ds.Standing >= 0.5 || ds.AuditsFailed == 0 {
		t.Fatalf("the dropper kept its standing: %+v", ds)
	}
	if order := auditor.l.Rank(key, age, ids); order[0] != keeper.node.ID() {
		t.Fatalf("rank %v: the keeper is not first", order)
	}
	_, tr, err := auditor.node.Fetch(context.Background(), key, peers.Age{Number: x.Number(), Known: true},
		peers.CheckReceipts(x.Header, x.Body.Transactions))
	if err != nil || tr.Peer != keeper.node.ID() {
		t.Fatalf("fetch: %v from %s", err, tr.Peer)
	}
	if es2, _ := auditor.l.Peer(evicter.node.ID()); es2.Standing != 1 || es2.Penalties != 0 {
		t.Fatalf("a fetch cost the evicter: %+v", es2)
	}
}

// blockBytes is about what a block takes in a store.
func blockBytes(b *historytest.Block) int64 {
	return int64(len(b.HeaderRLP)+len(b.BodyRLP)+len(b.StorageRLP)) + 4<<10
}

// evict stores other blocks in g's store until it evicts x.
func evict(t *testing.T, g *gateway, c *historytest.Chain, x *historytest.Block) {
	t.Helper()
	for _, b := range c.Blocks[1:] {
		if !g.store.Has(x.Hash(), history.HeaderPart) {
			return
		}
		if b.Hash() == x.Hash() {
			continue
		}
		if err := g.store.PutBlockRLP(b.Header, b.BodyRLP, b.StorageRLP, verify.ReceiptsStorage, history.Proven); err != nil &&
			!errors.Is(err, history.ErrFull) {
			t.Fatal(err)
		}
	}
	if g.store.Has(x.Hash(), history.HeaderPart) {
		t.Fatal("the store never evicted the block")
	}
}
