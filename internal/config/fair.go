package config

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Inflight is auth.max_inflight: the calls a network runs at once for
// callers, shared fairly among them. Its zero value is "unset": with keys
// or limits on, braid then derives a cap per network (Config.FairSlots).
// InflightOff ("max_inflight: 0" or "off" in YAML) turns fair admission
// off.
type Inflight int

// InflightOff turns fair admission off. In YAML it is written 0 or "off";
// a Config built in Go sets it explicitly, since 0 there means unset.
const InflightOff Inflight = -1

// Derived fair admission (auth.max_inflight unset, keys or limits on).
const (
	// FairLatency is the latency allowance the slots of a budgeted network
	// are sized for: Σ rps × FairLatency calls at once keep every budget
	// busy while calls take up to half a second (most reads take well
	// under 200 ms), and bound what waits at a budget, first come first
	// served, to about that allowance's worth of calls: the rest waits in
	// braid's fair queue.
	FairLatency = 0.5
	// MinFairSlots is the fewest derived slots: small budgets still leave
	// room for slow calls (eth_getLogs, traces) to run side by side.
	MinFairSlots = 16
	// maxFairSlots bounds a derivation from huge budgets.
	maxFairSlots = 1 << 20
	// DefaultFairSlots are the slots of a network with an upstream without
	// an rps budget: far above what a normal deployment runs at once, so
	// only a flood reaches it, and then queues fairly in braid instead of
	// racing at the providers.
	DefaultFairSlots = 256
)

// Where fair admission's slots come from (FairSlots).
const (
	FairConfigured = "auth.max_inflight"
	FairBudgets    = "derived from the upstreams' rps budgets"
	FairDefault    = "default: an upstream has no rps budget"
	FairOff        = "off"
)

// UnmarshalYAML reads a number of calls, or 0 or "off" for none.
func (m *Inflight) UnmarshalYAML(n *yaml.Node) error {
	bad := &yaml.TypeError{Errors: []string{fmt.Sprintf(
		"line %d: max_inflight must be a number of calls of at least 1, or 0 or \"off\" to turn fair admission off (unset: derived, see docs/configuration.md)", n.Line)}}
	if n.Kind != yaml.ScalarNode {
		return bad
	}
	if strings.EqualFold(strings.TrimSpace(n.Value), "off") {
		*m = InflightOff
		return nil
	}
	v, err := strconv.Atoi(strings.TrimSpace(n.Value))
	switch {
	case err != nil || v < 0:
		return bad
	case v == 0:
		*m = InflightOff
	default:
		*m = Inflight(v)
	}
	return nil
}

// sharing reports whether callers are checked and there may be more than
// one to share the providers with (one required key alone has nobody).
func (c *Config) sharing() bool {
	a := &c.Auth
	if !c.AuthOn() {
		return false
	}
	return !(a.Required && len(a.Networks) == 0 && a.Store == KeyStoreNone && len(c.Keys) == 1)
}

// FairSlots is how many calls network runs at once for callers, shared
// fairly among them, and where that number comes from: auth.max_inflight
// when set; when unset and callers share braid, Σ rps × FairLatency (at
// least MinFairSlots) if every upstream of network has an rps budget,
// else DefaultFairSlots. 0 means no fair admission: auth off, one
// required key alone, or max_inflight off (source FairOff).
func (c *Config) FairSlots(network string) (int, string) {
	a := &c.Auth
	switch {
	case a.MaxInflight > 0:
		return int(a.MaxInflight), FairConfigured
	case !c.sharing():
		return 0, ""
	case a.MaxInflight == InflightOff:
		return 0, FairOff
	}
	n := c.Network(network)
	if n == nil || len(n.Upstreams) == 0 {
		return DefaultFairSlots, FairDefault
	}
	var sum float64
	for _, u := range n.Upstreams {
		if !(u.RPS > 0) {
			return DefaultFairSlots, FairDefault
		}
		sum += u.RPS
	}
	slots := math.Ceil(sum * FairLatency)
	return int(math.Max(MinFairSlots, math.Min(slots, maxFairSlots))), FairBudgets
}
