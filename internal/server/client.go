package server

import (
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"strings"

	"github.com/braidrpc/braid/internal/config"
)

// trustedProxies parses trusted_proxies; Validate has refused bad entries
// in a configuration file, and one built in code has them logged.
func trustedProxies(list []string, log *slog.Logger) []netip.Prefix {
	prefixes, errs := config.ParseTrustedProxies(list)
	for _, err := range errs {
		log.Warn("ignoring a trusted proxy", "err", err)
	}
	return prefixes
}

// clients tells clients apart for the per-client caps (filters,
// WebSocket connections and subscriptions).
type clients struct {
	trusted []netip.Prefix // proxies whose X-Forwarded-For is believed
}

// of returns the client r comes from: the remote address of its
// connection or, when that is a trusted proxy, the address that proxy
// (and any trusted proxy before it) says it forwards for. An IPv6 client
// is its /64 network, the block one host is usually given, so that it
// cannot take a new share of every cap with each address it picks.
// A connection without an IP address (the in-process client of library
// mode) is "": it is capped only by the global limits.
func (cl *clients) of(r *http.Request) string {
	addr, ok := remoteIP(r.RemoteAddr)
	if !ok {
		return ""
	}
	if cl.isTrusted(addr) {
		addr = cl.forwardedFor(r.Header.Values("X-Forwarded-For"), addr)
	}
	return clientKey(addr)
}

// forwardedFor walks X-Forwarded-For from its right end (the hop nearest
// braid) past every trusted proxy and returns the first address no
// trusted proxy vouches for beyond: entries to its left are whatever the
// client chose to send. A malformed entry ends the walk at the last
// trusted hop.
func (cl *clients) forwardedFor(values []string, proxy netip.Addr) netip.Addr {
	var hops []string
	for _, v := range values {
		hops = append(hops, strings.Split(v, ",")...)
	}
	addr := proxy
	for i := len(hops) - 1; i >= 0; i-- {
		next, ok := parseHop(strings.TrimSpace(hops[i]))
		if !ok {
			return addr
		}
		addr = next
		if !cl.isTrusted(addr) {
			return addr
		}
	}
	return addr
}

func (cl *clients) isTrusted(a netip.Addr) bool {
	for _, p := range cl.trusted {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// remoteIP parses the IP of a "host:port" remote address.
func remoteIP(remote string) (netip.Addr, bool) {
	host, _, err := net.SplitHostPort(remote)
	if err != nil {
		return netip.Addr{}, false
	}
	a, err := netip.ParseAddr(host)
	if err != nil {
		return netip.Addr{}, false
	}
	return a.Unmap().WithZone(""), true
}

// parseHop reads one X-Forwarded-For entry: an IP, possibly with a port
// ("1.2.3.4:5678", "[::1]:80").
func parseHop(s string) (netip.Addr, bool) {
	if a, err := netip.ParseAddr(s); err == nil {
		return a.Unmap().WithZone(""), true
	}
	if ap, err := netip.ParseAddrPort(s); err == nil {
		return ap.Addr().Unmap().WithZone(""), true
	}
	return netip.Addr{}, false
}

// clientKey is the name a client is counted under.
func clientKey(a netip.Addr) string {
	if a.Is6() {
		p, _ := a.Prefix(64)
		return p.String()
	}
	return a.String()
}
