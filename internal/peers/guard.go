package peers

import (
	"context"
	"sync"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/braidrpc/braid/internal/clock"
)

// Offences, as shares of the ban threshold: a peer whose score (decaying by
// 1 per Limits.BanWindow) reaches 1 is banned for Limits.BanFor.
const (
	// offenceExcess: a request over the peer's stream cap, or over its
	// rate by more than a burst (see admitInbound). An honest braid node
	// sends none (it keeps to the same limits outbound and backs off when
	// told busy), so only a flood adds up: at the default window, more
	// than 1.7 excess requests a second, sustained, or 100 in a burst.
	offenceExcess = 0.01
	// offenceMalformed: a frame that breaks the protocol (four within
	// a few seconds ban).
	offenceMalformed = 0.3
	// offenceLie: content that failed verification (two within 12 s ban,
	// three within about 50 s).
	offenceLie = 0.6
	// offenceOversized: a response over its size bound (banned at once).
	offenceOversized = 1.0
)

// guard keeps the per-peer limits: request rates (token buckets on the
// injected clock) and concurrent streams both ways, abuse scores and bans.
// It remembers at most Limits.Tracked peers (and as many bans), forgetting
// the least recently seen idle one, so a stream of new peer ids cannot
// grow it.
type guard struct {
	clock clock.Clock
	lim   Limits
	onBan func(p peer.ID, reason string)

	mu      sync.Mutex
	peers   map[peer.ID]*peerState
	bans    map[peer.ID]time.Time
	serving int
}

type peerState struct {
	inTokens, outTokens float64
	inAt, outAt         time.Time
	inStreams           int
	outSlots            chan struct{} // outbound streams, a semaphore
	score               float64
	scoreAt             time.Time
	pause               time.Duration // backoff after a busy answer
	pauseUntil          time.Time
	seen                time.Time
}

func newGuard(c clock.Clock, lim Limits, onBan func(peer.ID, string)) *guard {
	return &guard{clock: c, lim: lim, onBan: onBan, peers: map[peer.ID]*peerState{}, bans: map[peer.ID]time.Time{}}
}

// state returns p's state, creating it. g.mu must be held.
func (g *guard) state(p peer.ID, now time.Time) *peerState {
	s, ok := g.peers[p]
	if !ok {
		if len(g.peers) >= g.lim.Tracked {
			g.forgetIdle()
		}
		burst := float64(g.lim.Burst)
		s = &peerState{inTokens: burst, outTokens: burst, inAt: now, outAt: now, scoreAt: now,
			outSlots: make(chan struct{}, g.lim.StreamsPerPeer)}
		g.peers[p] = s
	}
	s.seen = now
	return s
}

// forgetIdle drops the least recently seen peer with no stream open and
// no score. g.mu must be held.
func (g *guard) forgetIdle() {
	var (
		oldest peer.ID
		at     time.Time
		found  bool
	)
	for id, s := range g.peers {
		if s.inStreams > 0 || len(s.outSlots) > 0 {
			continue
		}
		if !found || s.seen.Before(at) {
			oldest, at, found = id, s.seen, true
		}
	}
	if found {
		delete(g.peers, oldest)
	}
}

// banned reports whether p is banned now.
func (g *guard) banned(p peer.ID) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	until, ok := g.bans[p]
	if !ok {
		return false
	}
	if !g.clock.Now().Before(until) {
		delete(g.bans, p)
		return false
	}
	return true
}

// bannedCount counts the bans in force.
func (g *guard) bannedCount() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	now, n := g.clock.Now(), 0
	for _, until := range g.bans {
		if now.Before(until) {
			n++
		}
	}
	return n
}

// offend adds an offence of weight (a share of BanAfter) to p's score and
// bans p when it reaches the threshold. It reports whether p is banned.
func (g *guard) offend(p peer.ID, weight float64, reason string) bool {
	g.mu.Lock()
	now := g.clock.Now()
	s := g.state(p, now)
	decay := now.Sub(s.scoreAt).Seconds() / g.lim.BanWindow.Seconds()
	s.score = max(0, s.score-decay) + weight
	s.scoreAt = now
	ban := s.score >= 1-1e-9
	if ban {
		s.score = 0
		g.banLocked(p, now)
	}
	g.mu.Unlock()
	if ban && g.onBan != nil {
		g.onBan(p, reason)
	}
	return ban
}

// banLocked records a ban. g.mu must be held.
func (g *guard) banLocked(p peer.ID, now time.Time) {
	if _, ok := g.bans[p]; !ok && len(g.bans) >= g.lim.Tracked {
		g.dropBan(now)
	}
	g.bans[p] = now.Add(g.lim.BanFor)
}

// dropBan makes room: an expired ban, else the one ending first.
func (g *guard) dropBan(now time.Time) {
	var (
		first peer.ID
		at    time.Time
		found bool
	)
	for id, until := range g.bans {
		if !now.Before(until) {
			delete(g.bans, id)
			return
		}
		if !found || until.Before(at) {
			first, at, found = id, until, true
		}
	}
	if found {
		delete(g.bans, first)
	}
}

// refill adds the tokens earned since at to tokens.
func refill(tokens float64, at, now time.Time, rate, burst float64) float64 {
	if d := now.Sub(at); d > 0 {
		tokens += d.Seconds() * rate
	}
	return min(tokens, burst)
}

// admitInbound takes a stream slot and a request token of p, and a
// serving slot. It returns a release func, or the reason to refuse: over
// the peer's stream cap or rate, or this node's capacity (never an
// offence). A request over the rate puts the peer in debt (repaid at the
// rate); only requests beyond a whole burst of debt are offences, so a
// peer that backs off when told busy (as Fetch does) is never banned,
// whatever its own limits, while a flood is.
func (g *guard) admitInbound(p peer.ID) (release func(), reason string, offence bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	now := g.clock.Now()
	s := g.state(p, now)
	burst := float64(g.lim.Burst)
	s.inTokens = refill(s.inTokens, s.inAt, now, g.lim.Rate, burst)
	s.inAt = now
	switch {
	case s.inStreams >= g.lim.StreamsPerPeer:
		return nil, "over your concurrent stream limit", true
	case s.inTokens < 1:
		s.inTokens = max(s.inTokens-1, -burst)
		return nil, "over your request rate", s.inTokens <= -burst
	case g.serving >= g.lim.Serving:
		return nil, "at capacity", false
	}
	s.inTokens--
	s.inStreams++
	g.serving++
	var once sync.Once
	return func() {
		once.Do(func() {
			g.mu.Lock()
			s.inStreams--
			g.serving--
			g.mu.Unlock()
		})
	}, "", false
}

// Backoff after a peer said busy: doubling from minPause to maxPause
// while it keeps saying so.
const (
	minPause = 250 * time.Millisecond
	maxPause = 8 * time.Second
)

// busy pauses requests to p: it said it is over a limit. The pause
// doubles when p is still busy after one; the answers to requests already
// in flight during a pause do not lengthen it.
func (g *guard) busy(p peer.ID) {
	g.mu.Lock()
	defer g.mu.Unlock()
	now := g.clock.Now()
	s := g.state(p, now)
	if now.Before(s.pauseUntil) {
		return
	}
	s.pause = min(max(2*s.pause, minPause), maxPause)
	s.pauseUntil = now.Add(s.pause)
}

// answered ends p's backoff: it answered.
func (g *guard) answered(p peer.ID) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if s, ok := g.peers[p]; ok {
		s.pause = 0
	}
}

// admitOutbound waits for a stream slot to p, the end of p's backoff and
// a request token, keeping this node within the limits it asks of others.
// It returns the slot's release func.
func (g *guard) admitOutbound(ctx context.Context, p peer.ID) (func(), error) {
	g.mu.Lock()
	s := g.state(p, g.clock.Now())
	g.mu.Unlock()
	select {
	case s.outSlots <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	release := func() { <-s.outSlots }
	for {
		g.mu.Lock()
		now := g.clock.Now()
		s.outTokens = refill(s.outTokens, s.outAt, now, g.lim.Rate, float64(g.lim.Burst))
		s.outAt = now
		wait := s.pauseUntil.Sub(now)
		if wait <= 0 && s.outTokens >= 1 {
			s.outTokens--
			g.mu.Unlock()
			return release, nil
		}
		if wait <= 0 {
			wait = time.Duration((1 - s.outTokens) / g.lim.Rate * float64(time.Second))
		}
		g.mu.Unlock()
		select {
		case <-ctx.Done():
			release()
			return nil, ctx.Err()
		case <-g.clock.After(max(wait, time.Millisecond)):
		}
	}
}
