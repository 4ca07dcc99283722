// Package simulation runs braid's peer economy in one process, with no
// network, at internet scale (1,000–10,000 peers): churn, limited stores,
// Zipf-skewed demand, free riders, liars and peers that advertise content
// they do not keep. It compares three regimes over simulated time:
//
//   - None: plain peer-to-peer. Peers cache what they fetch (least
//     recently used goes first), serve whoever asks first, ask holders in
//     the order found.
//   - TitForTat: bitswap/BitTorrent-style reciprocity. The same ledger
//     code as braid's, with a flat price (no age or rarity factor), no
//     audits and no repair: serving by balance, caching by recency.
//   - Braid: braid's ledger as the gateway runs it: price by age × rarity,
//     serving by standing, retention audits, holders ranked by standing,
//     the pricing history.Keeper deciding what stays, repair of rare old
//     blocks with spare room.
//
// Every decision the regimes differ in is made by the real code, not a
// copy: ledger.Ledger's Request/Ticket queue (Admit's), Delivered, Lied,
// Missed, Served, Rank, AuditOnce, SampleOnce, RepairOnce, and the
// Keeper's Value (history.LRU for the others). What is simulated is the
// world around them: the chain (synthetic empty blocks whose content
// passes the real checks), the DHT (who advertises what), the stores
// (a bounded set of blocks evicted by history.Store's own rule,
// history.EvictionOrder, in the Keeper's values), the providers (they
// serve blocks less than ProviderDepth deep), the network (a transfer is a function call),
// time (a fake clock, one block per step) and the peers' behaviour.
//
// Run returns the series the report needs — old content retrievable,
// holders per block by age, load on archival peers, what free riders and
// false advertisers got — and WriteCSV and WritePlots write them
// (docs/incentives/). `braid sim` is the command.
package simulation
