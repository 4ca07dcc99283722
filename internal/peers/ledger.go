package peers

import (
	"context"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"
)

// Direction says which way content went.
type Direction uint8

const (
	// In: a peer sent content to this node (a fetch).
	In Direction = iota
	// Out: this node served content to a peer.
	Out
)

// String names the direction (metric labels use it).
func (d Direction) String() string {
	if d == Out {
		return "out"
	}
	return "in"
}

// Result is how a transfer ended.
type Result uint8

const (
	// Verified: fetched content passed the caller's check (In).
	Verified Result = iota
	// Lie: fetched content failed the check, or the peer broke the
	// protocol (an oversized or malformed response) (In).
	Lie
	// NotHeld: the peer does not hold the content (In: it said so; Out:
	// this node did not).
	NotHeld
	// Refused: the peer was busy or refused by standing (In), or this node
	// refused the request (Out: over a limit, or the Ledger said no).
	Refused
	// Failed: no answer (In: dial, stream or deadline failure, a peer that
	// died mid-transfer; Out: the write failed).
	Failed
	// Served: this node sent the content (Out).
	Served
	// Evicted: the peer held the content and evicted it recently (In: it
	// said so, with the time; Out: this node did). Like NotHeld the next
	// holder is asked, but it is no advertisement the peer failed to back:
	// its provider record outlived the content.
	Evicted
)

// String names the result (metric labels use it).
func (r Result) String() string {
	switch r {
	case Verified:
		return "verified"
	case Lie:
		return "lie"
	case NotHeld:
		return "not_held"
	case Refused:
		return "refused"
	case Failed:
		return "failed"
	case Served:
		return "served"
	case Evicted:
		return "evicted"
	}
	return "unknown"
}

// Age places content in the chain, when the caller knows it: the block's
// number and its depth below the served tip (issue 16 prices old content
// higher). The zero value is unknown.
type Age struct {
	Number uint64
	Depth  uint64
	Known  bool
}

// Transfer records one exchange of content with one peer, either way.
type Transfer struct {
	Peer      peer.ID
	Direction Direction
	Key       Key
	Result    Result
	// Bytes is the payload's size: what arrived (In) or was sent (Out).
	Bytes int
	// Age is the content's place in the chain, if known.
	Age Age
	// Holders is how many holders (besides this node) the DHT found for
	// the key: the content's rarity as this fetch saw it (In only).
	Holders int
	// Latency is from sending the request to the whole payload (In), or
	// from reading the request to the end of the write (Out).
	Latency time.Duration
	At      time.Time
	// Err says why, for a Lie, NotHeld, Refused, Failed or Evicted
	// result.
	Err error
	// EvictedAt is when the peer (In) or this node (Out) evicted the
	// content, for an Evicted result.
	EvictedAt time.Time
}

// Inbound is a request a peer made, as the Ledger sees it before it is
// served.
type Inbound struct {
	Peer peer.ID
	Key  Key
	Age  Age
	At   time.Time
}

// Refusal is a Ledger's answer not to serve a request: the peer is told
// Code (CodeBusy or CodeLowStanding) and Reason.
type Refusal struct {
	Code   Code
	Reason string
}

func (r *Refusal) Error() string { return "peers: refused (" + r.Code.String() + "): " + r.Reason }

// Ledger is the accounting seam (issue 16): it is told of every transfer
// with every peer, both ways, and decides whether a request is served.
// Its methods are called concurrently and must not block, except Admit.
//
// This package records its own Tally for status either way; a Ledger adds
// standing: credit for verified deliveries, a penalty for lies, serving by
// balance.
type Ledger interface {
	// Admit decides whether to serve a peer's request, before it is read
	// from the store. It returns at once to serve now; it may block to
	// queue the request behind better-standing peers, until ctx ends (the
	// request's admission deadline: the peer is then told CodeBusy); it
	// returns a *Refusal to refuse with a status and reason (any other
	// error refuses with CodeBusy). done, if not nil, is called once
	// the response is written (or failed), to free what Admit reserved.
	Admit(ctx context.Context, in Inbound) (done func(), err error)
	// Delivered: a peer sent content that passed verification.
	Delivered(t Transfer)
	// Lied: a peer sent content that failed verification, or broke the
	// protocol. t.Err says how.
	Lied(t Transfer)
	// Missed: a peer did not deliver (not held, evicted, refused,
	// failed); no blame beyond t.Result (a peer that advertised content it
	// does not hold answers NotHeld; one that evicted it since, Evicted).
	Missed(t Transfer)
	// Served: this node answered a peer's request (Served, NotHeld,
	// Refused or Failed).
	Served(t Transfer)
}

// record sends t to the Ledger method its direction and result call for.
func record(l Ledger, t Transfer) {
	switch {
	case t.Direction == Out:
		l.Served(t)
	case t.Result == Verified:
		l.Delivered(t)
	case t.Result == Lie:
		l.Lied(t)
	default:
		l.Missed(t)
	}
}

// Ranker orders the holders of key that a Fetch found (ids, in the
// Tally's order: deliverers first, liars last) before they are asked, and
// so learns which peers advertise which content. age is the content's, as
// the fetch knows it. It must not block. Whatever it returns, every holder
// found is asked at most once: ids it leaves out are asked last, ids it
// adds are ignored.
type Ranker interface {
	Rank(key Key, age Age, ids []peer.ID) []peer.ID
}
