package peers

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/braidrpc/braid/internal/await"
	"github.com/braidrpc/braid/internal/clock"
)

func testGuard(lim Limits) (*guard, *clock.Fake, *[]peer.ID) {
	fake := clock.NewFake(time.Unix(1_700_000_000, 0))
	var banned []peer.ID
	g := newGuard(fake, lim.withDefaults(), func(p peer.ID, _ string) { banned = append(banned, p) })
	return g, fake, &banned
}

func TestGuardRateRefillsOnTheClock(t *testing.T) {
	g, fake, _ := testGuard(Limits{Rate: 10, Burst: 5})
	p := peer.ID("a")
	take := func() bool {
		release, _, _ := g.admitInbound(p)
		if release != nil {
			release()
		}
		return release != nil
	}
	for i := range 5 {
		if !take() {
			t.Fatalf("request %d of the burst refused", i)
		}
	}
	// Over the rate: busy, and a debt; offences only past a burst of it.
	for i := range 4 {
		if release, _, offence := g.admitInbound(p); release != nil || offence {
			t.Fatalf("excess request %d: admitted %v, offence %v", i, release != nil, offence)
		}
	}
	if release, _, offence := g.admitInbound(p); release != nil || !offence {
		t.Fatal("a request past a burst of debt is no offence")
	}
	fake.Advance(time.Second) // 10 tokens repay the debt of 5 and earn 5
	for i := range 5 {
		if !take() {
			t.Fatalf("request %d after the debt was repaid refused", i)
		}
	}
	if take() {
		t.Fatal("more than the tokens earned")
	}
}

func TestGuardStreamsAndCapacity(t *testing.T) {
	g, _, _ := testGuard(Limits{StreamsPerPeer: 2, Serving: 3})
	a, b := peer.ID("a"), peer.ID("b")
	r1, _, _ := g.admitInbound(a)
	r2, _, _ := g.admitInbound(a)
	if r1 == nil || r2 == nil {
		t.Fatal("within the stream cap")
	}
	if r, _, offence := g.admitInbound(a); r != nil || !offence {
		t.Fatal("third stream of a peer capped at two")
	}
	r3, _, _ := g.admitInbound(b)
	if r3 == nil {
		t.Fatal("b's first stream")
	}
	if r, reason, offence := g.admitInbound(b); r != nil || offence {
		t.Fatalf("over capacity: %q, offence %v (capacity is not the peer's fault)", reason, offence)
	}
	r1()
	r1() // releasing twice frees once
	if r, _, _ := g.admitInbound(b); r == nil {
		t.Fatal("a freed slot")
	}
	if r, _, _ := g.admitInbound(b); r != nil {
		t.Fatal("double release freed two slots")
	}
}

func TestGuardBansAndForgives(t *testing.T) {
	g, fake, banned := testGuard(Limits{BanWindow: time.Minute, BanFor: 10 * time.Minute})
	p := peer.ID("liar")
	if g.offend(p, offenceLie, "lie") {
		t.Fatal("banned after one lie")
	}
	fake.Advance(time.Minute) // the score decays fully
	if g.offend(p, offenceLie, "lie") {
		t.Fatal("banned for lies a window apart")
	}
	if !g.offend(p, offenceLie, "lie") || len(*banned) != 1 || !g.banned(p) {
		t.Fatal("two lies at once not banned")
	}
	fake.Advance(10*time.Minute - time.Second)
	if !g.banned(p) {
		t.Fatal("ban ended early")
	}
	fake.Advance(time.Second)
	if g.banned(p) || g.bannedCount() != 0 {
		t.Fatal("ban did not end")
	}
	if !g.offend(p, offenceOversized, "oversized") {
		t.Fatal("an oversized response does not ban at once")
	}
}

func TestGuardForgetsIdlePeersAndBoundsBans(t *testing.T) {
	g, _, _ := testGuard(Limits{Tracked: 10})
	busy := peer.ID("busy")
	release, _, _ := g.admitInbound(busy)
	defer release()
	for i := range 100 {
		p := peer.ID(fmt.Sprint("p", i))
		if r, _, _ := g.admitInbound(p); r != nil {
			r()
		}
		g.offend(p, offenceOversized, "x")
	}
	if len(g.peers) > 10 || len(g.bans) > 10 {
		t.Fatalf("%d peers, %d bans kept, bound 10", len(g.peers), len(g.bans))
	}
	if _, ok := g.peers[busy]; !ok {
		t.Fatal("a peer with a stream open was forgotten")
	}
}

func TestGuardOutboundWaitsForTokens(t *testing.T) {
	g, fake, _ := testGuard(Limits{Rate: 1, Burst: 1, StreamsPerPeer: 1})
	p := peer.ID("remote")
	r1, err := g.admitOutbound(context.Background(), p)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	if _, err := g.admitOutbound(ctx, p); err == nil {
		t.Fatal("a second stream over the cap of one")
	}
	cancel()
	r1()
	done := make(chan error, 1)
	go func() {
		r, err := g.admitOutbound(context.Background(), p)
		if r != nil {
			r()
		}
		done <- err
	}()
	await.Within(t, peerWait, "the fetch to wait for a token", func() bool { return fake.Waiters() > 0 })
	fake.Advance(time.Second)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

func TestGuardBacksOffABusyPeer(t *testing.T) {
	g, fake, _ := testGuard(Limits{})
	p := peer.ID("busy")
	g.busy(p)
	g.busy(p) // in flight during the pause: no longer
	if s := g.peers[p]; s.pause != minPause {
		t.Fatalf("pause %v, want %v", s.pause, minPause)
	}
	fake.Advance(minPause)
	g.busy(p) // still busy after the pause: it doubles
	done := make(chan error, 1)
	go func() {
		r, err := g.admitOutbound(context.Background(), p)
		if r != nil {
			r()
		}
		done <- err
	}()
	await.Within(t, peerWait, "the fetch to wait out the pause", func() bool { return fake.Waiters() > 0 })
	fake.Advance(2*minPause - time.Millisecond)
	select {
	case <-done:
		t.Fatal("asked a busy peer before its pause ended")
	default:
	}
	await.Within(t, peerWait, "the fetch to wait again", func() bool { return fake.Waiters() > 0 })
	fake.Advance(time.Millisecond)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	g.answered(p)
	g.busy(p)
	if s := g.peers[p]; s.pause != minPause {
		t.Fatalf("pause %v after an answer, want %v", s.pause, minPause)
	}
}
