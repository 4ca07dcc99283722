package peers

import (
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"time"

	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"
	ma "github.com/multiformats/go-multiaddr"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/braidrpc/braid/internal/clock"
)

// Options configure New.
type Options struct {
	// Key is the node's identity; nil loads (or creates) IdentityFile.
	Key crypto.PrivKey
	// IdentityFile holds the identity key (LoadIdentity); used when Key is
	// nil. One of the two is required.
	IdentityFile string
	// Listen are the multiaddrs to listen on, e.g. /ip4/0.0.0.0/tcp/4001
	// and /ip4/0.0.0.0/udp/4001/quic-v1 (QUIC is enabled only when a
	// listen or bootstrap address asks for it). Required.
	Listen []string
	// Announce, if set, are the only addresses told to peers (a public
	// address in front of a private listener); otherwise the listen
	// addresses are.
	Announce []string
	// Bootstrap are the peers to join the DHT through, as multiaddrs
	// ending in /p2p/<peer id>. These are the only addresses this node
	// dials on its own; others come from the peers of the private DHT.
	Bootstrap []string
	// Allow, if set, are the only peer ids this node talks to: any other
	// is refused at connection time, both ways (the connection gater).
	// Every bootstrap peer must be on it.
	Allow []string
	// DialRanges, if set, are the only networks (CIDR prefixes, e.g.
	// 127.0.0.0/8) this node dials: addresses outside them, learned from
	// peers, are neither dialled nor kept in the DHT.
	DialRanges []string
	// Holder is what this node serves; nil serves nothing (every request
	// is answered CodeNotHeld).
	Holder Holder
	// Ledger, if set, is told of every transfer and admits requests (issue
	// 16); the node's own Tally records them either way.
	Ledger Ledger
	// Ranker, if set, orders the holders a Fetch found before it asks
	// them, after the Tally's order (issue 16's ledger puts peers whose
	// retention audits failed last, and learns who advertises what).
	Ranker Ranker
	// Head, if set, is the served tip's number, to give served and fetched
	// content a depth when only its number is known.
	Head func() (uint64, bool)
	// Limits bound what peers can make this node do; zero fields take
	// their defaults (DefaultLimits).
	Limits Limits
	// Provide tunes announcing content in the DHT; zero fields take
	// their defaults.
	Provide ProvideOptions
	// Clock decides rates, bans and reprovides; nil is the real clock.
	// Network deadlines run on real time.
	Clock clock.Clock
	// Logger receives the node's logs; nil discards.
	Logger *slog.Logger
	// Registerer, if set, receives the node's metrics until Close. One
	// registry takes one node at a time: a second is an error.
	Registerer prometheus.Registerer
}

// Limits bound what peers can make a node do. Every field has a default.
type Limits struct {
	// StreamsPerPeer caps a peer's concurrent content streams, each way
	// (default 8). Over it, a request is answered CodeBusy (an
	// offence); at twice it (at least 32), libp2p's resource manager
	// resets the stream.
	StreamsPerPeer int
	// Serving caps the requests served at once, from all peers (default
	// 64); over it, CodeBusy (no offence).
	Serving int
	// Rate and Burst are a peer's request token bucket (default 100 per
	// second, burst 200); over it, CodeBusy (an offence only past a burst
	// of such debt). Fetches keep to the same bucket towards every peer,
	// and back off from a peer that answers busy.
	Rate  float64
	Burst int
	// RequestTimeout bounds reading a request (default 10 s).
	RequestTimeout time.Duration
	// AdmitTimeout bounds how long a Ledger may queue a request (default
	// 5 s); then CodeBusy.
	AdmitTimeout time.Duration
	// WriteTimeout bounds writing a response (default 60 s: 16 MiB at
	// about 280 KB/s).
	WriteTimeout time.Duration
	// FetchTimeout bounds one holder's answer, from opening the stream to
	// the last byte (default 60 s).
	FetchTimeout time.Duration
	// IdleTimeout bounds the wait for each read of a response (default
	// 15 s): a holder that stalls is dropped for the next.
	IdleTimeout time.Duration
	// FindTimeout bounds a DHT search for holders (default 10 s), and
	// MaxHolders how many it collects (default 16).
	FindTimeout time.Duration
	MaxHolders  int
	// Fetches caps concurrent fetches (default 64); more wait.
	Fetches int
	// BanWindow and BanFor: every offence adds to a peer's score — a
	// request over its rate or stream cap 0.01, a malformed frame 0.3,
	// content that failed verification 0.6, a response over its size
	// bound 1 — which decays by 1 per BanWindow (default 1 min); at 1 the
	// peer is disconnected and refused for BanFor (default 10 min).
	BanWindow time.Duration
	BanFor    time.Duration
	// Peers is the connection manager's high water (default 200); it
	// trims to three quarters of it.
	Peers int
	// Tracked caps the peers whose limits, bans and tallies are kept
	// (default 4096).
	Tracked int
	// Memory caps the resource manager's memory for the whole host
	// (default 512 MiB) and ContentMemory the content streams' share
	// (default 256 MiB; the payloads in flight both ways, reserved
	// before they are read or written).
	Memory        int64
	ContentMemory int64
	// DHTRecords caps the bytes of DHT provider records this node keeps
	// for others (default 64 MiB, about 400,000 records).
	DHTRecords int64
}

// DefaultLimits are the limits a zero Limits field takes.
var DefaultLimits = Limits{
	StreamsPerPeer: 8,
	Serving:        64,
	Rate:           100,
	Burst:          200,
	RequestTimeout: 10 * time.Second,
	AdmitTimeout:   5 * time.Second,
	WriteTimeout:   60 * time.Second,
	FetchTimeout:   60 * time.Second,
	IdleTimeout:    15 * time.Second,
	FindTimeout:    10 * time.Second,
	MaxHolders:     16,
	Fetches:        64,
	BanWindow:      time.Minute,
	BanFor:         10 * time.Minute,
	Peers:          200,
	Tracked:        4096,
	Memory:         512 << 20,
	ContentMemory:  256 << 20,
	DHTRecords:     64 << 20,
}

// withDefaults fills zero fields from DefaultLimits.
func (l Limits) withDefaults() Limits {
	d := DefaultLimits
	def(&l.StreamsPerPeer, d.StreamsPerPeer)
	def(&l.Serving, d.Serving)
	def(&l.Rate, d.Rate)
	def(&l.Burst, d.Burst)
	def(&l.RequestTimeout, d.RequestTimeout)
	def(&l.AdmitTimeout, d.AdmitTimeout)
	def(&l.WriteTimeout, d.WriteTimeout)
	def(&l.FetchTimeout, d.FetchTimeout)
	def(&l.IdleTimeout, d.IdleTimeout)
	def(&l.FindTimeout, d.FindTimeout)
	def(&l.MaxHolders, d.MaxHolders)
	def(&l.Fetches, d.Fetches)
	def(&l.BanWindow, d.BanWindow)
	def(&l.BanFor, d.BanFor)
	def(&l.Peers, d.Peers)
	def(&l.Tracked, d.Tracked)
	def(&l.Memory, d.Memory)
	def(&l.ContentMemory, d.ContentMemory)
	def(&l.DHTRecords, d.DHTRecords)
	return l
}

func def[T int | int64 | float64 | time.Duration](v *T, d T) {
	if *v <= 0 {
		*v = d
	}
}

// ProvideOptions tune announcing content in the DHT.
type ProvideOptions struct {
	// Workers announce keys concurrently (default 4): each announcement is
	// a DHT walk to the closest peers.
	Workers int
	// Timeout bounds one announcement (default 60 s).
	Timeout time.Duration
	// Retry is the wait before announcing again a key whose announcement
	// failed (default 1 min).
	Retry time.Duration
	// Interval is how often every key is announced again (default 22 h;
	// provider records live 48 h).
	Interval time.Duration
	// MaxKeys caps the keys kept announced (default 1,000,000; about 120
	// bytes each). Provide refuses more, counting them.
	MaxKeys int
}

// DefaultProvide are the values a zero ProvideOptions field takes.
var DefaultProvide = ProvideOptions{Workers: 4, Timeout: time.Minute, Retry: time.Minute, Interval: 22 * time.Hour, MaxKeys: 1_000_000}

func (p ProvideOptions) withDefaults() ProvideOptions {
	d := DefaultProvide
	def(&p.Workers, d.Workers)
	def(&p.Timeout, d.Timeout)
	def(&p.Retry, d.Retry)
	def(&p.Interval, d.Interval)
	def(&p.MaxKeys, d.MaxKeys)
	return p
}

// parsed are the Options' addresses, checked.
type parsed struct {
	listen, announce []ma.Multiaddr
	bootstrap        []peer.AddrInfo
	allow            map[peer.ID]bool // nil: everyone
	ranges           []netip.Prefix   // nil: anywhere
}

// parse checks the Options' addresses and ids.
func (o *Options) parse() (*parsed, error) {
	var p parsed
	var err error
	if len(o.Listen) == 0 {
		return nil, errors.New("peers: no listen address")
	}
	if p.listen, err = multiaddrs("listen", o.Listen); err != nil {
		return nil, err
	}
	if p.announce, err = multiaddrs("announce", o.Announce); err != nil {
		return nil, err
	}
	boot, err := multiaddrs("bootstrap", o.Bootstrap)
	if err != nil {
		return nil, err
	}
	if p.bootstrap, err = peer.AddrInfosFromP2pAddrs(boot...); err != nil {
		return nil, fmt.Errorf("peers: bootstrap addresses must end in /p2p/<peer id>: %w", err)
	}
	if len(o.Allow) > 0 {
		p.allow = map[peer.ID]bool{}
		for _, s := range o.Allow {
			id, err := peer.Decode(s)
			if err != nil {
				return nil, fmt.Errorf("peers: allow %q: %w", s, err)
			}
			p.allow[id] = true
		}
		for _, b := range p.bootstrap {
			if !p.allow[b.ID] {
				return nil, fmt.Errorf("peers: bootstrap peer %s is not in the allow-list", b.ID)
			}
		}
	}
	for _, s := range o.DialRanges {
		pre, err := netip.ParsePrefix(s)
		if err != nil {
			return nil, fmt.Errorf("peers: dial range %q: %w", s, err)
		}
		p.ranges = append(p.ranges, pre.Masked())
	}
	return &p, nil
}

func multiaddrs(what string, ss []string) ([]ma.Multiaddr, error) {
	out := make([]ma.Multiaddr, 0, len(ss))
	for _, s := range ss {
		a, err := ma.NewMultiaddr(s)
		if err != nil {
			return nil, fmt.Errorf("peers: %s address %q: %w", what, s, err)
		}
		out = append(out, a)
	}
	return out, nil
}
