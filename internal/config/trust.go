package config

import (
	"encoding/hex"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// Trust says where a network's served tip comes from: the operators'
// agreement (the default) or a beacon light client that follows the sync
// committee's signatures, so that no set of operators decides the head.
type Trust struct {
	// Source is "operators" (default: the highest block hash held by
	// head.min_operators distinct operators) or "beacon" (the head the
	// sync committee signed, through beacon_apis).
	Source string `yaml:"source"`
	// Network picks go-ethereum's light-client preset (genesis, forks and
	// a default checkpoint): "mainnet", "sepolia" or "hoodi". Empty: by
	// chain_id (1, 11155111, 560048). A chain without a preset sets
	// BeaconChain instead.
	Network string `yaml:"network"`
	// BeaconChain describes a beacon chain without a preset (a devnet).
	BeaconChain *BeaconChain `yaml:"beacon_chain"`
	// BeaconAPIs serve the light-client API (bootstrap, updates,
	// optimistic and finality updates, events). One honest live one
	// suffices; each gets only its own headers.
	BeaconAPIs []BeaconAPI `yaml:"beacon_apis"`
	// Checkpoint is a trusted finalized beacon block root (0x + 64 hex
	// digits, at an epoch start). Empty: the checkpoint saved in DataDir
	// by an earlier run, else the preset's.
	Checkpoint string `yaml:"checkpoint"`
	// CheckpointMaxAge refuses older checkpoints ("14d", "336h").
	CheckpointMaxAge Days `yaml:"checkpoint_max_age"`
	// MaxHeadAge: a signed head older than this makes the network not
	// ready (braid never serves it, nor falls back to the operators).
	MaxHeadAge time.Duration `yaml:"max_head_age"`
	// DataDir keeps the last finalized checkpoint for restarts (one small
	// file per network). Empty: nothing is kept.
	DataDir string `yaml:"data_dir"`
}

// BeaconAPI is one beacon node serving the light-client API.
type BeaconAPI struct {
	// Name labels it in logs, status and metrics (default: its host).
	Name string `yaml:"name"`
	// URL is http(s)://host[:port][/base]; its path, query and user info
	// are treated as secret and never shown.
	URL string `yaml:"url"`
	// Headers are sent with every request to this API only (API keys);
	// their values are never logged or shown.
	Headers map[string]string `yaml:"headers"`
}

// BeaconChain is a beacon chain's identity for the light client: what
// decides the sync committee's signing domains and the slot times.
type BeaconChain struct {
	GenesisTime           uint64 `yaml:"genesis_time"`            // Unix seconds of slot 0
	GenesisValidatorsRoot string `yaml:"genesis_validators_root"` // 0x + 64 hex digits
	// SlotDuration is 12s on public chains (the default).
	SlotDuration time.Duration `yaml:"slot_duration"`
	Forks        []BeaconFork  `yaml:"forks"`
}

// BeaconFork is one entry of a beacon chain's fork schedule, as in its
// config.yaml (GENESIS, ALTAIR, … FULU).
type BeaconFork struct {
	Name    string `yaml:"name"`
	Epoch   uint64 `yaml:"epoch"`
	Version string `yaml:"version"` // 0x + 8 hex digits
}

// Trust sources.
const (
	TrustOperators = "operators"
	TrustBeacon    = "beacon"
)

// Defaults of the trust section.
const (
	DefaultCheckpointMaxAge = Days(14 * 24 * time.Hour)
	DefaultMaxHeadAge       = 60 * time.Second
	DefaultSlotDuration     = 12 * time.Second
)

// BeaconPresets maps the chain ids of the networks go-ethereum has a
// light-client preset for to the preset's name.
var BeaconPresets = map[uint64]string{1: "mainnet", 11155111: "sepolia", 560048: "hoodi"}

// Beacon reports whether the network's tip comes from a light client.
func (t Trust) Beacon() bool { return t.Source == TrustBeacon }

// Preset returns the light-client preset for a network of chainID: the
// configured one, else the one of its chain id; "" for none.
func (t Trust) Preset(chainID uint64) string {
	if t.Network != "" {
		return t.Network
	}
	if t.BeaconChain != nil {
		return ""
	}
	return BeaconPresets[chainID]
}

// Days is a duration that also accepts whole days ("14d") besides Go
// durations ("336h").
type Days time.Duration

// UnmarshalYAML reads "14d", "1.5d" or a Go duration.
func (d *Days) UnmarshalYAML(n *yaml.Node) error {
	var s string
	if err := n.Decode(&s); err != nil || n.Kind != yaml.ScalarNode {
		return &yaml.TypeError{Errors: []string{fmt.Sprintf("line %d: expected a duration such as \"14d\" or \"336h\"", n.Line)}}
	}
	v, err := parseDays(s)
	if err != nil {
		return &yaml.TypeError{Errors: []string{fmt.Sprintf("line %d: expected a duration such as \"14d\" or \"336h\", got %s", n.Line, quote(s))}}
	}
	*d = Days(v)
	return nil
}

func parseDays(s string) (time.Duration, error) {
	if num, ok := strings.CutSuffix(strings.TrimSpace(s), "d"); ok {
		f, err := strconv.ParseFloat(num, 64)
		if err != nil || f < 0 || f > 100*365 {
			return 0, fmt.Errorf("bad day count %q", num)
		}
		return time.Duration(f * float64(24*time.Hour)), nil
	}
	return time.ParseDuration(s)
}

// MarshalYAML writes whole days as "Nd".
func (d Days) MarshalYAML() (any, error) { return d.String(), nil }

// String is "14d" for whole days, else the Go form.
func (d Days) String() string {
	v := time.Duration(d)
	if v > 0 && v%(24*time.Hour) == 0 {
		return strconv.FormatInt(int64(v/(24*time.Hour)), 10) + "d"
	}
	return v.String()
}

func (t *Trust) applyDefaults() {
	orDefault(&t.Source, TrustOperators)
	if !t.Beacon() {
		return
	}
	orDefault(&t.CheckpointMaxAge, DefaultCheckpointMaxAge)
	orDefault(&t.MaxHeadAge, DefaultMaxHeadAge)
	if t.BeaconChain != nil {
		orDefault(&t.BeaconChain.SlotDuration, DefaultSlotDuration)
	}
}

// validate checks the trust section of the network labelled label. No
// message shows a beacon API's URL beyond scheme and host, or a header
// value.
func (t *Trust) validate(label string, chainID uint64) []error {
	var errs []error
	add := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: trust."+format, append([]any{label}, args...)...))
	}
	switch t.Source {
	case "", TrustOperators:
		if len(t.BeaconAPIs) > 0 || t.Checkpoint != "" || t.BeaconChain != nil || t.Network != "" {
			add(`source is %q but beacon settings are set: set trust.source: beacon to use them`, TrustOperators)
		}
		return errs
	case TrustBeacon:
	default:
		add("source must be %q or %q, got %s", TrustOperators, TrustBeacon, quote(t.Source))
		return errs
	}
	if len(t.BeaconAPIs) == 0 {
		add(`beacon_apis: source beacon needs at least one beacon API serving the light-client endpoints (e.g. a Nimbus or Lodestar node)`)
	}
	for i, a := range t.BeaconAPIs {
		if msg := checkBeaconAPI(a); msg != "" {
			add("beacon_apis #%d: %s", i+1, msg)
		}
	}
	preset := t.Preset(chainID)
	switch {
	case t.Network != "" && t.BeaconChain != nil:
		add("network and trust.beacon_chain are both set: use a preset or describe the chain, not both")
	case t.Network != "" && !knownPreset(t.Network):
		add("network %s has no preset (known: mainnet, sepolia, hoodi); describe the chain under trust.beacon_chain", quote(t.Network))
	case t.Network != "" && BeaconPresets[chainID] != t.Network:
		add("network %s does not match chain_id %d", quote(t.Network), chainID)
	case preset == "" && t.BeaconChain == nil:
		add("beacon_chain is required: chain_id %d has no light-client preset (mainnet, sepolia, hoodi)", chainID)
	}
	if t.BeaconChain != nil {
		errs = append(errs, t.BeaconChain.validate(label)...)
	}
	if t.Checkpoint != "" {
		if _, ok := parseHex(t.Checkpoint, 32); !ok {
			add("checkpoint must be a beacon block root: 0x and 64 hex digits")
		}
	} else if preset == "" && t.DataDir == "" {
		add("checkpoint is required for a chain without a preset: a recent finalized beacon block root (0x…), or a data_dir holding one saved by an earlier run")
	}
	slot := DefaultSlotDuration
	if t.BeaconChain != nil && t.BeaconChain.SlotDuration > 0 {
		slot = t.BeaconChain.SlotDuration
	}
	switch {
	case t.MaxHeadAge <= slot:
		add("max_head_age %s must exceed one slot (%s): a signed head is about a slot old when it arrives (default %s)", t.MaxHeadAge, slot, DefaultMaxHeadAge)
	case time.Duration(t.CheckpointMaxAge) < t.MaxHeadAge:
		add("checkpoint_max_age %s must not be below max_head_age %s (default %s)", t.CheckpointMaxAge, t.MaxHeadAge, DefaultCheckpointMaxAge)
	}
	return errs
}

func (c *BeaconChain) validate(label string) []error {
	var errs []error
	add := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: trust.beacon_chain."+format, append([]any{label}, args...)...))
	}
	if _, ok := parseHex(c.GenesisValidatorsRoot, 32); !ok {
		add("genesis_validators_root must be 0x and 64 hex digits")
	}
	if c.SlotDuration < time.Millisecond {
		add("slot_duration must be at least 1ms (default %s)", DefaultSlotDuration)
	}
	genesis, seen := false, map[string]bool{}
	for i, f := range c.Forks {
		name := strings.ToUpper(strings.TrimSpace(f.Name))
		if name == "" || seen[name] {
			add("forks #%d: name must be non-empty and unique", i+1)
		}
		seen[name] = true
		genesis = genesis || f.Epoch == 0
		if _, ok := parseHex(f.Version, 4); !ok {
			add("forks #%d: version must be 0x and 8 hex digits", i+1)
		}
	}
	if !genesis {
		add("forks needs a fork at epoch 0 (GENESIS)")
	}
	return errs
}

// checkBeaconAPI returns what is wrong with a beacon API entry, or "";
// never its URL or a header value.
func checkBeaconAPI(a BeaconAPI) string {
	u, err := url.Parse(a.URL)
	switch {
	case strings.TrimSpace(a.URL) == "":
		return `url is required, e.g. "https://beacon.example.com"`
	case err != nil:
		return "url is not a valid URL"
	case u.Scheme != "http" && u.Scheme != "https":
		return "url must use http or https"
	case u.Host == "":
		return "url has no host"
	case u.Fragment != "":
		return "url must not have a #fragment"
	}
	for k, v := range a.Headers {
		if !validHeaderToken(k) || strings.ContainsAny(v, "\r\n\x00") {
			return fmt.Sprintf("header %s has an invalid name or value", quote(k))
		}
	}
	return ""
}

// validHeaderToken reports whether k is a valid HTTP header name.
func validHeaderToken(k string) bool {
	if k == "" {
		return false
	}
	for _, r := range k {
		if r > 0x7e || r <= ' ' || strings.ContainsRune("\"(),/:;<=>?@[\\]{}", r) {
			return false
		}
	}
	return http.CanonicalHeaderKey(k) != ""
}

func knownPreset(name string) bool {
	for _, p := range BeaconPresets {
		if p == name {
			return true
		}
	}
	return false
}

// parseHex decodes 0x followed by exactly n bytes of hex.
func parseHex(s string, n int) ([]byte, bool) {
	h, ok := strings.CutPrefix(s, "0x")
	if !ok || len(h) != 2*n {
		return nil, false
	}
	b, err := hex.DecodeString(h)
	return b, err == nil
}

// Hex decodes a validated 0x… value of the trust section (a checkpoint,
// root or fork version).
func Hex(s string) []byte {
	b, _ := hex.DecodeString(strings.TrimPrefix(s, "0x"))
	return b
}
