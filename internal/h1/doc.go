// Package h1 is braid's own HTTP/1.1, on both sides of a plain JSON-RPC
// POST: the client braid calls plain-http upstreams with (a local node, a
// sidecar), and the server its clients' POSTs arrive at. Each side keeps a
// call in one goroutine, which parks once in the netpoller per read,
// instead of handing the call between goroutines as net/http does.
//
// The client POSTs a JSON-RPC body and reads the whole answer in the
// caller's goroutine over a kept-alive connection. It keeps a LIFO stack
// of idle connections per Client, closes those idle longer than the idle
// timeout, and retries once on a fresh connection when a reused one turns
// out to have been closed by the server before any byte of the answer
// arrived. It reads Content-Length, chunked and read-to-EOF bodies, never
// more than the caller's limit plus one byte, and decodes a gzip answer,
// though it never asks for one. It deliberately does not do TLS, HTTP/2,
// proxies, redirects (a 3xx is returned as a status like any other),
// cookies, Expect: 100-continue, Accept-Encoding, or any method but POST:
// https and proxied upstreams use net/http's client. Its errors never
// show the URL, the path or the upstream's address.
//
// The Server answers an HTTP/1.1 POST with one Host and a Content-Length
// (nothing chunked, nothing to upgrade or continue) in the connection's
// goroutine, parsing its head with net/http's own parser. It starts no
// goroutine per request: net/http's server starts one to watch for the
// client leaving and wakes it at every request's end, which on a
// one-connection client was most of the difference between the two. This
// one watches only a call that has run for a few milliseconds. Every other
// request — GET, WebSocket, HTTP/1.0, chunked, a head that does not parse
// — hands its connection to a net/http server for good, with the bytes
// already read, so that net/http answers it exactly as before.
package h1
