package report

import (
	"fmt"

	"github.com/braidrpc/braid/internal/config"
)

// History says whether history older than the providers' window (what
// EIP-4444 lets them prune) has a holder besides the providers: this
// gateway's own store keeping a range, or peers it joins. Without one, an
// old receipt or log is lost to braid's clients the day the last provider
// keeping it prunes.
type History struct {
	// Peers is peers.enabled: braid keeps what it verifies and asks peers.
	Peers bool `json:"peers"`
	// Keep is the range this gateway keeps itself (peers.keep).
	Keep string `json:"keep"`
	// Bootstrap counts the configured peers to join.
	Bootstrap int `json:"bootstrap"`
	// Holder is true when a holder besides the providers is configured.
	Holder bool `json:"holder"`
	// Note says it in words.
	Note string `json:"note"`
}

// historyOf reads the peers section of n.
func historyOf(n *config.Network) History {
	p := n.Peers
	h := History{Peers: p.Enabled, Keep: orDefault(p.Keep, config.DefaultPeerKeep), Bootstrap: len(p.Bootstrap)}
	keep, err := config.ParsePeerKeep(p.Keep)
	keeps := err == nil && keep.Mode != "none"
	switch {
	case !p.Enabled:
		h.Note = "providers only: history they prune (EIP-4444) is lost to clients (peers: off)"
	case keeps && h.Bootstrap > 0:
		h.Holder = true
		h.Note = fmt.Sprintf("this gateway keeps %s, and %d bootstrap peer(s) join it to other holders", h.Keep, h.Bootstrap)
	case keeps:
		h.Holder = true
		h.Note = fmt.Sprintf("this gateway keeps %s (no bootstrap peers: it shares with none)", h.Keep)
	case h.Bootstrap > 0:
		h.Holder = true
		h.Note = fmt.Sprintf("peers: %d bootstrap peer(s) may hold it (not checked offline); this gateway keeps only what it reads", h.Bootstrap)
	default:
		h.Note = "providers only: peers are on, but there are no bootstrap peers and keep is none"
	}
	return h
}
