package ledger

import (
	"encoding/json"
	"net/http"
	"strconv"

	"github.com/libp2p/go-libp2p/core/peer"
)

// DefaultStatusPeers is how many accounts /status/peers lists unless
// asked for fewer or more (?limit=N, at most MaxPeers).
const DefaultStatusPeers = 100

// Handler serves the ledger's Snapshot as JSON, for the server to mount
// at /status/peers: GET (or HEAD) only. ?limit=N lists the N best
// balances (default DefaultStatusPeers, at most MaxPeers; peers_total
// says how many there are); ?peer=ID lists that peer alone (404 when it
// has no account). It shows no keys and no secrets: peer ids are public.
func (l *Ledger) Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed: GET /status/peers", http.StatusMethodNotAllowed)
			return
		}
		q := r.URL.Query()
		limit := DefaultStatusPeers
		if s := q.Get("limit"); s != "" {
			n, err := strconv.Atoi(s)
			if err != nil || n < 0 {
				http.Error(w, "limit must be a number of peers, 0 or more", http.StatusBadRequest)
				return
			}
			limit = min(n, l.cfg.MaxPeers)
		}
		snap := l.Snapshot()
		out := statusPage{Snapshot: snap, PeersTotal: len(snap.Peers)}
		if s := q.Get("peer"); s != "" {
			id, err := peer.Decode(s)
			if err != nil {
				http.Error(w, "peer must be a libp2p peer id", http.StatusBadRequest)
				return
			}
			p, ok := l.Peer(id)
			if !ok {
				http.Error(w, "no account with that peer", http.StatusNotFound)
				return
			}
			out.Peers = []PeerSnapshot{p}
		} else if len(out.Peers) > limit {
			out.Peers = out.Peers[:limit]
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		if r.Method == http.MethodHead {
			return
		}
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		_ = enc.Encode(out)
	})
}

// statusPage is what /status/peers answers: the snapshot and how many
// accounts there are in all.
type statusPage struct {
	Snapshot
	PeersTotal int `json:"peers_total"`
}
