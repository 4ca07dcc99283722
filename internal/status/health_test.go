package status

import (
	"strings"
	"testing"
	"time"

	"github.com/braidrpc/braid/internal/block"
	"github.com/braidrpc/braid/internal/config"
	"github.com/braidrpc/braid/internal/head"
	"github.com/braidrpc/braid/internal/upstream"
)

// A network whose upstreams have not confirmed their chain id has no
// usable upstream, and says how many are in which state.
func TestHealthOf(t *testing.T) {
	u := upstream.New(config.Upstream{Name: "a", Operator: "op", URL: "http://127.0.0.1:1"}, upstream.Options{Network: "n"})
	defer u.Close()
	h := HealthOf([]*upstream.Upstream{u})
	if h.Usable != 0 || h.Upstreams != 1 || !strings.Contains(h.Problem, "1 unverified") {
		t.Fatalf("%+v", h)
	}
	if h := HealthOf(nil); h.Problem == "" {
		t.Fatal("no upstream at all is a problem")
	}
}

// Each reason a network cannot serve, in order: no usable upstream, an
// untrusted tip, no tip, a stalled tip.
func TestReadinessOf(t *testing.T) {
	tip := block.Tip{Known: true, Latest: block.Block{Number: 9}}
	stalled := head.Progress{Stalled: true, Reason: "no operator moves", TipAge: time.Minute, Highest: 12, HighestKnown: true}
	for _, c := range []struct {
		h     Health
		tip   block.Tip
		p     head.Progress
		trust string
		want  string
	}{
		{Health{Problem: "no usable upstream"}, tip, stalled, "beacon", "no usable upstream"},
		{Health{Usable: 1}, tip, stalled, "trust beacon: stale", "trust beacon: stale"},
		{Health{Usable: 1}, block.Tip{}, head.Progress{Reason: "waiting"}, "", "no served tip yet: waiting"},
		{Health{Usable: 1}, tip, stalled, "", "served tip 9 cannot advance (unchanged for 1m0s, highest head 12): no operator moves"},
		{Health{Usable: 1}, tip, head.Progress{}, "", ""},
	} {
		r := ReadinessOf(c.h, c.tip, c.p, c.trust)
		if r.Problem != c.want || r.Ready != (c.want == "") {
			t.Errorf("got %+v, want problem %q", r, c.want)
		}
	}
}

type standing map[string]int

func (s standing) Strikes(op string) int { return s[op] }
func (s standing) Quarantined() map[string]time.Time {
	return map[string]time.Time{"op-b": time.Unix(100, 0)}
}

func TestOperatorsOf(t *testing.T) {
	nc := &config.Network{Strikes: config.Strikes{Max: 3}, Upstreams: []config.Upstream{
		{Name: "a1", Operator: "op-a"}, {Name: "a2", Operator: "op-a"}, {Name: "b", Operator: "op-b"}}}
	ops := OperatorsOf(nc, standing{"op-a": 2})
	if len(ops) != 2 || ops[0].Name != "op-a" || ops[0].Upstreams != 2 || ops[0].Strikes != 2 || ops[0].MaxStrikes != 3 ||
		ops[0].QuarantinedUntil != nil || ops[1].QuarantinedUntil == nil || !ops[1].QuarantinedUntil.Equal(time.Unix(100, 0)) {
		t.Fatalf("%+v", ops)
	}
}
