package ledger

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/braidrpc/braid/internal/peers"
)

// TestAuditCatchesDroppedContent: peers found advertising an old block
// (through a fetch's Rank) are audited at random; the one that dropped
// it fails, loses standing and its claim, and its advertisements are
// discounted (ranked last, weighing less in rarity); the one that keeps
// it passes, is credited for the delivery and gains standing.
func TestAuditCatchesDroppedContent(t *testing.T) {
	e := newEnv(t, Config{})
	l := e.l
	keeper, dropper := id(1), id(2)
	net := newFakeNet(l)
	net.behave[dropper] = "dropped"
	const n = 100
	net.advertise(n, keeper, dropper)
	k := key(peers.Receipts, n)
	l.Rank(k, e.age(n), []peer.ID{dropper, keeper})
	outcomes := map[peer.ID]Outcome{}
	for i := 0; i < 50 && len(outcomes) < 2; i++ {
		a, err := l.AuditOnce(context.Background(), net, synthHeaders{}, nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := outcomes[a.Peer]; !ok {
			outcomes[a.Peer] = a.Outcome
		}
	}
	if outcomes[keeper] != Passed || outcomes[dropper] != Missing {
		t.Fatalf("outcomes %v", outcomes)
	}
	ks, _ := l.Peer(keeper)
	ds, _ := l.Peer(dropper)
	if ks.AuditsPassed == 0 || ks.Balance <= 0 || ks.Standing != 1 {
		t.Fatalf("keeper %+v", ks)
	}
	if ds.AuditsFailed != 1 || ds.Balance >= 0 || ds.Standing >= 0.5 || ds.Claims != 0 {
		t.Fatalf("dropper %+v", ds)
	}
	if got := l.Rank(k, e.age(n), []peer.ID{dropper, keeper}); got[0] != keeper {
		t.Fatalf("rank %v: the dropper is not last", got)
	}
	l.mu.Lock()
	copies, _ := l.found.get(k.Hash)
	l.mu.Unlock()
	if copies > 1.5 {
		t.Fatalf("the dropper's advertisement still counts: %v copies", copies)
	}
	snap := l.Snapshot()
	if snap.Audits["passed"] == 0 || snap.Audits["missing"] != 1 {
		t.Fatalf("audit counts %v", snap.Audits)
	}
}

// TestAuditOutcomes: a liar's audit is a lie (penalty, standing), an
// unreachable peer fails, a busy one is inconclusive (no blame); the body
// of audited receipts comes from the audited peer when this node does not
// hold it; claims of new content or seen too long ago are not audited.
func TestAuditOutcomes(t *testing.T) {
	e := newEnv(t, Config{ClaimTTL: time.Hour})
	l := e.l
	net := newFakeNet(l)
	audit := func(p peer.ID, behave string) Audit {
		t.Helper()
		net.behave[p] = behave
		net.advertise(200, p)
		l.Rank(key(peers.Receipts, 200), e.age(200), []peer.ID{p})
		a, err := l.AuditOnce(context.Background(), net, synthHeaders{}, nil)
		if err != nil || a.Peer != p {
			t.Fatalf("audit of %s: %+v %v", p, a, err)
		}
		return a
	}
	if a := audit(id(1), "liar"); a.Outcome != Lied {
		t.Fatalf("liar: %+v", a)
	}
	if s, _ := l.Peer(id(1)); s.Lies != 1 || s.AuditsFailed != 1 || s.Standing > 0.2 {
		t.Fatalf("liar's record %+v", s)
	}
	if a := audit(id(2), "offline"); a.Outcome != Unreachable {
		t.Fatalf("offline: %+v", a)
	}
	net.asked = nil
	if a := audit(id(4), "honest"); a.Outcome != Passed {
		t.Fatalf("honest: %+v", a)
	}
	if len(net.asked) != 2 || net.asked[0].Kind != peers.Body || net.asked[1].Kind != peers.Receipts {
		t.Fatalf("asked %v: want the body, then the receipts", net.asked)
	}
	l.forgetClaim(id(4), key(peers.Receipts, 200))
	l.forgetClaim(id(4), key(peers.Body, 200)) // the delivery of its body is a claim too
	if a := audit(id(3), "busy"); a.Outcome != Inconclusive {
		t.Fatalf("busy: %+v", a)
	}
	if s, _ := l.Peer(id(3)); s.AuditsFailed != 0 || s.Standing != 1 {
		t.Fatalf("busy peer blamed: %+v", s)
	}

	e2 := newEnv(t, Config{ClaimTTL: time.Hour})
	net2 := newFakeNet(e2.l)
	e2.l.Rank(key(peers.Body, testHead-3), e2.age(testHead-3), []peer.ID{id(1)}) // new: no claim
	if _, err := e2.l.AuditOnce(context.Background(), net2, synthHeaders{}, nil); !errors.Is(err, ErrNothingToAudit) {
		t.Fatalf("new content audited: %v", err)
	}
	e2.l.Rank(key(peers.Body, 300), e2.age(300), []peer.ID{id(1)})
	e2.clk.Advance(2 * time.Hour)
	if _, err := e2.l.AuditOnce(context.Background(), net2, synthHeaders{}, nil); !errors.Is(err, ErrNothingToAudit) {
		t.Fatalf("a stale claim audited: %v", err)
	}
}

// TestAuditNonCanonicalClaim: a claim whose hash is not the canonical one
// of its number is dropped without blame.
func TestAuditNonCanonicalClaim(t *testing.T) {
	e := newEnv(t, Config{})
	l := e.l
	net := newFakeNet(l)
	wrong := peers.Key{Kind: peers.Body, Hash: synthHeader(999_999).Hash()}
	l.Rank(wrong, e.age(400), []peer.ID{id(1)})
	a, err := l.AuditOnce(context.Background(), net, synthHeaders{}, nil)
	if err != nil || a.Outcome != Inconclusive || a.Err == nil {
		t.Fatalf("audit %+v %v", a, err)
	}
	if s, _ := l.Peer(id(1)); s.Claims != 0 || s.AuditsFailed != 0 {
		t.Fatalf("record %+v", s)
	}
}

// TestLocationsAreNotClaims: a transaction's location (peers.Location) is
// credited like any delivery but never becomes a claim to audit — it is
// not announced in the DHT and no trusted header checks it, so an audit
// of it would fail an honest peer — whether it comes as a delivery or in
// a Rank; a persisted claim of one is refused.
func TestLocationsAreNotClaims(t *testing.T) {
	e := newEnv(t, Config{})
	l, p := e.l, id(1)
	loc := peers.Key{Kind: peers.Location, Hash: common.Hash{7}}
	l.Rank(loc, e.age(100), []peer.ID{p, id(2)})
	l.Delivered(peers.Transfer{Peer: p, Direction: peers.In, Key: loc, Result: peers.Verified,
		Bytes: peers.LocationSize, Age: e.age(100), At: e.clk.Now()})
	s, _ := l.Peer(p)
	if s.Claims != 0 || s.Balance <= 0 {
		t.Fatalf("after a location: %d claims, balance %v", s.Claims, s.Balance)
	}
	if _, err := l.AuditOnce(context.Background(), newFakeNet(l), synthHeaders{}, nil); !errors.Is(err, ErrNothingToAudit) {
		t.Fatalf("audit: %v, want nothing to audit", err)
	}
	c := l.Config()
	rec, _ := json.Marshal(account{Claims: []claim{{Kind: peers.Location, Hash: common.Hash{7}, Number: 100, Seen: epoch}}})
	if _, _, err := decodeAccount([]byte(p), rec, &c); !errors.Is(err, errRecord) {
		t.Fatalf("a persisted location claim decoded: %v", err)
	}
}
