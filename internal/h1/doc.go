// Package h1 is braid's own HTTP/1.1 client for plain-http upstreams (a
// local node, a sidecar): it POSTs a JSON-RPC body and reads the whole
// answer in the caller's goroutine over a kept-alive connection, so a call
// parks once, in the netpoller, instead of handing its request to one
// goroutine and its answer back from another as net/http's client does.
//
// It keeps a LIFO stack of idle connections per Client, closes those idle
// longer than the idle timeout, and retries once on a fresh connection when
// a reused one turns out to have been closed by the server before any byte
// of the answer arrived. It reads Content-Length, chunked and
// read-to-EOF bodies, never more than the caller's limit plus one byte, and
// decodes a gzip answer, though it never asks for one.
//
// It deliberately does not do TLS, HTTP/2, proxies, redirects (a 3xx is
// returned as a status like any other), cookies, Expect: 100-continue,
// Accept-Encoding, or any method but POST: https and proxied upstreams use
// net/http's client. Its errors never show the URL, the path or the
// upstream's address.
package h1
