package peers

import (
	"fmt"
	"strings"

	"github.com/libp2p/go-libp2p"
	dht "github.com/libp2p/go-libp2p-kad-dht"
	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"
	"github.com/libp2p/go-libp2p/p2p/host/resource-manager"
	"github.com/libp2p/go-libp2p/p2p/muxer/yamux"
	"github.com/libp2p/go-libp2p/p2p/net/connmgr"
	"github.com/libp2p/go-libp2p/p2p/security/noise"
	libp2pquic "github.com/libp2p/go-libp2p/p2p/transport/quic"
	"github.com/libp2p/go-libp2p/p2p/transport/tcp"
	ma "github.com/multiformats/go-multiaddr"
)

// DHTPrefix is the private DHT's protocol prefix: its protocol is
// /braid/kad/1.0.0, which no public (IPFS "amino") DHT node speaks, so
// braid gateways form their own network.
const DHTPrefix protocol.ID = "/braid"

// maxPayload is the largest payload of any kind.
var maxPayload = max(Header.MaxSize(), Body.MaxSize(), Receipts.MaxSize())

// newHost builds the libp2p host. What it leaves out, and why (braid dials
// only the bootstrap peers and the peers of its private DHT, and tells
// peers only the addresses it was configured with):
//
//   - relays (circuit v2 client and service), auto-relay and hole punching:
//     they make the node reachable through, and reach out to, third parties;
//   - NAT port mapping (UPnP, NAT-PMP) and mDNS: they talk to the local
//     network's router and hosts;
//   - AutoNAT probing (reachability is forced public: a gateway's listen or
//     announce addresses are reachable by its peers, or the operator says
//     otherwise) and AutoNAT v2: they ask peers to dial back;
//   - address discovery from what peers observe (identify): peers are told
//     the listen or Announce addresses only;
//   - WebSocket, WebTransport and WebRTC transports: TCP always, QUIC when
//     an address asks for it;
//   - libp2p's own Prometheus metrics (global collectors; braid exports its
//     own).
func newHost(key crypto.PrivKey, p *parsed, lim Limits, g *gate, rm network.ResourceManager) (host.Host, error) {
	cm, err := connmgr.NewConnManager(lim.Peers*3/4, lim.Peers)
	if err != nil {
		return nil, fmt.Errorf("peers: connection manager: %w", err)
	}
	opts := []libp2p.Option{
		libp2p.Identity(key),
		libp2p.ListenAddrs(p.listen...),
		libp2p.Transport(tcp.NewTCPTransport),
		libp2p.Security(noise.ID, noise.New),
		libp2p.Muxer(yamux.ID, yamux.DefaultTransport),
		libp2p.DisableRelay(),
		libp2p.ForceReachabilityPublic(),
		libp2p.DisableIdentifyAddressDiscovery(),
		libp2p.DisableMetrics(),
		libp2p.ResourceManager(rm),
		libp2p.ConnectionManager(cm),
		libp2p.ConnectionGater(g),
		libp2p.UserAgent("braid"),
	}
	if wantsQUIC(p) {
		opts = append(opts, libp2p.Transport(libp2pquic.NewTransport))
	}
	if len(p.announce) > 0 {
		announce := p.announce
		opts = append(opts, libp2p.AddrsFactory(func([]ma.Multiaddr) []ma.Multiaddr { return announce }))
	}
	h, err := libp2p.New(opts...)
	if err != nil {
		return nil, fmt.Errorf("peers: libp2p host: %w", err)
	}
	return h, nil
}

// wantsQUIC reports whether a listen or bootstrap address is QUIC.
func wantsQUIC(p *parsed) bool {
	addrs := append([]ma.Multiaddr{}, p.listen...)
	for _, b := range p.bootstrap {
		addrs = append(addrs, b.Addrs...)
	}
	for _, a := range addrs {
		if strings.Contains(a.String(), "/quic") {
			return true
		}
	}
	return false
}

// minHardStreams is the least per-peer hard cap of content streams.
const minHardStreams = 32

// newResourceManager bounds the host: libp2p's defaults (scaled to the
// machine) with the system's memory set to lim.Memory, and the content
// protocol's streams and memory capped in total and per peer. Streams over
// a cap are reset before any handler runs; report is told of those blocked
// per peer (an offence).
func newResourceManager(lim Limits, report rcmgr.MetricsReporter) (network.ResourceManager, error) {
	scaling := rcmgr.DefaultLimits
	libp2p.SetDefaultServiceLimits(&scaling)
	// A stream may hold one payload of the largest kind in flight, plus
	// the muxer's buffers.
	scaling.StreamBaseLimit.Memory = 2 * int64(maxPayload)
	scaling.AddProtocolLimit(ContentProtocol, rcmgr.BaseLimit{
		StreamsInbound:  2 * lim.Serving,
		StreamsOutbound: 2 * lim.Fetches,
		Streams:         2 * (lim.Serving + lim.Fetches),
		Memory:          lim.ContentMemory,
	}, rcmgr.BaseLimitIncrease{})
	// Per peer, the hard cap stays well above the soft one (StreamsPerPeer,
	// answered busy), so that an honest node configured with a higher
	// StreamsPerPeer than ours is told busy, not reset; a flood is reset.
	perPeer := max(2*lim.StreamsPerPeer, minHardStreams)
	scaling.AddProtocolPeerLimit(ContentProtocol, rcmgr.BaseLimit{
		StreamsInbound:  perPeer,
		StreamsOutbound: perPeer,
		Streams:         2 * perPeer,
		Memory:          max(lim.ContentMemory/4, 2*int64(maxPayload)),
	}, rcmgr.BaseLimitIncrease{})
	limits := rcmgr.PartialLimitConfig{
		System: rcmgr.ResourceLimits{Memory: rcmgr.LimitVal64(lim.Memory)},
	}.Build(scaling.AutoScale())
	rm, err := rcmgr.NewResourceManager(rcmgr.NewFixedLimiter(limits),
		rcmgr.WithMetricsDisabled(), rcmgr.WithMetrics(report))
	if err != nil {
		return nil, fmt.Errorf("peers: resource manager: %w", err)
	}
	return rm, nil
}

// newDHT starts the private DHT on h: its own protocol prefix, server mode
// (a gateway answers DHT queries), the configured bootstrap peers only, no
// value records (braid keeps provider records only), provider records held
// in the bounded store, and, with dial ranges, only addresses inside them.
func newDHT(h host.Host, p *parsed, g *gate, recs *records) (*dht.IpfsDHT, error) {
	opts := []dht.Option{
		dht.ProtocolPrefix(DHTPrefix),
		dht.Mode(dht.ModeServer),
		dht.BootstrapPeers(p.bootstrap...),
		dht.DisableValues(),
		dht.Datastore(recs),
	}
	if p.ranges != nil {
		opts = append(opts, dht.AddressFilter(g.filterAddrs))
	}
	d, err := dht.New(h, opts...)
	if err != nil {
		return nil, fmt.Errorf("peers: DHT: %w", err)
	}
	return d, nil
}

// blockReporter feeds the resource manager's refusals of a peer's
// content streams to the guard as offences.
type blockReporter struct {
	offend func(p peer.ID)
}

var _ rcmgr.MetricsReporter = blockReporter{}

func (blockReporter) AllowConn(network.Direction, bool)      {}
func (blockReporter) BlockConn(network.Direction, bool)      {}
func (blockReporter) AllowStream(peer.ID, network.Direction) {}
func (blockReporter) BlockStream(peer.ID, network.Direction) {}
func (blockReporter) AllowPeer(peer.ID)                      {}
func (blockReporter) BlockPeer(peer.ID)                      {}
func (blockReporter) AllowProtocol(protocol.ID)              {}
func (blockReporter) BlockProtocol(protocol.ID)              {}
func (blockReporter) AllowService(string)                    {}
func (blockReporter) BlockService(string)                    {}
func (blockReporter) BlockServicePeer(string, peer.ID)       {}
func (blockReporter) AllowMemory(int)                        {}
func (blockReporter) BlockMemory(int)                        {}
func (r blockReporter) BlockProtocolPeer(proto protocol.ID, p peer.ID) {
	if proto == ContentProtocol && r.offend != nil {
		r.offend(p)
	}
}
