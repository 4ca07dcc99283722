package config

import (
	"strings"
	"testing"
	"time"
)

func init() {
	badFiles["trust.bad.yaml"] = []string{
		`network "mainnet": trust.network "sepolia" does not match chain_id 1`,
		`network "mainnet": trust.beacon_apis #1: url must use http or https`,
		`network "mainnet": trust.beacon_apis #2: header "Bad Header" has an invalid name or value`,
		`network "mainnet": trust.checkpoint must be a beacon block root: 0x and 64 hex digits`,
		`network "mainnet": trust.max_head_age 10s must exceed one slot (12s)`,
		`network "devnet": trust.beacon_apis: source beacon needs at least one beacon API`,
		`network "devnet": trust.beacon_chain is required: chain_id 1337 has no light-client preset`,
		`network "devnet": trust.checkpoint is required for a chain without a preset`,
		`network "other": trust.source must be "operators" or "beacon", got "light"`,
		`network "ops": trust.source is "operators" but beacon settings are set`,
		`network "ages": trust.checkpoint_max_age 30s must not be below max_head_age 1m0s`,
		`network "chain": trust.beacon_chain.genesis_validators_root must be 0x and 64 hex digits`,
		`network "chain": trust.beacon_chain.slot_duration must be at least 1ms`,
		`network "chain": trust.beacon_chain.forks #1: version must be 0x and 8 hex digits`,
		`network "chain": trust.beacon_chain.forks needs a fork at epoch 0`,
	}
	badFiles["trust-days.bad.yaml"] = []string{`line 7: expected a duration such as "14d" or "336h", got "2 weeks"`}
	badFiles["trust-unknown-key.bad.yaml"] = []string{`line 6: unknown key "beacon_api" in trust (did you mean "beacon_apis"?)`}
}

func TestTrustBeaconGood(t *testing.T) {
	c, err := loadTestdata(t, "trust-beacon.good.yaml")
	if err != nil {
		t.Fatal(err)
	}
	m := c.Networks[0].Trust
	if !m.Beacon() || m.Preset(1) != "mainnet" || len(m.BeaconAPIs) != 2 {
		t.Fatalf("mainnet trust = %+v", m)
	}
	if m.BeaconAPIs[0].URL != "https://beacon-a.example/key/k1" || m.BeaconAPIs[1].Headers["Authorization"] != "Bearer t0ken" {
		t.Errorf("env not expanded in beacon_apis: %+v", m.BeaconAPIs)
	}
	if time.Duration(m.CheckpointMaxAge) != 7*24*time.Hour || m.MaxHeadAge != 90*time.Second || m.DataDir != "/var/lib/braid" {
		t.Errorf("ages/data dir = %v %v %q", m.CheckpointMaxAge, m.MaxHeadAge, m.DataDir)
	}
	d := c.Networks[1].Trust
	if d.Preset(1337) != "" || d.BeaconChain == nil || d.BeaconChain.SlotDuration != 2*time.Second || len(d.BeaconChain.Forks) != 2 {
		t.Fatalf("devnet trust = %+v", d)
	}
	if time.Duration(d.CheckpointMaxAge) != 14*24*time.Hour || d.MaxHeadAge != time.Minute {
		t.Errorf("defaults not applied: %v %v", d.CheckpointMaxAge, d.MaxHeadAge)
	}
	if got := Hex(d.BeaconChain.Forks[1].Version); len(got) != 4 || got[0] != 6 {
		t.Errorf("fork version = %x", got)
	}
}

func TestTrustOperatorsDefault(t *testing.T) {
	c, err := loadTestdata(t, "minimal.good.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if tr := c.Networks[0].Trust; tr.Source != TrustOperators || tr.Beacon() || tr.MaxHeadAge != 0 {
		t.Errorf("trust = %+v, want operators with no beacon defaults", tr)
	}
}

// A beacon API's path, query and header values may hold keys: no message
// shows them.
func TestTrustErrorsHideSecrets(t *testing.T) {
	_, err := loadTestdata(t, "trust.bad.yaml")
	if err == nil {
		t.Fatal("no error")
	}
	for _, secret := range []string{"SECRETPATH", "SECRETVALUE"} {
		if strings.Contains(err.Error(), secret) {
			t.Errorf("error shows %s:\n%v", secret, err)
		}
	}
}

func TestDays(t *testing.T) {
	for in, want := range map[string]time.Duration{"14d": 14 * 24 * time.Hour, "1.5d": 36 * time.Hour, "336h": 336 * time.Hour, "90m": 90 * time.Minute} {
		got, err := parseDays(in)
		if err != nil || got != want {
			t.Errorf("parseDays(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"", "d", "-1d", "2 weeks", "1e9d"} {
		if _, err := parseDays(in); err == nil {
			t.Errorf("parseDays(%q) accepted", in)
		}
	}
	if s := DefaultCheckpointMaxAge.String(); s != "14d" {
		t.Errorf("String() = %q", s)
	}
}
