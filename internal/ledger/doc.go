// Package ledger rewards the peers that keep old and rare chain history
// (issue 16): a bilateral, persisted account with every peer (by libp2p
// peer id), content priced by age and rarity, serving by standing,
// retention audits, and a history.Keeper that keeps what is worth most.
//
// # Why an economy
//
// Peer-to-peer caching alone starves old content: everyone keeps and
// serves what is new and popular, and the long tail dies with the few
// peers that kept everything (BitTorrent's dead torrents; since EIP-4444
// providers prune history too). The remedy is economic: make keeping and
// serving old, rare data pay. The anchors this builds on, as facts:
//
//   - BitTorrent: tit-for-tat — upload to the peers that upload to you —
//     with one optimistic unchoke among four upload slots so newcomers
//     can start. It pays for serving what is wanted now, never for
//     seeding old content.
//   - Bitswap (IPFS): a ledger per peer of bytes sent and received, with a
//     debt ratio sent/(recv+1) deciding whom to serve.
//   - Swarm's SWAP (Bee): bilateral balances in accounting units; a
//     payment threshold (13.5 M units) and a disconnect threshold 25 %
//     above it; debt forgiven over time (a refreshment rate, 4.5 M units
//     per second); prices rising with distance.
//   - Lava: archive requests, for blocks older than latest−127, cost five
//     times a recent one.
//   - Pocket/PATH: archival checks that a node answers for old blocks.
//
// None of them prices rarity, and none audits that a peer really keeps
// what it advertises. braid does both.
//
// # Credit
//
// A credit is worth one byte of new, common content. A delivery is priced
//
//	bytes × age factor × rarity factor
//
// where the age factor is Config.AgeMultiplier (5) for content at least
// Config.AgeDepth (128) blocks deep, else 1, and the rarity factor is
// TargetCopies/copies clamped to [1, RarityCap] (8 and 8): copies are the
// holders a DHT search found, each weighed by its standing, so the only
// copy of old data earns 40 times a common new one. The account of a peer
// (Balance) is what it delivered to this node, priced so, less what this
// node served it (priced by this node's own count of copies), less
// penalties: only content that passed verification is credited
// (Delivered); a lie costs LiePenalty and standing (Lied); a miss — not
// holding what it advertised, or no answer — costs MissPenalty (Missed).
// Debt is forgiven at ForgiveRate per second, as Bee's refreshment; credit
// never decays. Each side keeps its own view (bilateral, as SWAP): nothing
// is settled, nothing is paid.
//
// # Serving by standing
//
// Admit (peers.Ledger) serves at once while fewer than Capacity requests
// are being served and nobody waits. Otherwise requests wait, at most
// MaxWaiting, and each freed slot goes to the waiting request whose peer
// has the highest balance — those who gave more first — except every
// NewcomerEvery-th slot, which goes to the longest-waiting newcomer (a
// peer that has given nothing and taken less than NewcomerCredit):
// BitTorrent's optimistic unchoking, so a new gateway can start. A debtor
// (balance below −DebtLimit, Bee's disconnect threshold) is served only
// from spare capacity: when nobody waits; otherwise it is refused at once
// with peers.CodeLowStanding and a reason giving its balance, the limit
// and how to recover (serve this peer content, or wait for forgiveness).
// So free-riding works only while nobody else is waiting — and, since peer
// ids are free, a newcomer's allowance is what a new identity buys.
//
// # Retention audits
//
// Keeping data, not only serving it on demand, is what earns standing.
// The ledger remembers, per peer, the old content it was found holding
// (the DHT search of every Fetch, through Rank; its own counts of held
// content; deliveries) as claims. At random times (AuditOnce, on the
// injected clock and Rand) it picks a peer and one of its claims of old
// content seen within ClaimTTL, asks the peer for it with a short deadline
// (FetchFrom) and checks the answer against a trusted header (a
// HeaderSource, never a peer): receipts against the header and the
// block's verified transactions. A pass is a delivery (credited as any)
// and raises the peer's standing; missing content, a lie or no answer
// lowers it:
//
//	standing = (1+passed) / (1+passed + AuditWeight·failed + LieWeight·lies + MissWeight·notHeld)
//
// where notHeld counts ordinary fetches the peer answered "not held" for
// content it was found advertising.
//
// Standing weighs a peer's advertisements: in rarity counts (a false
// advertiser does not make rare content look common, which would lower
// its price and stop its repair) and in the order a Fetch asks holders
// (Rank).
//
// # What to keep
//
// Keeper is a history.Keeper whose value of a block is its price per byte
// (age factor × rarity factor, from the last count of its holders:
// SampleOnce counts a few held blocks' holders in the DHT every
// SampleInterval; an old block never counted is valued as the only copy
// until it is, a new one, which the providers still serve, as
// UnknownCopies). With the store full, new and common content is
// evicted first, and a new block worth less than everything it would
// displace is refused. RepairOnce looks at random old blocks this node
// does not hold and fills (Fill) those with fewer than TargetCopies
// copies: the network drifts to cover the long tail instead of
// duplicating the head.
//
// # Running it
//
// Open (persisted in pebble, through go-ethereum's ethdb wrapper) or New
// (memory); pass the Ledger as peers.Options.Ledger and Ranker, its Keeper
// as history.Options.Keeper, its OnStored in history.Options.Notify; Run
// does the audits, counts, repair and flushes. Snapshot is /status/peers,
// Availability the figure braid check prints, and the metrics are
// braid_ledger_*. docs/incentives.md explains the model and the
// simulation (internal/simulation) that compares it with plain
// peer-to-peer and tit-for-tat.
package ledger
