package archive

import (
	"time"

	"github.com/braidrpc/braid/internal/history"
	"github.com/braidrpc/braid/internal/peers"
)

// PeerView is one peer in /status: what the peer node's tally knows.
type PeerView struct {
	ID        string   `json:"id"`
	Addrs     []string `json:"addrs,omitempty"`
	Connected bool     `json:"connected"`
	Banned    bool     `json:"banned,omitempty"`
	// LatencyMS is the moving average of its verified deliveries, else
	// libp2p's round trip (0: none measured).
	LatencyMS float64 `json:"latency_ms"`
	// Transfers counts content both ways: verified deliveries from it and
	// requests served to it; BytesIn and BytesOut their payload bytes.
	Transfers int64     `json:"transfers"`
	BytesIn   int64     `json:"bytes_in"`
	BytesOut  int64     `json:"bytes_out"`
	Lies      int64     `json:"lies"`
	Misses    int64     `json:"misses"`
	Refused   int64     `json:"refused"`
	LastSeen  time.Time `json:"last_seen,omitzero"`
}

// HistoryStatus is a network's history store, fill and answers.
type HistoryStatus struct {
	PeerID string   `json:"peer_id"`
	Addrs  []string `json:"addrs"`
	Keep   string   `json:"keep"`
	// Node is the peer node\'s own state (connections, DHT, announced keys).
	Node  peers.Status  `json:"node"`
	Store history.Stats `json:"store"`
	// Fill is the background fill's progress (absent with keep: none).
	Fill *history.Progress `json:"fill,omitempty"`
	// Answers counts history calls by where the answer came from.
	Answers HistoryCounts `json:"answers"`
}

// Status is the peers and history parts of a network's status (nil, nil
// for a nil Archive).
func (a *Archive) Status() ([]PeerView, *HistoryStatus) {
	if a == nil {
		return nil, nil
	}
	st := a.node.Status()
	views := make([]PeerView, 0, len(st.Peers))
	for _, p := range st.Peers {
		views = append(views, PeerView{ID: p.ID, Addrs: p.Addrs, Connected: p.Connected, Banned: p.Banned,
			LatencyMS: float64(p.Latency) / float64(time.Millisecond), Transfers: p.In.Transfers + p.Out.Transfers,
			BytesIn: p.In.Bytes, BytesOut: p.Out.Bytes, Lies: p.Lies, Misses: p.Misses, Refused: p.Refused, LastSeen: p.LastSeen})
	}
	hs := &HistoryStatus{PeerID: a.node.ID().String(), Addrs: a.node.Addrs(), Keep: a.keep.String(),
		Node: st, Store: a.store.Stats(), Answers: a.counts.snapshot()}
	if p, ok := a.progress(); ok {
		hs.Fill = &p
	}
	return views, hs
}
