// Package cache keeps JSON-RPC answers braid may serve again: the Store
// interface and a byte-bounded in-memory store; the gateway decides what is
// cacheable and for how long, Redis-backed stores live with the replica
// state.
package cache
