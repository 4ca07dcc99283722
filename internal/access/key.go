package access

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base32"
	"encoding/hex"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/braidrpc/braid/internal/config"
)

// keyBytes is the randomness in a new key: 200 bits.
const keyBytes = 25

// idDigits is how many hex digits of a key's hash its id shows.
const idDigits = 12

var keyEncoding = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)

// NewKey returns a new random key: "bk_" and 40 characters of lowercase
// base32 (200 bits), safe in a URL path and a header.
func NewKey() string {
	b := make([]byte, keyBytes)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (Go 1.24+)
	return config.APIKeyPrefix + keyEncoding.EncodeToString(b)
}

// LooksLikeKey reports whether a path segment is a key rather than a
// network name: it starts with the prefix no network name may have.
func LooksLikeKey(segment string) bool {
	return strings.HasPrefix(segment, config.APIKeyPrefix) && len(segment) > len(config.APIKeyPrefix)
}

// ID is the short id of a key hash ("sha256:…"): its first 12 hex digits,
// which tell keys apart in listings without revealing them.
func ID(hash string) string {
	h := strings.TrimPrefix(hash, "sha256:")
	if len(h) > idDigits {
		h = h[:idDigits]
	}
	return h
}

// Limits are a key's effective limits (its own, else auth.key_defaults);
// zero means unlimited.
type Limits struct {
	RPS         float64
	Burst       int
	DailyQuota  int64
	MaxBatch    int
	MaxInflight int
}

// Key is a key braid accepts, as the Keyring holds it.
type Key struct {
	Name     string
	ID       string
	Source   string   // "config", "file" or "redis"
	Networks []string // empty: every network
	Limits   Limits
	allow    []string
	deny     []string
	sum      digest // SHA-256 of the key
}

// digest is a key's SHA-256, the Keyring's index.
type digest [sha256.Size]byte

// digestOf is the digest of a presented key.
func digestOf(key string) digest { return sha256.Sum256([]byte(key)) }

// parseDigest reads a valid "sha256:<hex>" hash (config.ParseKeyHash).
func parseDigest(hash string) digest {
	var d digest
	_, _ = hex.Decode(d[:], []byte(strings.TrimPrefix(hash, "sha256:")))
	return d
}

// On reports whether the key may be used on network.
func (k *Key) On(network string) bool {
	return len(k.Networks) == 0 || slices.Contains(k.Networks, network)
}

// Allows reports whether the key's method lists let it call method: with
// an allow list only the methods it names, and never one deny names.
func (k *Key) Allows(method string) bool {
	if matchAny(k.deny, method) {
		return false
	}
	return len(k.allow) == 0 || matchAny(k.allow, method)
}

func matchAny(patterns []string, method string) bool {
	for _, p := range patterns {
		if prefix, ok := strings.CutSuffix(p, "*"); ok {
			if strings.HasPrefix(method, prefix) {
				return true
			}
		} else if p == method {
			return true
		}
	}
	return false
}

// Record is a key as a Store keeps it: its hash, never the key.
type Record struct {
	Name        string     `json:"name"`
	Hash        string     `json:"hash"`
	Networks    []string   `json:"networks,omitempty"`
	RPS         float64    `json:"rps,omitempty"`
	Burst       int        `json:"burst,omitempty"`
	DailyQuota  int64      `json:"daily_quota,omitempty"`
	MaxBatch    int        `json:"max_batch,omitempty"`
	MaxInflight int        `json:"max_inflight,omitempty"`
	Allow       []string   `json:"allow,omitempty"`
	Deny        []string   `json:"deny,omitempty"`
	Created     time.Time  `json:"created"`
	Revoked     *time.Time `json:"revoked,omitempty"`
}

// ID is the record's short id.
func (r *Record) ID() string { return ID(r.Hash) }

// keyLimits merges own limits over the defaults.
func keyLimits(own config.KeyLimits, d config.KeyLimits) Limits {
	l := Limits{RPS: own.RPS, Burst: own.Burst, DailyQuota: own.DailyQuota, MaxBatch: own.MaxBatch, MaxInflight: own.MaxInflight}
	if l.RPS == 0 {
		l.RPS, l.Burst = d.RPS, d.Burst
	}
	if l.Burst == 0 && l.RPS > 0 {
		l.Burst = int(max(1, min(math.Ceil(l.RPS), math.MaxInt32)))
	}
	if l.DailyQuota == 0 {
		l.DailyQuota = d.DailyQuota
	}
	if l.MaxBatch == 0 {
		l.MaxBatch = d.MaxBatch
	}
	if l.MaxInflight == 0 {
		l.MaxInflight = d.MaxInflight
	}
	return l
}

// fromConfig makes the Key of a config entry (validated).
func fromConfig(k config.APIKey, d config.KeyLimits) *Key {
	hash := k.HashString()
	return &Key{
		Name: k.Name, ID: ID(hash), Source: "config", Networks: k.Networks,
		Limits: keyLimits(k.KeyLimits, d),
		allow:  k.Methods.Allow, deny: k.Methods.Deny, sum: parseDigest(hash),
	}
}

// fromRecord makes the Key of a stored record.
func fromRecord(r Record, source string, d config.KeyLimits) *Key {
	own := config.KeyLimits{RPS: r.RPS, Burst: r.Burst, DailyQuota: r.DailyQuota, MaxBatch: r.MaxBatch, MaxInflight: r.MaxInflight}
	return &Key{
		Name: r.Name, ID: r.ID(), Source: source, Networks: r.Networks,
		Limits: keyLimits(own, d),
		allow:  r.Allow, deny: r.Deny, sum: parseDigest(r.Hash),
	}
}
