// Package archive is a network's history stage (issue 15): it answers the
// calls about old blocks that every usable provider has pruned
// (go-ethereum's 4444 "pruned history unavailable", other nodes' pruned
// or not-available answers) or that no provider answered at all — from
// the network's history store (internal/history), then from peers
// (internal/peers) — rendered locally exactly as a go-ethereum node renders
// them (internal/ethjson).
//
// An Archive owns a network's store, its peer node, its peer ledger
// (internal/ledger) and the background filler of the keep range. Every
// block it serves is checked against a header from braid's own trusted
// path — the verified reader (internal/trust, through the Reader
// interface): the served tip, EIP-2935 proofs back from it, a walk of
// parent hashes, or the header of a hash — so a peer can never make braid
// serve what it did not verify. Lookups by transaction hash, which a
// pruned node answers with null, are answered from the store's
// transaction index.
//
// The executor (internal/gateway) calls Answer after the providers'
// answer; the stage never imports the gateway. What the verified reader
// checked for clients is handed to VerifiedBody and VerifiedReceipts
// (trust.Verified), which store it in the background (keep.go: bounded by
// a queue and the store's byte bound, no extra upstream call).
package archive
