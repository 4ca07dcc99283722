// Package gateway runs braid's request path for each configured network.
// execute.go is the one executor every call goes through (HTTP and
// WebSocket alike): plan the call, read the served tip once and pin the
// call to it, answer from the cache or merge it with identical calls in
// flight (package merge), then exactly one stage answers it (strict mode
// in package strict over the verified reader in package trust, a quorum
// of operators in package quorum, or the router in package route; then
// the history stage in package archive) and the cache keeps what it may.
// Stages live in their own packages and never import this one.
//
// The package also wires each network's runtime (upstreams, router, head
// tracker or beacon root, block stream, operator standing, replica sync)
// in gateway.go and wire.go, and assembles status from the snapshots
// package status builds. The HTTP front (package server) and the library
// API both drive it.
package gateway
