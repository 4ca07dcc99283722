// Package server is braid's client front, HTTP and WebSocket on one
// listener. Over HTTP it reads and bounds request bodies (a refused body
// is read on, boundedly, so its client can read the 413), decodes JSON-RPC
// (single, batch, notification), fans batch members out concurrently to the
// gateway within the batch's answer bound (limits.max_batch_response_bytes,
// counted in the members' order as go-ethereum counts it), writes answers
// with the client's ids straight from the providers' bytes, answers CORS
// preflights when configured, and serves /healthz, /readyz, /status and /metrics. A
// browser's GET / (Accept: text/html) is the status page (page.go):
// server-rendered HTML that its inline script refreshes from /status.
//
// Clients are told apart by address (client.go: the remote IP, or what a
// trusted proxy forwards for) for the per-client caps on filters,
// WebSocket connections and subscriptions.
//
// With Options.Access (internal/access), a request is checked before its
// body is read: its API key (path /{network}/{key} or /{key},
// Authorization: Bearer, X-Api-Key; the same on a WebSocket upgrade) or a
// 401/403; then each message's calls are counted against its key's and
// its address's limits (429, Retry-After, -32005; over WebSocket per
// call, the connection staying open), and each call passes the key's
// method lists and the network's fair admission (access.go). A revoked
// key's WebSocket connections are closed with 1008. The in-process
// clients of library mode (net.Pipe connections) are not checked.
//
// A GET with a WebSocket upgrade on / (the first network) or /{network} is
// a JSON-RPC connection to that network: every message is answered as the
// same HTTP body would be (concurrently, so answers may come out of order),
// and eth_subscribe / eth_unsubscribe are served there, with notifications
// sent as eth_subscription messages. Each connection is bounded
// (config.WebSocket): a read limit (close 1009), one send queue drained by
// one writer (a client that lets it fill is closed with 1008, so memory
// stays bounded), pings with a pong deadline, and a cap on subscriptions;
// the server caps connections (HTTP 503 beyond). CloseWebSockets ends
// every connection with 1001, and Serve calls it on shutdown.
package server
