package server

import (
	"net/http"

	"github.com/braidrpc/braid/internal/jsonrpc"
)

// serveStatusPeers is GET /status/peers: the peer ledger of a network
// (?network=NAME, default the first), as internal/ledger's Handler
// answers it (balances, flows by age bucket, audits, rarity of what this
// gateway holds). A network without a peers section gets a 404 that says
// so.
func (s *Server) serveStatusPeers(w http.ResponseWriter, r *http.Request) {
	nets := s.gw.Networks()
	name := r.URL.Query().Get("network")
	if len(nets) == 0 {
		writeError(w, http.StatusNotFound, jsonrpc.Errorf(jsonrpc.CodeInvalidParams, "this endpoint serves no network"))
		return
	}
	n := nets[0]
	if name != "" {
		if n = s.gw.Network(name); n == nil {
			writeError(w, http.StatusNotFound, jsonrpc.Errorf(jsonrpc.CodeInvalidParams, "no network %q: this endpoint serves %s", name, s.networkNames()))
			return
		}
	}
	h, err := n.PeersHandler()
	if err != nil {
		writeError(w, http.StatusNotFound, jsonrpc.Errorf(jsonrpc.CodeInvalidParams,
			"network %q has no peers section enabled (networks[].peers.enabled), so it keeps no peer ledger", n.Name))
		return
	}
	h.ServeHTTP(w, r)
}
