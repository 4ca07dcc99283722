package peers

import (
	"time"

	"github.com/libp2p/go-libp2p/core/peer"
)

// Status is a node's state for /status: no keys, no secrets.
type Status struct {
	ID    string   `json:"id"`
	Addrs []string `json:"addrs"`
	// Connected counts the peers connected now; RoutingTable those in the
	// DHT's routing table.
	Connected    int `json:"connected"`
	RoutingTable int `json:"routing_table"`
	// Provided counts the keys announced, Pending those waiting to be
	// (queued, or failed and to be retried), Refused those not tracked
	// over ProvideOptions.MaxKeys; Announcements the announcements made
	// (first ones and renewals).
	Provided      int   `json:"provided_keys"`
	Pending       int   `json:"pending_keys"`
	Refused       int64 `json:"refused_keys"`
	Announcements int64 `json:"announcements"`
	// Banned counts the peers banned now.
	Banned int `json:"banned"`
	// DHTRecordBytes is the size of the provider records held for others;
	// DHTRecordsRefused counts those refused when it was full.
	DHTRecordBytes    int64        `json:"dht_record_bytes"`
	DHTRecordsRefused int64        `json:"dht_records_refused"`
	Peers             []PeerStatus `json:"peers"`
}

// PeerStatus is one peer in Status: every peer connected or in the
// tally.
type PeerStatus struct {
	ID        string   `json:"id"`
	Addrs     []string `json:"addrs,omitempty"`
	Connected bool     `json:"connected"`
	Banned    bool     `json:"banned,omitempty"`
	// Latency is the moving average of its verified deliveries' latency,
	// else libp2p's measured round trip, if any.
	Latency  time.Duration `json:"latency_ns"`
	In       Flow          `json:"in"`
	Out      Flow          `json:"out"`
	Lies     int64         `json:"lies"`
	Misses   int64         `json:"misses"`
	Refused  int64         `json:"refused"`
	LastSeen time.Time     `json:"last_seen,omitzero"`
}

// Status returns the node's state and every known peer's, by id.
func (n *Node) Status() Status {
	announced, pending, refused, made := n.prov.counts()
	recBytes, recRefused := n.records.stats()
	st := Status{
		ID: n.host.ID().String(), Addrs: n.Addrs(),
		RoutingTable: n.dht.RoutingTable().Size(),
		Provided:     announced, Pending: pending, Refused: refused, Announcements: made,
		Banned:         n.guard.bannedCount(),
		DHTRecordBytes: recBytes, DHTRecordsRefused: recRefused,
	}
	connected := map[peer.ID]bool{}
	for _, p := range n.host.Network().Peers() {
		connected[p] = true
	}
	st.Connected = len(connected)
	seen := map[peer.ID]bool{}
	for _, s := range n.tally.Snapshot() {
		seen[s.ID] = true
		st.Peers = append(st.Peers, n.peerStatus(s, connected[s.ID]))
	}
	for p := range connected {
		if !seen[p] {
			st.Peers = append(st.Peers, n.peerStatus(PeerStats{ID: p}, true))
		}
	}
	sortPeers(st.Peers)
	return st
}

func (n *Node) peerStatus(s PeerStats, connected bool) PeerStatus {
	ps := PeerStatus{ID: s.ID.String(), Connected: connected, Banned: n.guard.banned(s.ID),
		Latency: s.Latency, In: s.In, Out: s.Out, Lies: s.Lies, Misses: s.Misses, Refused: s.Refused,
		LastSeen: s.LastSeen}
	if ps.Latency == 0 {
		ps.Latency = n.host.Peerstore().LatencyEWMA(s.ID)
	}
	for _, a := range n.host.Peerstore().Addrs(s.ID) {
		ps.Addrs = append(ps.Addrs, a.String())
	}
	return ps
}

func sortPeers(ps []PeerStatus) {
	for i := 1; i < len(ps); i++ {
		for j := i; j > 0 && ps[j].ID < ps[j-1].ID; j-- {
			ps[j], ps[j-1] = ps[j-1], ps[j]
		}
	}
}
