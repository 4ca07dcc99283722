package config

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"
)

// Auth is who may call braid and how much: API keys (optional per
// network or for all), limits per key and per client address, the credit
// weights of methods, and fair admission of callers to each network.
// Everything is off until configured: with no keys, no store and no
// limits, braid serves anyone without counting.
type Auth struct {
	// Required: a call without a valid key gets HTTP 401. Networks, when
	// set, narrows that to the networks it lists; the others serve
	// anonymous callers too (a key given there still counts as the
	// key's).
	Required bool     `yaml:"required"`
	Networks []string `yaml:"networks"`
	// Store is where keys made by `braid keys add` live besides the
	// config's own keys: "" (none), "file" (File, a JSON file) or "redis"
	// (redis.url, shared by every replica).
	Store string `yaml:"store"`
	File  string `yaml:"file"`
	// KeyDefaults are the limits of a key that does not set its own
	// (0: unlimited).
	KeyDefaults KeyLimits `yaml:"key_defaults"`
	// Clients limits each client address (see TrustedProxies): callers
	// without a key, and with Keyed callers with one too.
	Clients ClientLimits `yaml:"clients"`
	// Weights are the credits one call of a method costs against a daily
	// quota, by method name or prefix ending in "*" ("debug_*"); they add
	// to and override braid's table. Unlisted methods cost DefaultWeight.
	Weights       map[string]int64 `yaml:"weights"`
	DefaultWeight int64            `yaml:"default_weight"`
	// MaxInflight caps the calls each network runs at once for callers.
	// Beyond it calls wait, and a freed slot goes to the waiting caller
	// (key, or client address without one) that has the fewest calls
	// running, so a caller that floods braid queues behind its own calls,
	// not in front of others'. Unset (0 in Go), braid derives it per
	// network when callers share braid (Config.FairSlots); InflightOff
	// (0 or "off" in YAML) turns it off.
	MaxInflight Inflight `yaml:"max_inflight"`
	// MaxQueue caps the calls one caller may have waiting for a slot on
	// one network; more get -32005 at once.
	MaxQueue int `yaml:"max_queue"`
}

// KeyLimits are the limits of one API key. Zero means the value of
// auth.key_defaults, and zero there means unlimited.
type KeyLimits struct {
	// RPS is calls per second (a batch of n calls counts n) with bursts of
	// up to Burst calls (default: RPS rounded up).
	RPS   float64 `yaml:"rps"`
	Burst int     `yaml:"burst"`
	// DailyQuota is the credits (see auth.weights) a key may spend per UTC
	// day.
	DailyQuota int64 `yaml:"daily_quota"`
	// MaxBatch caps the calls in one batch (never above limits.max_batch).
	MaxBatch int `yaml:"max_batch"`
	// MaxInflight caps the calls of this key running at once on one
	// network; more wait for its earlier ones (with or without
	// auth.max_inflight).
	MaxInflight int `yaml:"max_inflight"`
}

// ClientLimits limit each client address. Zero means unlimited.
type ClientLimits struct {
	RPS        float64 `yaml:"rps"`
	Burst      int     `yaml:"burst"`
	DailyQuota int64   `yaml:"daily_quota"`
	// Keyed applies these limits to callers with a key too (by default
	// only anonymous callers are limited per address).
	Keyed bool `yaml:"keyed"`
}

// APIKey is one key in the configuration. Exactly one of Key (the key
// itself, normally "${ENV}") and Hash ("sha256:" and 64 hex digits of the
// key) is set; braid keeps only the hash.
type APIKey struct {
	// Name labels the key in metrics, logs and `braid keys list`; it is
	// never secret.
	Name      string   `yaml:"name"`
	Key       string   `yaml:"key"`
	Hash      string   `yaml:"hash"`
	Networks  []string `yaml:"networks"` // empty: every network
	KeyLimits `yaml:",inline"`
	Methods   Methods `yaml:"methods"`
}

// Key stores.
const (
	KeyStoreNone  = ""
	KeyStoreFile  = "file"
	KeyStoreRedis = "redis"
)

// APIKeyPrefix starts every key `braid keys add` makes. No network name may
// start with it, so a path /{key} is never a network's.
const APIKeyPrefix = "bk_"

// Auth defaults.
const (
	// DefaultWeight is the credits of a method no weight names.
	DefaultWeight = 20
	// DefaultMaxQueue is the calls one caller may have waiting for a slot.
	DefaultMaxQueue = 1000
	// MinAPIKeyLength is the shortest key a config may hold: shorter ones
	// can be guessed.
	MinAPIKeyLength = 20
)

// AuthOn reports whether c asks braid to check keys or limit callers at all.
func (c *Config) AuthOn() bool {
	a := &c.Auth
	return a.Required || a.Store != KeyStoreNone || len(c.Keys) > 0 ||
		a.Clients.RPS > 0 || a.Clients.DailyQuota > 0 || a.MaxInflight > 0
}

// UnfairAuth is the warning AuthWarnings gives when callers are checked
// but do not share the providers fairly.
const UnfairAuth = "auth: max_inflight is off, so the providers' capacity is not shared fairly among callers: one key " +
	"or address within its own limits can still take it all and starve the others; remove auth.max_inflight for " +
	"a derived cap, or set it near what the providers serve at once (docs/configuration.md, API keys and limits)"

// AuthWarnings says what in the auth section is valid but likely not
// what a braid run for others wants: several callers with fair admission
// turned off (auth.max_inflight: off). Unset, it is derived (FairSlots).
// One required key and nobody else has no one to share with.
func (c *Config) AuthWarnings() []string {
	if !c.sharing() || c.Auth.MaxInflight != InflightOff {
		return nil
	}
	return []string{UnfairAuth}
}

// RequiredOn reports whether network requires a key.
func (a *Auth) RequiredOn(network string) bool {
	return a.Required && (len(a.Networks) == 0 || slices.Contains(a.Networks, network))
}

func (a *Auth) applyDefaults(keys []APIKey) {
	orDefault(&a.DefaultWeight, DefaultWeight)
	orDefault(&a.MaxQueue, DefaultMaxQueue)
	burstDefault(a.KeyDefaults.RPS, &a.KeyDefaults.Burst)
	burstDefault(a.Clients.RPS, &a.Clients.Burst)
	for i := range keys {
		burstDefault(keys[i].RPS, &keys[i].Burst)
	}
}

func burstDefault(rps float64, burst *int) {
	if *burst == 0 && rps > 0 {
		*burst = defaultBurst(rps)
	}
}

// validateAuth checks the auth section and the keys against the rest of c.
func (c *Config) validateAuth() []error {
	var errs []error
	add := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	a := &c.Auth
	for i, n := range c.Networks {
		if strings.HasPrefix(n.Name, APIKeyPrefix) {
			add("%s: name may not start with %q: a path /%s… is an API key", networkLabel(i, n.Name), APIKeyPrefix, APIKeyPrefix)
		}
	}
	for i, n := range a.Networks {
		if c.Network(n) == nil {
			add("auth: networks item %d %s is not a configured network", i+1, quote(n))
		}
	}
	switch a.Store {
	case KeyStoreNone:
		if a.File != "" {
			add(`auth: file is set but store is not "file"`)
		}
	case KeyStoreFile:
		if strings.TrimSpace(a.File) == "" {
			add(`auth: store "file" needs auth.file, the path "braid keys add --file" writes`)
		}
	case KeyStoreRedis:
		if c.Redis.URL == "" {
			add(`auth: store "redis" needs redis.url (the server the replicas share)`)
		}
	default:
		add(`auth: store %s is not one of "", "file", "redis"`, quote(a.Store))
	}
	if len(a.Networks) > 0 && !a.Required {
		add("auth: networks lists the networks that require a key, but required is false, so none does: set required: true (or remove networks)")
	}
	if a.Required && a.Store == KeyStoreNone && len(c.Keys) == 0 {
		add(`auth: required is true but no key exists: add keys under "keys:" or set auth.store`)
	}
	errs = append(errs, a.KeyDefaults.validate("auth: key_defaults")...)
	errs = append(errs, limitErrors("auth: clients", a.Clients.RPS, a.Clients.Burst, a.Clients.DailyQuota)...)
	for _, m := range slices.Sorted(maps.Keys(a.Weights)) {
		errs = append(errs, validateMethods("auth: weights", []string{m})...)
		if a.Weights[m] < 0 {
			add("auth: weights.%s must not be negative (0: free)", m)
		}
	}
	if a.DefaultWeight < 0 {
		add("auth: default_weight must not be negative (default %d)", DefaultWeight)
	}
	if a.MaxInflight < 0 && a.MaxInflight != InflightOff {
		add("auth: max_inflight must be at least 1, or InflightOff (0 or \"off\" in YAML) for no fair admission")
	}
	if a.MaxQueue < 0 {
		add("auth: max_queue must not be negative (default %d)", DefaultMaxQueue)
	}
	errs = append(errs, c.validateKeys()...)
	return errs
}

func (l *KeyLimits) validate(where string) []error {
	errs := limitErrors(where, l.RPS, l.Burst, l.DailyQuota)
	if l.MaxBatch < 0 || l.MaxInflight < 0 {
		errs = append(errs, fmt.Errorf("%s: max_batch and max_inflight must not be negative (0: no cap of the key's own)", where))
	}
	return errs
}

func limitErrors(where string, rps float64, burst int, quota int64) []error {
	var errs []error
	if !(rps >= 0) || math.IsInf(rps, 0) {
		errs = append(errs, fmt.Errorf("%s: rps must be a number of at least 0 (0: unlimited)", where))
	}
	if burst < 0 || quota < 0 {
		errs = append(errs, fmt.Errorf("%s: burst and daily_quota must not be negative (0: rps rounded up, unlimited)", where))
	}
	return errs
}

// validateKeys checks the keys section. Messages name a key by its name or
// position, never by its value.
func (c *Config) validateKeys() []error {
	var errs []error
	names := make(map[string]int, len(c.Keys))
	hashes := make(map[string]int, len(c.Keys))
	for i := range c.Keys {
		k := &c.Keys[i]
		where := fmt.Sprintf("keys item %d", i+1)
		if k.Name != "" {
			where += " " + quote(k.Name)
		}
		add := func(format string, args ...any) {
			errs = append(errs, fmt.Errorf("%s: "+format, append([]any{where}, args...)...))
		}
		switch {
		case !ValidKeyName(k.Name):
			add(`name is required: 1 to 64 letters, digits, ".", "-" or "_" (it labels the key in metrics and logs)`)
		default:
			if first, dup := names[k.Name]; dup {
				add("name is also used by keys item %d: key names must be unique", first+1)
			}
			names[k.Name] = i
		}
		hash, msg := keyHash(k)
		if msg != "" {
			add("%s", msg)
		} else if first, dup := hashes[hash]; dup {
			add("is the same key as keys item %d", first+1)
		} else {
			hashes[hash] = i
		}
		for j, n := range k.Networks {
			if c.Network(n) == nil {
				add("networks item %d %s is not a configured network", j+1, quote(n))
			}
		}
		errs = append(errs, k.KeyLimits.validate(where)...)
		errs = append(errs, validateMethods(where+": methods.allow", k.Methods.Allow)...)
		errs = append(errs, validateMethods(where+": methods.deny", k.Methods.Deny)...)
	}
	return errs
}

// keyHash returns the hash k names, in the form "sha256:<64 hex digits>",
// or what is wrong with k.
func keyHash(k *APIKey) (string, string) {
	switch {
	case k.Key != "" && k.Hash != "":
		return "", "set key or hash, not both"
	case k.Key != "":
		if len(k.Key) < MinAPIKeyLength || strings.ContainsAny(k.Key, " \t\r\n/") {
			return "", fmt.Sprintf("key must be at least %d characters without spaces or \"/\" (make one with `braid keys add`)", MinAPIKeyLength)
		}
		return HashAPIKey(k.Key), ""
	case k.Hash != "":
		h, ok := ParseKeyHash(k.Hash)
		if !ok {
			return "", `hash must be "sha256:" followed by 64 hex digits (the SHA-256 of the key)`
		}
		return h, ""
	}
	return "", `key or hash is required (key: ${ENV_VAR} holding the key, or hash: "sha256:…")`
}

// HashString returns the key's hash as "sha256:<hex>" (from Key or Hash), or ""
// when neither is valid.
func (k *APIKey) HashString() string {
	h, _ := keyHash(k)
	return h
}

// ParseKeyHash normalises "sha256:<64 hex>" (any case) and reports whether
// s is one.
func ParseKeyHash(s string) (string, bool) {
	hexPart, ok := strings.CutPrefix(strings.TrimSpace(s), "sha256:")
	if !ok || len(hexPart) != 64 {
		return "", false
	}
	if _, err := hex.DecodeString(hexPart); err != nil {
		return "", false
	}
	return "sha256:" + strings.ToLower(hexPart), true
}

// ValidKeyName reports whether name may label a key: 1 to 64 letters,
// digits, ".", "-" and "_".
func ValidKeyName(name string) bool {
	if name == "" || len(name) > 64 {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '.' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// HashAPIKey is how braid stores a key: "sha256:" and the hex SHA-256 of
// the key's bytes. Keys are long random strings, so a plain hash cannot be
// reversed; `echo -n "$KEY" | sha256sum` gives the same digits.
func HashAPIKey(key string) string {
	sum := sha256.Sum256([]byte(key))
	return "sha256:" + hex.EncodeToString(sum[:])
}
