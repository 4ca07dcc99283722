package ledger

import (
	"math/rand/v2"
	"slices"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/braidrpc/braid/internal/history"
	"github.com/braidrpc/braid/internal/peers"
)

// Flow counts content one way in one age bucket: transfers, payload bytes
// and their credit.
type Flow struct {
	Transfers int64   `json:"transfers"`
	Bytes     int64   `json:"bytes"`
	Credits   float64 `json:"credits"`
}

// claim is an advertisement of a peer: it was found holding key, a block
// of number, last at seen. Audits pick from them.
type claim struct {
	Kind   peers.Kind  `json:"k"`
	Hash   common.Hash `json:"h"`
	Number uint64      `json:"n"`
	Seen   time.Time   `json:"s"`
}

// account is this node's bilateral ledger with one peer: what it gave us
// (In) and took (Out), per age bucket, its penalties and audits. It is
// written to the database as JSON under its peer id.
type account struct {
	// Balance is In − Out − Penalties + Forgiven, in credits, as of At.
	Balance float64   `json:"balance"`
	At      time.Time `json:"at"`
	// In and Out are per age bucket (Config.bucket).
	In         []Flow  `json:"in"`
	Out        []Flow  `json:"out"`
	InCredits  float64 `json:"in_credits"`
	OutCredits float64 `json:"out_credits"`
	Penalties  float64 `json:"penalties"`
	Forgiven   float64 `json:"forgiven"`
	// Passed and Failed count retention audits, Lies content that failed
	// verification, Misses fetches it did not answer with content, and
	// NotHeld those of them it answered by not holding what it was found
	// advertising.
	Passed  int64     `json:"audits_passed"`
	Failed  int64     `json:"audits_failed"`
	Lies    int64     `json:"lies"`
	Misses  int64     `json:"misses"`
	NotHeld int64     `json:"not_held"`
	Seen    time.Time `json:"seen"`
	Claims  []claim   `json:"claims,omitempty"`
	// AuditsEvicted counts audits the peer answered "evicted" (no
	// failure), Evicted fetches it answered so (no miss penalty): both
	// discount its advertisements (adWeight), not its standing. Gone
	// are the advertisements it said it evicted (Seen: when it said
	// so), not counted again while its stale DHT record lives.
	AuditsEvicted int64   `json:"audits_evicted,omitempty"`
	Evicted       int64   `json:"evicted,omitempty"`
	Gone          []claim `json:"gone,omitempty"`
}

func newAccount(buckets int, now time.Time) *account {
	return &account{In: make([]Flow, buckets), Out: make([]Flow, buckets), At: now, Seen: now}
}

// settle brings the balance to now: debt is forgiven at rate credits per
// second, down to zero (Bee's refreshment). Credit does not decay.
func (a *account) settle(now time.Time, rate float64) {
	if !now.After(a.At) {
		return
	}
	if a.Balance < 0 {
		f := min(rate*now.Sub(a.At).Seconds(), -a.Balance)
		a.Balance += f
		a.Forgiven += f
	}
	a.At = now
}

// exchanged reports whether any content went either way.
func (a *account) exchanged() bool { return a.InCredits > 0 || a.OutCredits > 0 || a.Penalties > 0 }

// standing is the peer's reliability in [0, 1]: passed audits against
// failed ones, lies and advertisements it did not back. A peer with no
// record stands at 1.
func (a *account) standing(c *Config) float64 {
	if a == nil {
		return 1
	}
	p := float64(a.Passed)
	bad := c.AuditWeight*float64(a.Failed) + c.LieWeight*float64(a.Lies) + c.MissWeight*float64(a.NotHeld)
	return (1 + p) / (1 + p + bad)
}

// adWeight is what one advertisement of the peer counts for in rarity
// counts and the order holders are asked in: its standing times the
// share of its advertisements found backed, (1+passed) / (1+passed +
// auditsEvicted + MissWeight·evicted) — a Laplace estimate of the chance
// that an advertisement of it is backed by content. An honest peer that
// evicts keeps its standing, and its advertisements count for about the
// share of them still backed; a peer that advertises without keeping
// and answers "evicted" to every audit tends to 0, as one that answers
// "not held" does through its standing.
func (a *account) adWeight(c *Config) float64 {
	if a == nil {
		return 1
	}
	p := float64(a.Passed)
	return a.standing(c) * (1 + p) / (1 + p + float64(a.AuditsEvicted) + c.MissWeight*float64(a.Evicted))
}

// gone reports whether the peer said it evicted key within
// history.DefaultTombstoneTTL before now (while its DHT record of it may
// live on); an older entry is dropped.
func (a *account) gone(key peers.Key, now time.Time) bool {
	if a == nil {
		return false
	}
	for i, c := range a.Gone {
		if c.Hash == key.Hash && c.Kind == key.Kind {
			if now.Sub(c.Seen) < history.DefaultTombstoneTTL {
				return true
			}
			a.Gone = append(a.Gone[:i], a.Gone[i+1:]...)
			return false
		}
	}
	return false
}

// evicted records that the peer evicted key (told at now): its claim is
// forgotten and its advertisement of key not counted while its DHT
// record may live. Gone holds at most limit entries (the oldest
// replaced).
func (a *account) evicted(key peers.Key, number uint64, now time.Time, limit int) {
	a.dropClaim(key)
	if !auditable(key.Kind) || limit <= 0 || a.gone(key, now) {
		return
	}
	c := claim{Kind: key.Kind, Hash: key.Hash, Number: number, Seen: now}
	if len(a.Gone) < limit {
		a.Gone = append(a.Gone, c)
		return
	}
	oldest := 0
	for i := range a.Gone {
		if a.Gone[i].Seen.Before(a.Gone[oldest].Seen) {
			oldest = i
		}
	}
	a.Gone[oldest] = c
}

// newcomer reports whether the peer has given nothing yet and taken less
// than NewcomerCredit.
func (a *account) newcomer(c *Config) bool {
	return a == nil || (a.InCredits == 0 && a.OutCredits < c.NewcomerCredit && a.Balance > -c.DebtLimit)
}

// claim remembers that the peer advertises key, a block of number: a
// claim of the same key is refreshed; when full, a random one is replaced
// (so old claims are not all pushed out by a burst of new ones).
func (a *account) claim(key peers.Key, number uint64, now time.Time, limit int, rnd *rand.Rand) {
	if !auditable(key.Kind) {
		return // nothing to audit
	}
	for i := range a.Claims {
		if c := &a.Claims[i]; c.Hash == key.Hash && c.Kind == key.Kind {
			c.Seen, c.Number = now, number
			return
		}
	}
	c := claim{Kind: key.Kind, Hash: key.Hash, Number: number, Seen: now}
	if len(a.Claims) < limit {
		a.Claims = append(a.Claims, c)
		return
	}
	a.Claims[rnd.IntN(len(a.Claims))] = c
}

// auditable reports whether content of kind k can be claimed and audited:
// block content (peers.Kinds), which a node announces in the DHT and an
// audit checks against a trusted header. A transaction's location is
// neither announced nor checkable so.
func auditable(k peers.Kind) bool { return slices.Contains(peers.Kinds, k) }

// dropClaim forgets the claim of key.
func (a *account) dropClaim(key peers.Key) {
	for i, c := range a.Claims {
		if c.Hash == key.Hash && c.Kind == key.Kind {
			a.Claims = append(a.Claims[:i], a.Claims[i+1:]...)
			return
		}
	}
}

// fit resizes the per-bucket flows to buckets (a changed AgeBuckets drops
// the old split, keeping the totals).
func (a *account) fit(buckets int) {
	if len(a.In) != buckets {
		a.In = make([]Flow, buckets)
	}
	if len(a.Out) != buckets {
		a.Out = make([]Flow, buckets)
	}
}

// PeerSnapshot is one peer's account, for /status/peers.
type PeerSnapshot struct {
	ID string `json:"id"`
	// Balance is what the peer gave minus what it took, less penalties,
	// plus forgiveness, in credits: its place in the serving order.
	Balance float64 `json:"balance"`
	// Standing is its reliability in [0, 1] from audits and lies: the
	// weight of its advertisements.
	Standing float64 `json:"standing"`
	// Debtor: its debt is past DebtLimit (served from spare capacity
	// only); Newcomer: it has given nothing and taken little.
	Debtor   bool `json:"debtor,omitempty"`
	Newcomer bool `json:"newcomer,omitempty"`
	// Received and Served are per age bucket (Snapshot.AgeBuckets): what
	// the peer delivered to this node and what this node served it.
	Received     []Flow `json:"received"`
	Served       []Flow `json:"served"`
	AuditsPassed int64  `json:"audits_passed"`
	AuditsFailed int64  `json:"audits_failed"`
	// AuditsEvicted are audits the peer answered "evicted" (content it
	// held and evicted since: no failure); Evicted, fetches it answered
	// so. AdWeight is what one of its advertisements counts for: its
	// standing times the share of its advertisements found backed.
	AuditsEvicted int64     `json:"audits_evicted"`
	Evicted       int64     `json:"evicted"`
	AdWeight      float64   `json:"ad_weight"`
	Lies          int64     `json:"lies"`
	Misses        int64     `json:"misses"`
	NotHeld       int64     `json:"not_held"`
	Penalties     float64   `json:"penalties"`
	Forgiven      float64   `json:"forgiven"`
	Claims        int       `json:"claims"`
	LastSeen      time.Time `json:"last_seen"`
}

func (a *account) snapshot(id peer.ID, c *Config) PeerSnapshot {
	return PeerSnapshot{
		ID: id.String(), Balance: a.Balance, Standing: a.standing(c),
		Debtor: a.Balance < -c.DebtLimit, Newcomer: a.newcomer(c),
		Received: append([]Flow(nil), a.In...), Served: append([]Flow(nil), a.Out...),
		AuditsPassed: a.Passed, AuditsFailed: a.Failed, Lies: a.Lies, Misses: a.Misses, NotHeld: a.NotHeld,
		AuditsEvicted: a.AuditsEvicted, Evicted: a.Evicted, AdWeight: a.adWeight(c),
		Penalties: a.Penalties, Forgiven: a.Forgiven, Claims: len(a.Claims), LastSeen: a.Seen,
	}
}
