// Package server is braid's HTTP front: it reads and bounds request bodies,
// decodes JSON-RPC (single, batch, notification), fans batch members out
// concurrently to the gateway, writes answers with the client's ids, and
// serves /healthz and /metrics.
package server
