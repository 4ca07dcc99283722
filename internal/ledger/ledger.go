package ledger

import (
	"cmp"
	crand "crypto/rand"
	"encoding/binary"
	"io"
	"log/slog"
	"math/rand/v2"
	"slices"
	"sync"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/braidrpc/braid/internal/clock"
	"github.com/braidrpc/braid/internal/peers"
)

// Options configure New and Open.
type Options struct {
	// Config holds the economics; zero fields take DefaultConfig's.
	Config Config
	// Head is the served tip's number, which gives held content its age
	// (the Keeper, audits, repair, availability). Without it every held
	// block prices as new.
	Head func() (uint64, bool)
	// Clock decides forgiveness, audit times and claim ages; nil is the
	// real clock.
	Clock clock.Clock
	// Rand picks audit times, audited peers and claims, sampled and
	// repaired blocks; nil is seeded from crypto/rand. It is used under
	// the ledger's lock.
	Rand *rand.Rand
	// Logger receives the ledger's logs; nil discards.
	Logger *slog.Logger
	// Registerer, if set, receives the braid_ledger_* metrics until
	// Close.
	Registerer prometheus.Registerer
}

// Ledger is a gateway's accounting with every peer (see the package doc):
// a peers.Ledger (credit, penalties, serving by standing), a peers.Ranker
// (advertisements weighed by standing), the auditor and rarity sampler
// (Run), and the source of a history.Keeper (Keeper). It is safe for
// concurrent use.
type Ledger struct {
	cfg     Config
	head    func() (uint64, bool)
	clock   clock.Clock
	log     *slog.Logger
	db      *database // nil: in memory only
	metrics *metrics  // nil: no registerer

	mu       sync.Mutex
	rnd      *rand.Rand
	accounts map[peer.ID]*account
	dirty    map[peer.ID]bool // accounts changed since the last flush
	gone     map[peer.ID]bool // accounts forgotten since the last flush
	held     heldSet
	found    foundSet
	q        queue
	audits   [auditOutcomes]int64
	full     repairFloor
	meta     meta
	closed   bool
}

var (
	_ peers.Ledger = (*Ledger)(nil)
	_ peers.Ranker = (*Ledger)(nil)
)

// New returns a ledger kept in memory only (the simulation's, and tests').
func New(opts Options) (*Ledger, error) {
	cfg := opts.Config.WithDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	l := &Ledger{cfg: cfg, head: opts.Head, clock: opts.Clock, log: opts.Logger, rnd: opts.Rand,
		accounts: map[peer.ID]*account{}, dirty: map[peer.ID]bool{}, gone: map[peer.ID]bool{}}
	if l.clock == nil {
		l.clock = clock.Real{}
	}
	if l.log == nil {
		l.log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if l.rnd == nil {
		var seed [16]byte
		_, _ = crand.Read(seed[:])
		l.rnd = rand.New(rand.NewPCG(binary.LittleEndian.Uint64(seed[:8]), binary.LittleEndian.Uint64(seed[8:])))
	}
	l.held = newHeldSet()
	l.found = newFoundSet(foundSize)
	l.q = queue{}
	if opts.Registerer != nil {
		m, err := newMetrics(opts.Registerer, l)
		if err != nil {
			return nil, err
		}
		l.metrics = m
	}
	return l, nil
}

// Config is the ledger's configuration, defaults applied.
func (l *Ledger) Config() Config { return l.cfg }

// now is the clock's time.
func (l *Ledger) now() time.Time { return l.clock.Now() }

// headNow is the served tip, if known.
func (l *Ledger) headNow() (uint64, bool) {
	if l.head == nil {
		return 0, false
	}
	return l.head()
}

// acct returns p's account, creating it (and forgetting another when
// MaxPeers are kept). l.mu must be held.
func (l *Ledger) acct(p peer.ID, now time.Time) *account {
	if a := l.accounts[p]; a != nil {
		a.settle(now, l.cfg.ForgiveRate)
		return a
	}
	if len(l.accounts) >= l.cfg.MaxPeers {
		l.forgetOne()
	}
	a := newAccount(len(l.cfg.AgeBuckets)+2, now)
	l.accounts[p] = a
	delete(l.gone, p)
	return a
}

// forgetOne makes room for an account: it drops the accounts least worth
// keeping — ones that never exchanged content (only claims) before ones
// that did, then the least recently seen — a sixteenth of MaxPeers at
// once (at least one), so that a stream of new peers costs a sort per
// batch, not a scan per peer. l.mu must be held.
func (l *Ledger) forgetOne() {
	type rank struct {
		id        peer.ID
		exchanged bool
		seen      time.Time
	}
	rs := make([]rank, 0, len(l.accounts))
	for id, a := range l.accounts {
		rs = append(rs, rank{id, a.exchanged(), a.Seen})
	}
	slices.SortFunc(rs, func(a, b rank) int {
		if a.exchanged != b.exchanged {
			if a.exchanged {
				return 1
			}
			return -1
		}
		return cmp.Or(a.seen.Compare(b.seen), cmp.Compare(a.id, b.id))
	})
	for _, r := range rs[:min(len(rs), max(1, l.cfg.MaxPeers/16))] {
		delete(l.accounts, r.id)
		delete(l.dirty, r.id)
		l.gone[r.id] = true
	}
}

// touch marks p's account as changed and seen now. l.mu must be held.
func (l *Ledger) touch(p peer.ID, a *account, now time.Time) {
	a.Seen = now
	l.dirty[p] = true
}

// Delivered credits a peer for content that passed verification: bytes ×
// age factor × rarity factor, the rarity from the holders the fetch found
// (weighed by their standing) or, for content this node holds, the last
// count. It remembers the content as the peer's claim to audit later.
func (l *Ledger) Delivered(t peers.Transfer) {
	now := l.now()
	l.mu.Lock()
	a := l.acct(t.Peer, now)
	credit := price(&l.cfg, t.Bytes, t.Age, l.copiesIn(t))
	b := bucket(&l.cfg, t.Age)
	a.In[b].Transfers++
	a.In[b].Bytes += int64(max(t.Bytes, 0))
	a.In[b].Credits += credit
	a.InCredits += credit
	a.Balance += credit
	a.Gone = slices.DeleteFunc(a.Gone, func(c claim) bool { return c.Kind == t.Key.Kind && c.Hash == t.Key.Hash })
	if l.old(t.Age) {
		a.claim(t.Key, t.Age.Number, now, l.cfg.ClaimsPerPeer, l.rnd)
	}
	l.touch(t.Peer, a, now)
	l.mu.Unlock()
	l.metrics.flow(peers.In, b, t.Bytes, credit)
}

// Lied costs the peer LiePenalty and standing, and forgets its claim.
func (l *Ledger) Lied(t peers.Transfer) {
	now := l.now()
	l.mu.Lock()
	a := l.acct(t.Peer, now)
	a.Lies++
	a.Balance -= l.cfg.LiePenalty
	a.Penalties += l.cfg.LiePenalty
	a.dropClaim(t.Key)
	l.touch(t.Peer, a, now)
	l.mu.Unlock()
	l.metrics.penalty("lie")
}

// Missed costs a peer that did not hold what it advertised (NotHeld), or
// did not answer (Failed), MissPenalty; a refusal (busy, or this node's
// own low standing with it) costs nothing. Not holding what it was
// found advertising also weighs on its standing (MissWeight, lighter than
// a failed audit: the fetch may have met a DHT record it withdrew); the
// claim stays for an audit to judge. Content it held and evicted
// (Evicted) costs neither: it is counted, discounts its advertisements
// (adWeight) and the claim is forgotten.
func (l *Ledger) Missed(t peers.Transfer) {
	if t.Result == peers.Evicted {
		now := l.now()
		l.mu.Lock()
		a := l.acct(t.Peer, now)
		a.Misses++
		a.Evicted++
		a.evicted(t.Key, t.Age.Number, now, l.cfg.ClaimsPerPeer)
		l.touch(t.Peer, a, now)
		l.mu.Unlock()
		return
	}
	if t.Result != peers.NotHeld && t.Result != peers.Failed {
		return
	}
	now := l.now()
	l.mu.Lock()
	a := l.acct(t.Peer, now)
	a.Misses++
	if t.Result == peers.NotHeld {
		a.NotHeld++ // an advertisement it did not back: weighs on its standing
	}
	a.Balance -= l.cfg.MissPenalty
	a.Penalties += l.cfg.MissPenalty
	l.touch(t.Peer, a, now)
	l.mu.Unlock()
	l.metrics.penalty("miss")
}

// Served charges a peer for content this node sent it, priced by this
// node's own count of the content's holders.
func (l *Ledger) Served(t peers.Transfer) {
	if t.Result != peers.Served {
		return
	}
	now := l.now()
	l.mu.Lock()
	a := l.acct(t.Peer, now)
	credit := price(&l.cfg, t.Bytes, t.Age, l.copiesOut(t.Key.Hash))
	b := bucket(&l.cfg, t.Age)
	a.Out[b].Transfers++
	a.Out[b].Bytes += int64(max(t.Bytes, 0))
	a.Out[b].Credits += credit
	a.OutCredits += credit
	a.Balance -= credit
	l.touch(t.Peer, a, now)
	l.mu.Unlock()
	l.metrics.flow(peers.Out, b, t.Bytes, credit)
}

// old reports whether content of age a is old: at least AgeDepth deep.
func (l *Ledger) old(a peers.Age) bool { return a.Known && a.Depth >= l.cfg.AgeDepth }

// Rank orders the holders of key a fetch found by the weight of their
// advertisements (standing times the share found backed: peers whose
// audits failed, that lied or keep answering "evicted" go last, and one
// that said it evicted key itself last of all; equals keep the order
// given), remembers old content as each one's claim, and notes the
// content's rarity: the holders found, each weighed so.
func (l *Ledger) Rank(key peers.Key, age peers.Age, ids []peer.ID) []peer.ID {
	now := l.now()
	st := make(map[peer.ID]float64, len(ids))
	l.mu.Lock()
	copies := l.observe(key, age, ids, now, st)
	l.found.put(key.Hash, copies)
	l.held.counted(key.Hash, copies, len(ids), now)
	l.mu.Unlock()
	out := slices.Clone(ids)
	slices.SortStableFunc(out, func(a, b peer.ID) int { return cmp.Compare(st[b], st[a]) })
	return out
}

// observe records that ids hold key (claims, for old content) and returns
// their weight: the sum of their advertisements' weights (adWeight; 0 for
// a peer that said it evicted key, whose record outlived the content).
// st, if not nil, receives each one's weight. l.mu must be held.
func (l *Ledger) observe(key peers.Key, age peers.Age, ids []peer.ID, now time.Time, st map[peer.ID]float64) float64 {
	old := l.old(age)
	var copies float64
	for _, id := range ids {
		a := l.accounts[id]
		if a.gone(key, now) {
			if st != nil {
				st[id] = 0
			}
			continue
		}
		if old {
			if a == nil {
				a = l.acct(id, now)
			}
			a.claim(key, age.Number, now, l.cfg.ClaimsPerPeer, l.rnd)
			l.dirty[id] = true
		}
		s := a.adWeight(&l.cfg)
		if st != nil {
			st[id] = s
		}
		copies += s
	}
	return copies
}

// Standing is p's reliability in [0, 1] (1 for a peer with no record).
func (l *Ledger) Standing(p peer.ID) float64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.accounts[p].standing(&l.cfg)
}

// Balance is p's balance now, in credits (0 for a peer with no account).
func (l *Ledger) Balance(p peer.ID) float64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	a := l.accounts[p]
	if a == nil {
		return 0
	}
	a.settle(l.now(), l.cfg.ForgiveRate)
	return a.Balance
}

// Peer returns p's account as a snapshot.
func (l *Ledger) Peer(p peer.ID) (PeerSnapshot, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	a := l.accounts[p]
	if a == nil {
		return PeerSnapshot{}, false
	}
	a.settle(l.now(), l.cfg.ForgiveRate)
	return a.snapshot(p, &l.cfg), true
}
