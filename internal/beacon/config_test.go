package beacon

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
)

func TestConfigValidation(t *testing.T) {
	good := func() Config {
		return Config{
			Network:    Mainnet(),
			APIs:       []Endpoint{{URL: "https://beacon.example:5052/base"}},
			Checkpoint: common.HexToHash("0x01"),
		}
	}
	for _, tc := range []struct {
		name   string
		change func(*Config)
		want   string
	}{
		{"no apis", func(c *Config) { c.APIs = nil }, "no beacon_apis"},
		{"bad scheme", func(c *Config) { c.APIs[0].URL = "ftp://SECRET@host/KEY" }, "beacon_apis[0]: URL scheme must be http or https"},
		{"no host", func(c *Config) { c.APIs[0].URL = "https:///SECRETPATH" }, "beacon_apis[0]: URL has no host"},
		{"unparsable", func(c *Config) { c.APIs[0].URL = "https://h/%zzSECRET" }, "beacon_apis[0]: URL does not parse"},
		{"header newline", func(c *Config) { c.APIs[0].Headers = map[string]string{"X-Key": "SECRET\r\nX: y"} }, `header "X-Key" has an invalid name or value`},
		{"header name", func(c *Config) { c.APIs[0].Headers = map[string]string{"X Key": "v"} }, "invalid name"},
		{"head age within a slot", func(c *Config) { c.MaxHeadAge = 12 * time.Second }, "must exceed one slot"},
		{"negative", func(c *Config) { c.RequestTimeout = -time.Second }, "must not be negative"},
		{"checkpoint age below head age", func(c *Config) { c.CheckpointMaxAge = time.Second }, "checkpoint_max_age 1s is below"},
		{"no genesis fork", func(c *Config) { c.Network.Forks = c.Network.Forks[1:] }, "fork at epoch 0"},
		{"no slot", func(c *Config) { c.Network.SlotDuration = 0 }, "slot duration"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := good()
			tc.change(&cfg)
			_, err := New(cfg)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want %q", err, tc.want)
			}
			if strings.Contains(err.Error(), "SECRET") {
				t.Fatalf("error %q quotes a secret", err)
			}
		})
	}
	c, err := New(good())
	if err != nil {
		t.Fatal(err)
	}
	if c.cfg.MaxHeadAge != DefaultMaxHeadAge || c.cfg.CheckpointMaxAge != DefaultCheckpointMaxAge {
		t.Fatalf("defaults %v %v", c.cfg.MaxHeadAge, c.cfg.CheckpointMaxAge)
	}
	if err := c.Ready(); !errors.Is(err, ErrBootstrapping) {
		t.Fatalf("unstarted client: %v", err)
	}
}

func TestPresets(t *testing.T) {
	for _, name := range []string{"mainnet", "Sepolia", "hoodi"} {
		n, err := NetworkByName(name)
		if err != nil {
			t.Fatal(err)
		}
		if n.SlotDuration != 12*time.Second || n.GenesisTime == 0 || len(n.Forks) < 7 {
			t.Fatalf("%s: %+v", name, n)
		}
		s, err := newSpec(n)
		if err != nil {
			t.Fatal(err)
		}
		if !n.knows("fulu") || s.chain.ForkNameAtSlot(1<<40) == "" {
			t.Fatalf("%s lacks fulu", name)
		}
	}
	if _, err := NetworkByName("goerli"); err == nil {
		t.Fatal("goerli has a preset")
	}
	// The presets are copies: changing one leaves go-ethereum's alone.
	m := Mainnet()
	m.Forks = append(m.Forks, Fork{Name: "GLOAS", Epoch: 1 << 30, Version: [4]byte{7}})
	if Mainnet().knows("gloas") {
		t.Fatal("a preset was changed through a copy")
	}
}

func TestEndpointNames(t *testing.T) {
	got := endpointNames([]Endpoint{
		{URL: "https://a.example/KEY1"}, {URL: "https://a.example/KEY2"}, {Name: "lodestar", URL: "http://b"},
	})
	want := []string{"https://a.example", "https://a.example#2", "lodestar"}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("names %v, want %v", got, want)
		}
	}
}
