package peers

import (
	"cmp"
	"context"
	"slices"
	"sync"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"
)

// Flow counts transfers and payload bytes one way.
type Flow struct {
	Transfers int64
	Bytes     int64
}

// PeerStats is what the Tally knows of one peer.
type PeerStats struct {
	ID peer.ID
	// In counts verified deliveries from the peer; Out the requests this
	// node served it.
	In, Out Flow
	// Lies counts failed checks and protocol violations of the peer's
	// responses; Misses its other undelivered fetches (not held, refused,
	// failed); Refused the requests of the peer this node refused or did
	// not hold.
	Lies, Misses, Refused int64
	// Latency is a moving average of the peer's verified deliveries'
	// latency (0 until one).
	Latency  time.Duration
	LastSeen time.Time
}

// Tally is the default in-memory Ledger: per-peer counts of transfers,
// bytes each way, lies and latency, for status and for ordering holders
// (peers that delivered first, liars last). Its Admit serves everyone.
// It holds at most its size of peers, forgetting the least recently seen.
type Tally struct {
	mu    sync.Mutex
	size  int
	peers map[peer.ID]*PeerStats
}

var _ Ledger = (*Tally)(nil)

// NewTally returns a Tally of at most size peers (at least 1).
func NewTally(size int) *Tally {
	return &Tally{size: max(size, 1), peers: map[peer.ID]*PeerStats{}}
}

// Admit serves every request at once.
func (*Tally) Admit(context.Context, Inbound) (func(), error) { return nil, nil }

// Delivered counts a verified delivery and its latency.
func (t *Tally) Delivered(tr Transfer) {
	t.update(tr, func(s *PeerStats) {
		s.In.Transfers++
		s.In.Bytes += int64(tr.Bytes)
		if s.Latency == 0 {
			s.Latency = tr.Latency
		} else {
			s.Latency = (s.Latency*7 + tr.Latency) / 8
		}
	})
}

// Lied counts a lie.
func (t *Tally) Lied(tr Transfer) { t.update(tr, func(s *PeerStats) { s.Lies++ }) }

// Missed counts an undelivered fetch.
func (t *Tally) Missed(tr Transfer) { t.update(tr, func(s *PeerStats) { s.Misses++ }) }

// Served counts a request this node answered.
func (t *Tally) Served(tr Transfer) {
	t.update(tr, func(s *PeerStats) {
		if tr.Result != Served {
			s.Refused++
			return
		}
		s.Out.Transfers++
		s.Out.Bytes += int64(tr.Bytes)
	})
}

func (t *Tally) update(tr Transfer, f func(*PeerStats)) {
	t.mu.Lock()
	defer t.mu.Unlock()
	s, ok := t.peers[tr.Peer]
	if !ok {
		if len(t.peers) >= t.size {
			t.forgetOldest()
		}
		s = &PeerStats{ID: tr.Peer}
		t.peers[tr.Peer] = s
	}
	if tr.At.After(s.LastSeen) {
		s.LastSeen = tr.At
	}
	f(s)
}

// forgetOldest drops the least recently seen peer. t.mu must be held.
func (t *Tally) forgetOldest() {
	var oldest *PeerStats
	for _, s := range t.peers {
		if oldest == nil || s.LastSeen.Before(oldest.LastSeen) {
			oldest = s
		}
	}
	if oldest != nil {
		delete(t.peers, oldest.ID)
	}
}

// Peer returns what the Tally knows of p.
func (t *Tally) Peer(p peer.ID) (PeerStats, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	s, ok := t.peers[p]
	if !ok {
		return PeerStats{}, false
	}
	return *s, true
}

// Snapshot lists every peer the Tally knows, by id.
func (t *Tally) Snapshot() []PeerStats {
	t.mu.Lock()
	out := make([]PeerStats, 0, len(t.peers))
	for _, s := range t.peers {
		out = append(out, *s)
	}
	t.mu.Unlock()
	slices.SortFunc(out, func(a, b PeerStats) int { return cmpID(a.ID, b.ID) })
	return out
}

func cmpID(a, b peer.ID) int { return cmp.Compare(a, b) }

// rank orders holders to ask: peers that delivered and never lied, by
// latency; then peers not known; then peers that lied, fewest lies first.
// The order among equals is kept (the DHT's).
func (t *Tally) rank(ids []peer.ID) []peer.ID {
	type ranked struct {
		id    peer.ID
		class int
		lat   time.Duration
		lies  int64
	}
	t.mu.Lock()
	rs := make([]ranked, len(ids))
	for i, id := range ids {
		r := ranked{id: id, class: 1}
		if s, ok := t.peers[id]; ok {
			switch {
			case s.Lies > 0:
				r.class, r.lies = 2, s.Lies
			case s.In.Transfers > 0:
				r.class, r.lat = 0, s.Latency
			}
		}
		rs[i] = r
	}
	t.mu.Unlock()
	slices.SortStableFunc(rs, func(a, b ranked) int {
		if a.class != b.class {
			return a.class - b.class
		}
		if a.lies != b.lies {
			return cmp.Compare(a.lies, b.lies)
		}
		return cmp.Compare(a.lat, b.lat)
	})
	out := make([]peer.ID, len(rs))
	for i, r := range rs {
		out[i] = r.id
	}
	return out
}
