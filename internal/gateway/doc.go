// Package gateway runs braid's request path for each configured network:
// plan the call, answer it locally where braid can, otherwise execute it
// through the network's router, and turn every outcome into a JSON-RPC
// response. It owns the per-network runtime (upstreams, router, remembered
// static answers, sticky filters) and the start-up chain-id checks.
//
// The HTTP front (package server) and the library API both drive it.
package gateway
