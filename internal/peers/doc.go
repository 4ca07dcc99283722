// Package peers makes braid gateways a peer-to-peer network that keeps
// chain history alive: each gateway serves the verified headers, bodies
// and receipts its history store holds, announces them in a private DHT,
// and fetches what it lacks from the peers holding it, checking every byte
// against a header from its own trusted path before using it. A peer can
// make braid waste a request, never accept content it did not verify.
//
// # Transport
//
// A Node is a libp2p host (TCP; QUIC when an address asks for it; Noise,
// yamux) with a persistent identity (LoadIdentity: an Ed25519 key in a
// 0600 file, created on first run) in a Kademlia DHT of its own
// (go-libp2p-kad-dht with protocol prefix /braid, server mode, provider
// records only). It dials the configured bootstrap peers and the peers of
// that DHT, nothing else: relays, hole punching, NAT port mapping, mDNS,
// AutoNAT probes and address discovery are off (newHost lists what and
// why). Options.Allow restricts it to a list of peer ids (the connection
// gater refuses any other, both ways) and Options.DialRanges to networks
// it may dial (tests: 127.0.0.0/8).
//
// Content travels over ContentProtocol (/braid/content/1), one request
// and one response per stream:
//
//	request:  kind (1 byte: 1 header, 2 body, 3 receipts) ‖ block hash (32 bytes)
//	response: code (1 byte) ‖ length (uvarint) ‖ payload
//
// The payload is the content in canonical RLP (receipts in go-ethereum's
// storage encoding), for CodeEvicted the time the holder evicted it from
// its bounded store (8 bytes, Unix seconds: its provider record may
// outlive the content by the DHT's 48 h; a Holder that is an Evictor,
// as history.Store is, answers so within its tombstone window), or, for
// any other code, a short reason: CodeNotHeld, CodeBusy (over a limit:
// back off), CodeLowStanding (issue 16: served only from spare capacity,
// the requester's balance is below the threshold) or CodeError.
//
// # Content and the DHT
//
// A Key is a Kind of a block, by hash; its CID (Key.CID) is a keccak-256
// multihash of the kind and the hash (the DHT keys records by multihash,
// so the kind must be in it). Provide announces keys (OnStored adapts
// history.Options.Notify) from a bounded queue, a few at a time, retrying
// failures and announcing everything again before records expire;
// Withdraw stops. Fetch finds holders (FindHolders, bounded in count and
// time), asks them one after another — peers that delivered before first,
// peers that lied last, busy ones again after a backoff — and hands each
// payload to the caller's Check (CheckHeader, CheckBody, CheckReceipts,
// or a history store's verifying Put…RLP). A payload that fails it (IsLie)
// is dropped, recorded as the peer's lie and the next holder asked; a
// peer that does not hold it, is busy or dies mid-transfer is recorded
// and the next asked. The Holder interface (history.Store satisfies it)
// is what a node serves.
//
// # Limits
//
// No peer can grow a node's memory or make it serve beyond its limits
// (Limits, with defaults): a request is 33 bytes read under a deadline; a
// response is bounded by its kind's MaxSize (16 MiB bodies and receipts,
// 64 KiB headers) before its payload is read, and the payload buffer grows
// with what arrives, not with what the peer claims; payloads in flight are
// reserved in libp2p's resource manager, which also caps the content
// streams in total and per peer; each peer has a request token bucket and
// a stream cap (on the injected clock), checked before anything is read;
// DHT provider records kept for others are bounded in bytes; the maps of
// per-peer state are bounded. Offences (floods past a burst of debt,
// malformed frames, lies, oversized responses) add to a decaying score;
// at its threshold the peer is disconnected and refused for a while.
// Fetch keeps to the same limits towards others and backs off when told
// busy, so an honest node is never banned.
//
// # Accounting (the seams for issue 16)
//
// Every transfer, both ways, is a Transfer: peer, direction, key, result
// (verified, lie, not held, refused, failed, served), bytes, the content's
// Age when known, the number of holders the DHT found (its rarity) and
// latency. The node records them in its Tally (per-peer counts for status
// and for ordering holders) and hands them to Options.Ledger, whose Admit
// also decides, before a request is served, whether to serve it now, queue
// it or refuse it with a code and reason: serving by standing plugs in
// there without changing this package. Options.Ranker (the ledger again)
// orders the holders a Fetch found before they are asked, and so learns who
// advertises what; FetchFrom asks one named peer without a DHT search (a
// retention audit of content it advertised). Status is the node's state for
// /status (peers, addresses, latency, transfers, lies, keys announced);
// the metrics are braid_peers, braid_peer_transfers_total{direction,kind,
// result}, braid_peer_bytes_total{direction}, braid_peer_bans_total,
// braid_peer_provided_keys and braid_peer_dht_record_bytes.
package peers
