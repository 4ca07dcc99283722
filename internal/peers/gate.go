package peers

import (
	"net/netip"

	"github.com/libp2p/go-libp2p/core/connmgr"
	"github.com/libp2p/go-libp2p/core/control"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	ma "github.com/multiformats/go-multiaddr"
	manet "github.com/multiformats/go-multiaddr/net"
)

// gate is the host's connection gater: it refuses peers outside the
// allow-list (both ways, once the peer's id is authenticated), banned
// peers, and dials outside the dial ranges.
type gate struct {
	allow  map[peer.ID]bool // nil: everyone
	ranges []netip.Prefix   // nil: anywhere
	guard  *guard
	self   peer.ID
}

var _ connmgr.ConnectionGater = (*gate)(nil)

func (g *gate) allowed(p peer.ID) bool {
	if p == g.self {
		return true
	}
	if g.allow != nil && !g.allow[p] {
		return false
	}
	return !g.guard.banned(p)
}

// inRange reports whether a is in the dial ranges.
func (g *gate) inRange(a ma.Multiaddr) bool {
	if g.ranges == nil {
		return true
	}
	ip, err := manet.ToIP(a)
	if err != nil {
		return false // a DNS name or a relay: not dialled with ranges set
	}
	addr, ok := netip.AddrFromSlice(ip)
	if !ok {
		return false
	}
	addr = addr.Unmap()
	for _, r := range g.ranges {
		if r.Contains(addr) {
			return true
		}
	}
	return false
}

// filterAddrs keeps the addresses in the dial ranges (the DHT's address
// filter).
func (g *gate) filterAddrs(as []ma.Multiaddr) []ma.Multiaddr {
	out := as[:0:0]
	for _, a := range as {
		if g.inRange(a) {
			out = append(out, a)
		}
	}
	return out
}

func (g *gate) InterceptPeerDial(p peer.ID) bool { return g.allowed(p) }

func (g *gate) InterceptAddrDial(p peer.ID, a ma.Multiaddr) bool {
	return g.allowed(p) && g.inRange(a)
}

func (g *gate) InterceptAccept(network.ConnMultiaddrs) bool { return true }

func (g *gate) InterceptSecured(_ network.Direction, p peer.ID, _ network.ConnMultiaddrs) bool {
	return g.allowed(p)
}

func (g *gate) InterceptUpgraded(network.Conn) (bool, control.DisconnectReason) { return true, 0 }
