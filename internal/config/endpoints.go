package config

import (
	"fmt"
	"net"
	"net/url"
	"strings"
)

// SameEndpoint is an upstream whose URL an earlier upstream of the same
// network already has (compared by EndpointKey). It is one endpoint, so it
// counts once, as the earlier upstream's: one endpoint cannot be two
// independent operators.
type SameEndpoint struct {
	// First is the index (in Network.Upstreams) of the first upstream with
	// the URL, Again the index of the later one.
	First, Again int
}

// SameEndpoints returns every upstream of n whose URL an earlier upstream
// has, in config order.
func (n *Network) SameEndpoints() []SameEndpoint {
	var out []SameEndpoint
	first := make(map[string]int, len(n.Upstreams))
	for j, u := range n.Upstreams {
		key := EndpointKey(u.URL)
		if key == "" {
			continue
		}
		if i, ok := first[key]; ok {
			out = append(out, SameEndpoint{First: i, Again: j})
			continue
		}
		first[key] = j
	}
	return out
}

// DistinctOperators returns the operators of n's distinct endpoints, in
// the order they first appear: an upstream whose URL an earlier one has
// counts as that one's, so an operator all of whose URLs another operator
// already has does not count. Validation and the centralization report
// count these.
func (n *Network) DistinctOperators() []string {
	again := make(map[int]bool)
	for _, d := range n.SameEndpoints() {
		again[d.Again] = true
	}
	var ops []string
	seen := make(map[string]bool, len(n.Upstreams))
	for j, u := range n.Upstreams {
		if !again[j] && !seen[u.Operator] {
			seen[u.Operator] = true
			ops = append(ops, u.Operator)
		}
	}
	return ops
}

// Warning describes d in one sentence for n's logs and report: the two
// upstreams by name and operator, and the URL redacted (scheme and host).
func (d SameEndpoint) Warning(n *Network) string {
	a, b := n.Upstreams[d.First], n.Upstreams[d.Again]
	where := Redact(a.URL)
	if a.Operator == b.Operator {
		return fmt.Sprintf("upstreams %s and %s of operator %s have the same URL (%s): it is one endpoint and counts as one upstream",
			quote(a.Name), quote(b.Name), a.Operator, where)
	}
	return fmt.Sprintf("upstreams %s (operator %s) and %s (operator %s) have the same URL (%s): one endpoint cannot be two independent operators, so the report counts it once, as operator %s's; give each endpoint the operator that runs it (until then quorum and the served tip may count its answer twice)",
		quote(a.Name), a.Operator, quote(b.Name), b.Operator, where, a.Operator)
}

// Warnings returns what in n is allowed but probably a mistake, one
// sentence each. Like errors, they never show more of a URL than its
// scheme and host. braid logs them at start and the centralization report
// (braid check, /status/centralization) lists them.
func (n *Network) Warnings() []string {
	var out []string
	for _, d := range n.SameEndpoints() {
		out = append(out, d.Warning(n))
	}
	return out
}

// Warnings returns the Warnings of every network of c, each prefixed with
// the network it is about.
func (c *Config) Warnings() []string {
	var out []string
	for i := range c.Networks {
		for _, w := range c.Networks[i].Warnings() {
			out = append(out, networkLabel(i, c.Networks[i].Name)+": "+w)
		}
	}
	return out
}

// defaultPorts are the ports a URL may leave out.
var defaultPorts = map[string]string{"http": "80", "https": "443", "ws": "80", "wss": "443"}

// EndpointKey is raw in a form in which two spellings of one endpoint are
// equal: scheme and host in lower case, a default port left out, no
// trailing slash in the path. Path, query and user info are kept as they
// are (they tell accounts apart), so the key is as secret as the URL and
// must never be shown. It is "" for a URL that does not parse or has no
// host.
func EndpointKey(raw string) string {
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil || u.Host == "" || u.Opaque != "" {
		return ""
	}
	scheme := strings.ToLower(u.Scheme)
	host, port := strings.ToLower(u.Hostname()), u.Port()
	if port == defaultPorts[scheme] {
		port = ""
	}
	var b strings.Builder
	b.WriteString(scheme + "://")
	if u.User != nil {
		b.WriteString(u.User.String() + "@")
	}
	switch {
	case port != "":
		b.WriteString(net.JoinHostPort(host, port))
	case strings.Contains(host, ":"):
		b.WriteString("[" + host + "]")
	default:
		b.WriteString(host)
	}
	b.WriteString(strings.TrimRight(u.EscapedPath(), "/"))
	if u.RawQuery != "" {
		b.WriteString("?" + u.RawQuery)
	}
	return b.String()
}
