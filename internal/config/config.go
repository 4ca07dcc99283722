// Package config owns braid's configuration: the YAML schema, strict
// decoding (unknown keys are errors with their line), ${ENV} expansion,
// defaults, and Validate with messages a user can act on.
package config

import "time"

// Config is a whole braid configuration file.
type Config struct {
	// Listen is the address the HTTP (and later WebSocket) endpoint binds.
	Listen   string    `yaml:"listen"`
	Limits   Limits    `yaml:"limits"`
	Networks []Network `yaml:"networks"`
}

// Limits bound what one client request may cost.
type Limits struct {
	// MaxBodyBytes caps a request body; larger bodies get HTTP 413.
	MaxBodyBytes int64 `yaml:"max_body_bytes"`
	// MaxBatch caps the number of calls in one batch.
	MaxBatch int `yaml:"max_batch"`
	// RequestTimeout is the whole-request deadline, across every attempt.
	RequestTimeout time.Duration `yaml:"request_timeout"`
	// MaxAttempts caps how many upstreams one call may be tried on.
	MaxAttempts int `yaml:"max_attempts"`
	// MaxResponseBytes caps an upstream answer braid will read.
	MaxResponseBytes int64 `yaml:"max_response_bytes"`
	// ShutdownTimeout is how long in-flight requests get to finish on
	// SIGINT/SIGTERM.
	ShutdownTimeout time.Duration `yaml:"shutdown_timeout"`
}

// Network is one chain served at POST /{name}. The first network is also
// served at POST /.
type Network struct {
	Name    string  `yaml:"name"`
	ChainID uint64  `yaml:"chain_id"`
	Methods Methods `yaml:"methods"`
	// Upstreams are the providers of this network.
	Upstreams []Upstream `yaml:"upstreams"`
}

// Methods is an opt-in allow/deny policy. By default every method is
// forwarded. With Allow set, only those methods are served; Deny always
// wins. Entries are method names or prefixes ending in "*" (e.g. "debug_*").
type Methods struct {
	Allow []string `yaml:"allow"`
	Deny  []string `yaml:"deny"`
}

// Upstream is one provider endpoint.
type Upstream struct {
	Name string `yaml:"name"`
	// URL is the HTTP(S) JSON-RPC endpoint. It often embeds an API key, so
	// braid never logs or shows more than its scheme and host.
	URL string `yaml:"url"`
	// WSURL is the optional WebSocket endpoint of the same provider.
	WSURL string `yaml:"ws_url"`
	// Operator names who runs this endpoint. Two URLs of one company are
	// one operator; quorum and the centralization report count operators.
	Operator string `yaml:"operator"`
	// Timeout bounds one attempt on this upstream.
	Timeout time.Duration `yaml:"timeout"`
	// RPS is a request-per-second budget braid never exceeds on this
	// upstream (0: unlimited). Burst is the bucket size (default: RPS
	// rounded up, at least 1).
	RPS   float64 `yaml:"rps"`
	Burst int     `yaml:"burst"`
	// MaxIdleConns is the keep-alive pool size for this upstream.
	MaxIdleConns int `yaml:"max_idle_conns"`
}

// Defaults used when a field is left out.
const (
	DefaultListen           = "127.0.0.1:8545"
	DefaultMaxBodyBytes     = 5 << 20
	DefaultMaxBatch         = 1000
	DefaultRequestTimeout   = 30 * time.Second
	DefaultMaxAttempts      = 4
	DefaultMaxResponseBytes = 128 << 20
	DefaultShutdownTimeout  = 15 * time.Second
	DefaultUpstreamTimeout  = 10 * time.Second
	DefaultMaxIdleConns     = 64
)
