package ledger

import (
	"context"
	"testing"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/braidrpc/braid/internal/peers"
)

// auditUntil audits until every peer in want was audited with an
// outcome that is not inconclusive, and returns the first outcome of each.
func auditUntil(t *testing.T, l *Ledger, net *fakeNet, want ...peer.ID) map[peer.ID]Outcome {
	t.Helper()
	seen := map[peer.ID]Outcome{}
	for i := 0; i < 200 && len(seen) < len(want); i++ {
		a, err := l.AuditOnce(context.Background(), net, synthHeaders{}, nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := seen[a.Peer]; !ok && a.Outcome != Inconclusive {
			seen[a.Peer] = a.Outcome
		}
	}
	return seen
}

// TestEvictedAuditCostsNoStanding: three peers advertise an old block.
// The keeper passes; the honest evicter answers "evicted": no failure, no
// penalty, standing intact, the claim forgotten and its advertisement of
// the block no longer counted; the dropper answers "not held": a failed
// audit, a penalty and lost standing.
func TestEvictedAuditCostsNoStanding(t *testing.T) {
	e := newEnv(t, Config{})
	l := e.l
	keeper, evicter, dropper := id(1), id(2), id(3)
	net := newFakeNet(l)
	net.behave[evicter], net.behave[dropper] = "evicted", "dropped"
	const n = 100
	net.advertise(n, keeper, evicter, dropper)
	k := key(peers.Receipts, n)
	all := []peer.ID{evicter, dropper, keeper}
	l.Rank(k, e.age(n), all)
	got := auditUntil(t, l, net, all...)
	if got[keeper] != Passed || got[evicter] != Evicted || got[dropper] != Missing {
		t.Fatalf("outcomes %v: want passed, evicted, missing", got)
	}
	es, _ := l.Peer(evicter)
	if es.Standing != 1 || es.AuditsFailed != 0 || es.AuditsEvicted != 1 || es.Balance != 0 || es.Penalties != 0 || es.NotHeld != 0 {
		t.Fatalf("the evicter lost standing or paid: %+v", es)
	}
	if es.Claims != 0 {
		t.Fatalf("the evicter's claim was kept: %+v", es)
	}
	ds, _ := l.Peer(dropper)
	if ds.Standing >= 0.5 || ds.AuditsFailed != 1 || ds.Penalties == 0 {
		t.Fatalf("the dropper kept its standing: %+v", ds)
	}
	// Found again in the DHT (its record lives on): not a copy, not a
	// claim, asked last.
	order := l.Rank(k, e.age(n), all)
	if order[len(order)-1] != evicter {
		t.Fatalf("rank %v: the evicter of the block is not last", order)
	}
	l.mu.Lock()
	copies, _ := l.found.get(k.Hash)
	claims := len(l.accounts[evicter].Claims)
	l.mu.Unlock()
	if copies > 1+0.5 || claims != 0 {
		t.Fatalf("%v copies, %d claims: the evicter's stale record still counts", copies, claims)
	}
	if snap := l.Snapshot(); snap.Audits["evicted"] != 1 || snap.Audits["missing"] != 1 {
		t.Fatalf("audit counts %v", snap.Audits)
	}
}

// TestEvictedAnswersDiscountAdvertisements: a peer that advertises
// without keeping gains nothing by answering "evicted" instead of "not
// held": it never passes, its advertisements of other blocks count for
// less and less, as a dropper's do, while a keeper's count in full and an
// honest peer that evicts now and then keeps most of its weight.
func TestEvictedAnswersDiscountAdvertisements(t *testing.T) {
	e := newEnv(t, Config{})
	l := e.l
	keeper, faker, dropper, honest := id(1), id(2), id(3), id(4)
	net := newFakeNet(l)
	net.behave[faker], net.behave[dropper] = "evicted", "dropped"
	for n := uint64(100); n < 120; n++ {
		net.advertise(n, keeper, faker, dropper)
		l.Rank(key(peers.Body, n), e.age(n), []peer.ID{keeper, faker, dropper})
	}
	for range 60 {
		if _, err := l.AuditOnce(context.Background(), net, synthHeaders{}, nil); err != nil {
			t.Fatal(err)
		}
	}
	// The honest peer: nine audits passed, one answered evicted.
	for range 9 {
		l.recordAudit(Audit{Peer: honest, Key: key(peers.Body, 130), Outcome: Passed})
	}
	l.recordAudit(Audit{Peer: honest, Key: key(peers.Body, 131), Outcome: Evicted})
	fs, _ := l.Peer(faker)
	ds, _ := l.Peer(dropper)
	ks, _ := l.Peer(keeper)
	hs, _ := l.Peer(honest)
	if fs.AuditsPassed != 0 || fs.AuditsEvicted < 5 || fs.Standing != 1 {
		t.Fatalf("faker %+v: want no pass, many evicted answers, standing untouched", fs)
	}
	if fs.AdWeight > 0.2 || ds.AdWeight > 0.2 {
		t.Fatalf("ad weights: faker %v, dropper %v: want both discounted below 0.2", fs.AdWeight, ds.AdWeight)
	}
	if ks.AdWeight != 1 || hs.AdWeight < 0.8 || hs.Standing != 1 {
		t.Fatalf("ad weights: keeper %v, honest evicter %v (standing %v)", ks.AdWeight, hs.AdWeight, hs.Standing)
	}
	// A fresh block they all advertise counts as about one copy: the
	// keeper's.
	k := key(peers.Body, 140)
	l.Rank(k, e.age(140), []peer.ID{faker, dropper, keeper})
	l.mu.Lock()
	copies, _ := l.found.get(k.Hash)
	l.mu.Unlock()
	if copies > 1.4 {
		t.Fatalf("%v copies: the faker's and dropper's advertisements still make the block look common", copies)
	}
}
