package config

import (
	"strings"
	"testing"
)

// fairConfig is a network "n" with upstreams of the given rps budgets (0:
// none) behind auth, the rest of whose section is auth (YAML lines).
func fairConfig(t *testing.T, auth string, rps ...string) (*Config, error) {
	t.Helper()
	src := "auth:\n  required: true\n" + auth + "keys:\n- {name: a, key: bk_aaaaaaaaaaaaaaaaaaaaaaaa}\n- {name: b, key: bk_bbbbbbbbbbbbbbbbbbbbbbbb}\n" +
		"networks:\n- name: n\n  chain_id: 1\n  upstreams:\n"
	for i, r := range rps {
		src += "  - {name: u" + string(rune('a'+i)) + ", operator: o" + string(rune('a'+i)) + ", url: 'http://h" + string(rune('a'+i)) + ":1'"
		if r != "0" {
			src += ", rps: " + r
		}
		src += "}\n"
	}
	return ParseWithEnv([]byte(src), "inline", lookupIn(nil))
}

// TestFairSlots: with keys on and auth.max_inflight unset, each network
// gets fair admission derived from its upstreams' rps budgets (Σ rps ×
// FairLatency, at least MinFairSlots), or DefaultFairSlots when one
// upstream has no budget; 0 or "off" written turns it off; a number
// written is kept.
func TestFairSlots(t *testing.T) {
	cases := []struct {
		name  string
		auth  string
		rps   []string
		slots int
		from  string
	}{
		{"budgets", "", []string{"100", "60.5"}, 81, FairBudgets},
		{"budgets, large", "", []string{"1000", "1000", "400"}, 1200, FairBudgets},
		{"small budgets", "", []string{"10", "5"}, MinFairSlots, FairBudgets},
		{"one unbudgeted", "", []string{"100", "0"}, DefaultFairSlots, FairDefault},
		{"none budgeted", "", []string{"0"}, DefaultFairSlots, FairDefault},
		{"explicit 0", "  max_inflight: 0\n", []string{"100"}, 0, FairOff},
		{"explicit off", "  max_inflight: off\n", []string{"0"}, 0, FairOff},
		{"configured", "  max_inflight: 7\n", []string{"100"}, 7, FairConfigured},
	}
	for _, c := range cases {
		cfg, err := fairConfig(t, c.auth, c.rps...)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if slots, from := cfg.FairSlots("n"); slots != c.slots || from != c.from {
			t.Errorf("%s: FairSlots = %d (%s), want %d (%s)", c.name, slots, from, c.slots, c.from)
		}
		if warned := len(cfg.AuthWarnings()) > 0; warned != (c.from == FairOff) {
			t.Errorf("%s: warnings %q", c.name, cfg.AuthWarnings())
		}
	}
}

// TestFairSlotsNotShared: without keys or limits, or with one required
// key alone, there is nobody to share with: no slots, whatever the
// budgets.
func TestFairSlotsNotShared(t *testing.T) {
	off := Config{Networks: []Network{{Name: "n", Upstreams: []Upstream{{RPS: 100}}}}}
	if slots, from := off.FairSlots("n"); slots != 0 || from != "" {
		t.Errorf("auth off: FairSlots = %d (%s)", slots, from)
	}
	one := off
	one.Auth = Auth{Required: true}
	one.Keys = []APIKey{{Name: "a", Key: "bk_" + strings.Repeat("a", 20)}}
	if slots, from := one.FairSlots("n"); slots != 0 || from != "" {
		t.Errorf("one required key: FairSlots = %d (%s)", slots, from)
	}
	one.Keys = append(one.Keys, APIKey{Name: "b", Key: "bk_" + strings.Repeat("b", 20)})
	if slots, from := one.FairSlots("n"); slots != 50 || from != FairBudgets {
		t.Errorf("two keys: FairSlots = %d (%s)", slots, from)
	}
}
