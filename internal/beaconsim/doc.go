// Package beaconsim is an offline beacon-chain light-client API for the demo
// and tests: an http.Handler serving the endpoints go-ethereum's
// beacon/light/api client and braid's internal/beacon use (bootstrap,
// updates, optimistic and finality updates, beacon headers and the
// /eth/v1/events stream). Its sync committee is 512 deterministic BLS keys
// per sync period that really sign each beacon header; each beacon header's
// body commits, through a Merkle branch, to an execution payload header
// built from a real execution block the caller feeds in (Sim.AddBlock).
//
// Slot s starts at GenesisTime + s × SlotDuration on the injected clock. A
// fed block takes the current slot, or the next free one if the current slot
// already has a block. Several API views (Sim.NewAPI) share one chain and
// differ only in their faults: a forged signature, too few signers, a frozen
// (stale) head, or being down.
//
// To drive it from a devnet: make a Sim with the devnet's block time as
// SlotDuration, feed the current head (the anchor, whose root
// Sim.Checkpoint returns), then feed every new head as it is sealed. A light
// client takes beacon.NetworkFromChainConfig(name, sim.ChainConfig(),
// sim.SlotDuration()) and that checkpoint; see Example.
//
// The beacon state and block body are sparse: only the leaves a light client
// proves (current and next sync committee, finalized checkpoint, execution
// payload) are real; every other subtree is zero. The execution payload
// header carries the fed block's hash, number, parent, roots, gas, time,
// base fee and blob gas; its transactions_root and withdrawals_root hold the
// execution trie roots, not SSZ list roots (nobody proves them here).
package beaconsim
