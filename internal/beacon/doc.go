// Package beacon is braid's trust root for trust: beacon: one sync-committee
// light client per network, built from go-ethereum's beacon/light pieces
// (committee chain, head tracker, checkpoint init, forward update sync,
// head sync, request scheduler and servers) over several beacon APIs at
// once, each with its own headers.
//
// A head counts only with a supermajority (≥ 342 of 512) of the sync
// committee's BLS signatures; its execution block hash is then the trusted
// tip, whichever operators say otherwise. braid adds to go-ethereum what a
// gateway needs: heads older than max_head_age are refused and make the
// client not ready (go-ethereum only logs them); heads from the future are
// refused; an endpoint serving a forged signature or a bad proof is
// quarantined; the execution block number is exposed with the hash; the
// last finalized checkpoint is persisted and reused on restart; readiness,
// status and metrics explain every refusal without leaking an endpoint's
// URL path, query, userinfo or headers.
//
// Usage: c, err := New(cfg); c.Start(); then Head, Finalized, Ready,
// Status and Watch; Close at the end.
package beacon
