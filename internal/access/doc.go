// Package access decides who may call braid and how much: API keys,
// limits per key and per client address, and fair admission of callers to
// each network.
//
// Keys are long random strings with a recognisable prefix (bk_), kept only
// as their SHA-256 (config.HashAPIKey) and shown only by name and a short
// id taken from that hash: a key is never logged, displayed or put in an
// error. They come from the configuration (keys:), and from a Store that
// `braid keys` manages: a JSON file, or Redis shared by every replica. The
// Keyring polls its store four times a second, so a revoked key stops
// working on every replica within a second.
//
// A Control checks each request: Identify finds its key (path segment,
// Authorization: Bearer or X-Api-Key, see Presented) or refuses it with
// HTTP 401; Charge takes the request's calls from its key's and its
// address's buckets (calls per second with bursts, credits per UTC day by
// method weight) or refuses it with HTTP 429 and -32005; Permit applies
// the key's method lists; Admit queues calls fairly when a network has
// auth.max_inflight calls running. The Limiter counts in Redis when the
// replicas share one (one script per request, so every replica enforces
// one limit), and in memory while Redis is unreachable: then each replica
// enforces the whole limit on its own, so a cluster of N replicas may
// allow up to N times a limit until Redis is back.
package access
