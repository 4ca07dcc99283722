// Package upstream owns one provider endpoint: its HTTP transport (a
// keep-alive pool of its own, bodies sent whole with Content-Length; the
// h1 client for a plain http:// URL without a proxy, net/http's for the
// rest), its recent health (latency and error rate), its request-rate
// budget, its throttling by the provider, and whether it may be used at
// all (chain id verified, not quarantined).
//
// Upstream knows nothing of other upstreams; choosing between them is the
// route package's job.
package upstream
