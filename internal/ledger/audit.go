package ledger

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/braidrpc/braid/internal/history"
	"github.com/braidrpc/braid/internal/peers"
	"github.com/braidrpc/braid/internal/verify"
)

// Network is what the ledger asks of the peer layer: *peers.Node. Its
// transfers reach the ledger as a peers.Ledger's, so an audit's delivery
// is credited (and its miss or lie charged) as any other.
type Network interface {
	FindHolders(ctx context.Context, key peers.Key) ([]peer.AddrInfo, error)
	FetchFrom(ctx context.Context, id peer.ID, key peers.Key, age peers.Age, check peers.Check) ([]byte, peers.Transfer, error)
}

// Bodies are the block bodies this node holds (*history.Store): an audit
// of receipts checks them against the block's verified transactions.
type Bodies interface {
	Body(hash common.Hash) (*types.Body, bool)
}

// Outcome is how a retention audit ended.
type Outcome uint8

const (
	// Inconclusive: nothing to blame the peer for (it was busy, or this
	// node could not get the trusted header, or the claim was of a block
	// that is not canonical).
	Inconclusive Outcome = iota
	// Passed: the peer delivered the content and it passed verification.
	Passed
	// Missing: the peer said it does not hold what it advertised.
	Missing
	// Lied: the peer sent content that failed verification.
	Lied
	// Unreachable: the peer did not answer within the audit's deadline.
	Unreachable
	// Evicted: the peer said it held the content and evicted it since
	// (its DHT record outlives the content by up to 48 h). No failure:
	// its standing stays; the claim is forgotten, and the answer counted
	// against the weight of its advertisements (adWeight).
	Evicted
	auditOutcomes
)

// String names the outcome (metric labels use it).
func (o Outcome) String() string {
	if o >= auditOutcomes {
		return "unknown"
	}
	return [...]string{"inconclusive", "passed", "missing", "lied", "unreachable", "evicted"}[o]
}

// failed reports whether the outcome counts against the peer's standing.
func (o Outcome) failed() bool { return o == Missing || o == Lied || o == Unreachable }

// Audit is one retention audit: which peer, which advertised content, how
// it ended and why.
type Audit struct {
	Peer    peer.ID
	Key     peers.Key
	Number  uint64
	Outcome Outcome
	Err     error
}

// ErrNothingToAudit: no peer has an advertisement of old content seen
// within ClaimTTL.
var ErrNothingToAudit = errors.New("ledger: no advertisement of old content to audit")

// AuditOnce audits one peer: it picks, at random, a peer with a claim of
// old content (advertised in the DHT or delivered, seen within ClaimTTL)
// and one such claim, and asks the peer for it with AuditTimeout, checking
// it against the trusted header from headers (receipts against the body
// this node holds, else the body asked from the same peer first: braid
// stores receipts only with their body). A pass adds to the peer's
// standing; missing content, a lie or no answer lowers it, which
// discounts all its advertisements (Rank, rarity counts). Content the
// peer says it evicted since (within its tombstone window) is no
// failure: its standing stays, but the answer is counted and discounts
// its advertisements by the share found not backed (adWeight).
func (l *Ledger) AuditOnce(ctx context.Context, net Network, headers history.HeaderSource, bodies Bodies) (Audit, error) {
	p, c, ok := l.pickClaim()
	if !ok {
		return Audit{}, ErrNothingToAudit
	}
	key := peers.Key{Kind: c.Kind, Hash: c.Hash}
	a := Audit{Peer: p, Key: key, Number: c.Number}
	actx, cancel := context.WithTimeout(ctx, l.cfg.AuditTimeout)
	defer cancel()
	a.Outcome, a.Err = l.audit(actx, net, headers, bodies, p, c)
	if ctx.Err() != nil && a.Outcome != Passed {
		a.Outcome = Inconclusive // our own shutdown, not the peer's fault
	}
	l.recordAudit(a)
	return a, nil
}

// audit asks p for the claimed content and judges the answer.
func (l *Ledger) audit(ctx context.Context, net Network, headers history.HeaderSource, bodies Bodies, p peer.ID, c claim) (Outcome, error) {
	h, err := headers.Header(ctx, c.Number)
	if err != nil {
		return Inconclusive, fmt.Errorf("trusted header of block %d: %w", c.Number, err)
	}
	if h.Hash() != c.Hash {
		l.forgetClaim(p, peers.Key{Kind: c.Kind, Hash: c.Hash})
		return Inconclusive, fmt.Errorf("block %d's canonical hash is %s, not the advertised %s", c.Number, h.Hash(), c.Hash)
	}
	head, known := l.headNow()
	age := depthAge(c.Number, head, known)
	var check peers.Check
	switch c.Kind {
	case peers.Header:
		check = peers.CheckHeader(c.Hash)
	case peers.Body:
		check = peers.CheckBody(h)
	case peers.Receipts:
		txs, out, err := l.auditTxs(ctx, net, bodies, p, h, age)
		if err != nil {
			return out, err
		}
		check = peers.CheckReceipts(h, txs)
	default: // never claimed (auditable); a record from elsewhere
		l.forgetClaim(p, peers.Key{Kind: c.Kind, Hash: c.Hash})
		return Inconclusive, fmt.Errorf("ledger: a claim of %s content cannot be audited", c.Kind)
	}
	_, t, err := net.FetchFrom(ctx, p, peers.Key{Kind: c.Kind, Hash: c.Hash}, age, check)
	return outcomeOf(t, err), err
}

// auditTxs are the verified transactions of h: from this node's store, or
// from p's body of the block.
func (l *Ledger) auditTxs(ctx context.Context, net Network, bodies Bodies, p peer.ID, h *types.Header, age peers.Age) ([]*types.Transaction, Outcome, error) {
	if bodies != nil {
		if b, ok := bodies.Body(h.Hash()); ok {
			return b.Transactions, Passed, nil
		}
	}
	data, t, err := net.FetchFrom(ctx, p, peers.Key{Kind: peers.Body, Hash: h.Hash()}, age, peers.CheckBody(h))
	if err != nil {
		return nil, outcomeOf(t, err), fmt.Errorf("the body of advertised receipts: %w", err)
	}
	b, err := verify.DecodeBody(h, data)
	if err != nil { // checked already: cannot happen
		return nil, Inconclusive, err
	}
	return b.Transactions, Passed, nil
}

// outcomeOf judges a FetchFrom's result.
func outcomeOf(t peers.Transfer, err error) Outcome {
	switch {
	case err == nil:
		return Passed
	case t.Peer == "":
		return Inconclusive // never asked (shutdown)
	}
	switch t.Result {
	case peers.Lie:
		return Lied
	case peers.NotHeld:
		return Missing
	case peers.Evicted:
		return Evicted
	case peers.Failed:
		return Unreachable
	}
	return Inconclusive // refused (busy), or this node's own check failed
}

// pickClaim picks a peer with claims of old content seen within ClaimTTL,
// at random, and one such claim.
func (l *Ledger) pickClaim() (peer.ID, claim, bool) {
	head, known := l.headNow()
	if !known || head < l.cfg.AgeDepth {
		return "", claim{}, false
	}
	last := head - l.cfg.AgeDepth
	l.mu.Lock()
	defer l.mu.Unlock()
	since := l.now().Add(-l.cfg.ClaimTTL)
	eligible := func(c claim) bool { return c.Number <= last && !c.Seen.Before(since) }
	var cands []peer.ID
	for id, a := range l.accounts {
		if slices.ContainsFunc(a.Claims, eligible) {
			cands = append(cands, id)
		}
	}
	if len(cands) == 0 {
		return "", claim{}, false
	}
	slices.Sort(cands) // map order is random; the injected Rand decides
	p := cands[l.rnd.IntN(len(cands))]
	var cs []claim
	for _, c := range l.accounts[p].Claims {
		if eligible(c) {
			cs = append(cs, c)
		}
	}
	return p, cs[l.rnd.IntN(len(cs))], true
}

// forgetClaim drops p's claim of key.
func (l *Ledger) forgetClaim(p peer.ID, key peers.Key) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if a := l.accounts[p]; a != nil {
		a.dropClaim(key)
		l.dirty[p] = true
	}
}

// recordAudit adds an audit's outcome to the peer's record.
func (l *Ledger) recordAudit(au Audit) {
	now := l.now()
	l.mu.Lock()
	l.audits[au.Outcome]++
	if au.Outcome != Inconclusive {
		a := l.acct(au.Peer, now)
		switch au.Outcome {
		case Passed:
			a.Passed++
		case Evicted: // FetchFrom's transfer (Missed) forgot the claim
			a.AuditsEvicted++
			a.evicted(au.Key, au.Number, now, l.cfg.ClaimsPerPeer)
		default:
			a.Failed++
			a.dropClaim(au.Key)
		}
		l.dirty[au.Peer] = true
	}
	l.mu.Unlock()
	l.metrics.audit(au.Outcome)
}

// auditDelay is a random wait with mean AuditInterval (exponential, so
// audit times cannot be predicted), at most ten times the mean.
func (l *Ledger) auditDelay() time.Duration {
	l.mu.Lock()
	u := l.rnd.Float64()
	l.mu.Unlock()
	mean := float64(l.cfg.AuditInterval)
	return time.Duration(min(-math.Log1p(-u)*mean, 10*mean)) + time.Millisecond
}
