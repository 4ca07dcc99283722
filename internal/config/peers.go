package config

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"time"
)

// Peers makes this network's gateway a peer of other braid gateways
// (issue 15): it keeps the chain content it verified in a history store,
// announces it in a private DHT, and answers history every provider has
// pruned from that store, then from peers. Off unless Enabled.
type Peers struct {
	Enabled bool `yaml:"enabled"`
	// Identity is the file holding the node's libp2p key (created, mode
	// 0600, on first run). Default: identity.key in Store.Path.
	Identity string `yaml:"identity"`
	// Listen are libp2p multiaddrs to listen on (QUIC only when one asks
	// for it).
	Listen []string `yaml:"listen"`
	// Announce, if set, are the only addresses told to peers.
	Announce []string `yaml:"announce"`
	// Bootstrap are peers to join through, multiaddrs ending in /p2p/<id>.
	Bootstrap []string `yaml:"bootstrap"`
	// Allow, if set, are the only peer ids this node talks to (both ways).
	Allow []string `yaml:"allow"`
	// DialRanges, if set, are the only networks (CIDR) this node dials.
	DialRanges []string `yaml:"dial_ranges"`
	// Store is the history store.
	Store PeerStore `yaml:"store"`
	// Keep is the range kept (exempt from eviction, within the byte
	// bound) and filled in the background: "none", "all", "pre-merge" or
	// "from:N".
	Keep string `yaml:"keep"`
	// Fill bounds the background fill of Keep.
	Fill PeerFill `yaml:"fill"`
	// Limits bound what peers can make this node do.
	Limits PeerLimits `yaml:"limits"`
	// Ledger is the peer economy (issue 16): credit per peer, price by
	// age and rarity, serving by standing, retention audits, what to
	// keep. Zero keys take DefaultPeerLedger's values.
	Ledger PeerLedger `yaml:"ledger"`
}

// PeerStore is the history store of a network.
type PeerStore struct {
	// Path is the store's directory (required when peers are enabled).
	Path string `yaml:"path"`
	// MaxBytes bounds the bytes the store accounts.
	MaxBytes int64 `yaml:"max_bytes"`
	// CacheMB is pebble's block cache.
	CacheMB int `yaml:"cache_mb"`
}

// PeerFill is the background fill's budget.
type PeerFill struct {
	// BytesPerSecond is the bandwidth the fill may use, averaged.
	BytesPerSecond int64 `yaml:"bytes_per_second"`
	// Idle is the wait after catching up or a failed fetch.
	Idle time.Duration `yaml:"idle"`
}

// PeerLimits are the per-peer limits of the peer layer; zero keeps the
// peer layer's own default (docs/configuration.md lists them).
type PeerLimits struct {
	// Rate and Burst are each peer's request token bucket.
	Rate  float64 `yaml:"rate"`
	Burst int     `yaml:"burst"`
	// StreamsPerPeer caps a peer's concurrent content streams.
	StreamsPerPeer int `yaml:"streams_per_peer"`
	// Serving caps the requests served at once, from all peers.
	Serving int `yaml:"serving"`
	// MaxPeers is the connection manager's high water.
	MaxPeers int `yaml:"max_peers"`
	// MemoryBytes caps the peer layer's memory.
	MemoryBytes int64 `yaml:"memory_bytes"`
}

// Peer defaults.
const (
	DefaultPeerStoreMaxBytes   = 8 << 30
	DefaultPeerFillBytesPerSec = 1 << 20
	DefaultPeerKeep            = "none"
	DefaultPeerIdentityFile    = "identity.key"
)

func (p *Peers) applyDefaults() {
	orDefault(&p.Store.MaxBytes, DefaultPeerStoreMaxBytes)
	orDefault(&p.Fill.BytesPerSecond, DefaultPeerFillBytesPerSec)
	orDefault(&p.Keep, DefaultPeerKeep)
	p.Ledger = p.Ledger.WithDefaults()
	if p.Identity == "" && p.Store.Path != "" {
		p.Identity = strings.TrimSuffix(p.Store.Path, "/") + "/" + DefaultPeerIdentityFile
	}
}

// validate checks the section; a disabled one is checked too, so a typo
// does not wait for the day it is switched on.
func (p *Peers) validate(label string) []error {
	var errs []error
	add := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: peers."+format, append([]any{label}, args...)...))
	}
	if p.Enabled {
		if strings.TrimSpace(p.Store.Path) == "" {
			add("store.path is required when peers are enabled: the directory of the history store")
		}
		if len(p.Listen) == 0 {
			add(`listen is required when peers are enabled, e.g. ["/ip4/0.0.0.0/tcp/4001"]`)
		}
	}
	for i, a := range p.Listen {
		if !strings.HasPrefix(a, "/") {
			add("listen item %d %s must be a multiaddr such as /ip4/0.0.0.0/tcp/4001", i+1, quote(a))
		}
	}
	for i, a := range p.Announce {
		if !strings.HasPrefix(a, "/") {
			add("announce item %d %s must be a multiaddr such as /ip4/203.0.113.7/tcp/4001", i+1, quote(a))
		}
	}
	for i, a := range p.Bootstrap {
		if !strings.HasPrefix(a, "/") || !strings.Contains(a, "/p2p/") {
			add("bootstrap item %d %s must be a multiaddr ending in /p2p/<peer id>", i+1, quote(a))
		}
	}
	for i, r := range p.DialRanges {
		if _, err := netip.ParsePrefix(r); err != nil {
			add("dial_ranges item %d %s must be a CIDR prefix such as 10.0.0.0/8", i+1, quote(r))
		}
	}
	for i, id := range p.Allow {
		if strings.TrimSpace(id) == "" || strings.ContainsAny(id, " \t/") {
			add("allow item %d %s must be a peer id (12D3KooW…)", i+1, quote(id))
		}
	}
	if p.Store.MaxBytes < 0 || (p.Enabled && p.Store.MaxBytes < 1<<20) {
		add("store.max_bytes must be at least 1048576 (default %d)", DefaultPeerStoreMaxBytes)
	}
	if p.Store.CacheMB < 0 {
		add("store.cache_mb must not be negative (0: 16)")
	}
	if _, err := ParsePeerKeep(p.Keep); err != nil {
		add("keep %v", err)
	}
	if p.Fill.BytesPerSecond < 0 || p.Fill.Idle < 0 {
		add("fill.bytes_per_second and fill.idle must not be negative (default %d bytes/s)", DefaultPeerFillBytesPerSec)
	}
	l := p.Limits
	if l.Rate < 0 || l.Burst < 0 || l.StreamsPerPeer < 0 || l.Serving < 0 || l.MaxPeers < 0 || l.MemoryBytes < 0 {
		add("limits must not be negative (0: the default)")
	}
	if err := p.Ledger.Validate(); err != nil {
		add("%v", err)
	}
	return errs
}

// PeerKeep is a parsed peers.keep.
type PeerKeep struct {
	Mode string // "none", "all", "pre-merge" or "from"
	From uint64
}

// ParsePeerKeep reads peers.keep: "" or "none", "all", "pre-merge", or
// "from:N" (also "from: N"). internal/history.ParseKeep reads the same.
func ParsePeerKeep(s string) (PeerKeep, error) {
	switch v := strings.TrimSpace(s); v {
	case "", "none":
		return PeerKeep{Mode: "none"}, nil
	case "all", "pre-merge":
		return PeerKeep{Mode: v}, nil
	default:
		rest, ok := strings.CutPrefix(v, "from:")
		if ok {
			n, err := strconv.ParseUint(strings.TrimSpace(rest), 10, 64)
			if err == nil {
				return PeerKeep{Mode: "from", From: n}, nil
			}
		}
	}
	return PeerKeep{}, fmt.Errorf(`must be "none", "all", "pre-merge" or "from:N" (a block number), got %s`, quote(s))
}
