// Package config owns braid's configuration: the YAML schema, strict
// decoding (unknown keys are errors with their line), ${ENV} expansion,
// defaults, and Validate with messages a user can act on.
package config

import "time"

// Config is a whole braid configuration file.
type Config struct {
	// Listen is the address the HTTP and WebSocket endpoint binds.
	Listen    string    `yaml:"listen"`
	Limits    Limits    `yaml:"limits"`
	WebSocket WebSocket `yaml:"websocket"`
	Filters   Filters   `yaml:"filters"`
	// TrustedProxies are the addresses (IPs or CIDR prefixes) of proxies
	// in front of braid whose X-Forwarded-For header it believes when it
	// tells clients apart for the per-client caps. Empty: a client is the
	// remote address of its connection, and X-Forwarded-For is ignored.
	TrustedProxies []string  `yaml:"trusted_proxies"`
	CORS           CORS      `yaml:"cors"`
	Cache          Cache     `yaml:"cache"`
	Redis          Redis     `yaml:"redis"`
	Networks       []Network `yaml:"networks"`

	// Auth and Keys are API keys and the limits on callers (auth.go).
	Auth Auth     `yaml:"auth"`
	Keys []APIKey `yaml:"keys"`
}

// Cache keeps answers by finality: answers about a block hash, a finalized
// block, or a final transaction until evicted; answers about the tip only
// while that block is the served tip.
type Cache struct {
	// Backend is "memory" (the default without redis.url), "redis" (the
	// default with it: shared by every replica, with a local copy in
	// memory in front) or "off".
	Backend string `yaml:"backend"`
	// MaxBytes bounds the in-memory cache, counting keys, answers and
	// bookkeeping.
	MaxBytes int64 `yaml:"max_bytes"`
	// MaxEntryBytes: larger answers are not cached.
	MaxEntryBytes int64 `yaml:"max_entry_bytes"`
	// TipTTL bounds how long an answer about the tip is kept. It is only
	// ever served while its block is the served tip; the TTL frees the
	// memory.
	TipTTL time.Duration `yaml:"tip_ttl"`
	// FinalTTL is how long Redis keeps an answer that cannot change (memory
	// keeps it until evicted).
	FinalTTL time.Duration `yaml:"final_ttl"`
}

// Cache backends.
const (
	CacheMemory = "memory"
	CacheRedis  = "redis"
	CacheOff    = "off"
)

// Redis is the server that replicas of one deployment share: the cache,
// upstream rate budgets, strikes and quarantines, and the served tip.
// Losing it degrades each replica to its own memory, never to errors.
type Redis struct {
	// URL is redis://[user:password@]host:port[/db] or rediss:// for TLS.
	// Empty: no sharing. It may hold a password: braid never shows more
	// than its scheme and host.
	URL string `yaml:"url"`
	// Prefix namespaces every key; replicas of one deployment share it.
	Prefix string `yaml:"prefix"`
	// Timeout bounds one Redis operation; a slower one counts as Redis
	// being unreachable.
	Timeout time.Duration `yaml:"timeout"`
}

// WebSocket bounds the WebSocket endpoint (ws://host/ and ws://host/{network}
// on the same listener as HTTP).
type WebSocket struct {
	// MaxConnections caps open WebSocket connections; the next upgrade
	// gets HTTP 503.
	MaxConnections int `yaml:"max_connections"`
	// MaxSubscriptions caps eth_subscribe subscriptions per connection.
	MaxSubscriptions int `yaml:"max_subscriptions"`
	// MaxConnectionsPerClient and MaxSubscriptionsPerClient cap the same
	// per client address (see TrustedProxies), so that no one client can
	// take what every client shares.
	MaxConnectionsPerClient   int `yaml:"max_connections_per_client"`
	MaxSubscriptionsPerClient int `yaml:"max_subscriptions_per_client"`
	// MaxMessageBytes caps one incoming message; a larger one closes the
	// connection with status 1009 (message too big).
	MaxMessageBytes int64 `yaml:"max_message_bytes"`
	// SendBuffer is how many answers and notifications may wait to be
	// written to one connection. A client that lets it fill is too slow:
	// it is disconnected with status 1008 and a reason, so memory stays
	// bounded.
	SendBuffer int `yaml:"send_buffer"`
	// PingInterval is how often an idle connection is pinged; a pong must
	// arrive within PingTimeout or the connection is closed.
	PingInterval time.Duration `yaml:"ping_interval"`
	PingTimeout  time.Duration `yaml:"ping_timeout"`
	// WriteTimeout bounds writing one message to the client.
	WriteTimeout time.Duration `yaml:"write_timeout"`
}

// Filters bound the filters braid keeps itself (eth_newFilter,
// eth_newBlockFilter, eth_newPendingTransactionFilter).
type Filters struct {
	// Idle is how long a filter nobody polls is kept.
	Idle time.Duration `yaml:"idle"`
	// Max caps installed filters per network.
	Max int `yaml:"max"`
	// MaxPerClient caps the filters one client address installs per
	// network.
	MaxPerClient int `yaml:"max_per_client"`
	// MaxChanges caps the changes one filter holds between two polls; a
	// filter that overflows is dropped (its next poll gets "filter not
	// found") rather than silently losing entries.
	MaxChanges int `yaml:"max_changes"`
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
	// MaxBatchResponseBytes bounds the answers of one batch: once the
	// answers of its first members pass it, the members after them are
	// answered with an error (and those not started yet never start).
	MaxBatchResponseBytes int64 `yaml:"max_batch_response_bytes"`
	// ShutdownTimeout is how long in-flight requests get to finish on
	// SIGINT/SIGTERM.
	ShutdownTimeout time.Duration `yaml:"shutdown_timeout"`
}

// CORS lets browser pages of other origins call braid. It is off unless
// Origins is set.
type CORS struct {
	// Origins are the allowed origins ("https://app.example.com"), with at
	// most one "*" standing for any run of characters
	// ("https://*.example.com"); "*" alone allows every origin.
	Origins []string `yaml:"origins"`
	// MaxAge is how long a browser may cache a preflight's answer.
	MaxAge time.Duration `yaml:"max_age"`
}

// Network is one chain served at POST /{name}. The first network is also
// served at POST /.
type Network struct {
	Name    string  `yaml:"name"`
	ChainID uint64  `yaml:"chain_id"`
	Methods Methods `yaml:"methods"`
	Head    Head    `yaml:"head"`
	Hedge   Hedge   `yaml:"hedge"`
	Breaker Breaker `yaml:"breaker"`
	Quorum  Quorum  `yaml:"quorum"`
	Strikes Strikes `yaml:"strikes"`
	Require Require `yaml:"require"`
	Verify  Verify  `yaml:"verify"`
	// Trust says where the served tip comes from (operators or a beacon
	// light client); see trust.go.
	Trust Trust `yaml:"trust"`
	// Peers shares verified history with other braid gateways (off by
	// default).
	Peers Peers `yaml:"peers"`
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
	// Archive says the upstream keeps all historical state. Others are
	// assumed to hold everything until their errors teach braid their
	// depth.
	Archive bool `yaml:"archive"`
}

// Head configures how braid follows each upstream's chain head and agrees
// on the tip it serves.
type Head struct {
	// PollInterval is how often each upstream is asked for its latest,
	// safe and finalized blocks (one batched request).
	PollInterval time.Duration `yaml:"poll_interval"`
	// MinOperators is how many distinct operators must hold a block hash
	// before braid serves it as the tip. 0 means a majority of the
	// network's operators.
	MinOperators int `yaml:"min_operators"`
	// MaxLagBlocks is how far behind the tip an upstream may be and still
	// get requests that do not name an older block.
	MaxLagBlocks uint64 `yaml:"max_lag_blocks"`
	// StallAfter is how long the highest head a usable upstream reports
	// may stay above the served tip, with the tip not moving, before the
	// tip counts as stalled (a WARN, /readyz 503). 0 means the longer of
	// 30s and five poll intervals.
	StallAfter time.Duration `yaml:"stall_after"`
}

// Hedge configures hedged reads: when the chosen upstream has not answered
// after an adaptive delay, the same read also goes to the next upstream and
// the first good answer wins.
type Hedge struct {
	// Enabled turns hedging on (the default) or off.
	Enabled *bool `yaml:"enabled"`
	// Percentile of the upstream's recent latency for the method class
	// after which a hedge is sent (0 < p < 1).
	Percentile float64 `yaml:"percentile"`
	// MinDelay and MaxDelay clamp the adaptive delay.
	MinDelay time.Duration `yaml:"min_delay"`
	MaxDelay time.Duration `yaml:"max_delay"`
	// MaxExtra caps the hedged requests added to one call.
	MaxExtra int `yaml:"max_extra"`
}

// On reports whether hedging is enabled.
func (h Hedge) On() bool { return h.Enabled == nil || *h.Enabled }

// Breaker configures the per-upstream circuit breaker.
type Breaker struct {
	// Failures within Window open the breaker.
	Failures int           `yaml:"failures"`
	Window   time.Duration `yaml:"window"`
	// OpenFor is how long an open breaker refuses requests before letting
	// a probe through (half-open).
	OpenFor time.Duration `yaml:"open_for"`
	// Successes in half-open close the breaker again.
	Successes int `yaml:"successes"`
}

// Quorum makes reads agree across distinct operators: a quorum read is
// pinned to one block, asked of K operators, and answered only when K of
// them return the same (normalised) answer.
type Quorum struct {
	// K is how many distinct operators must agree (default 1: off).
	K int `yaml:"k"`
	// OnDispute is what braid does when the operators asked disagree and
	// no K of them agree: "error" (default) or "majority" (the answer of a
	// strict majority of the operators that answered, else an error).
	OnDispute string `yaml:"on_dispute"`
	// OnShortfall is what braid does when fewer than K operators can
	// answer: "error" (default) or "best_effort" (answer with what agrees,
	// flagged in the Braid-Quorum response header).
	OnShortfall string `yaml:"on_shortfall"`
	// Methods overrides K and adds ignore_fields per method name (e.g.
	// "eth_getLogs") or per method group ("state", "call", "block", "tx",
	// "logs"). A method entry wins over its group's.
	Methods map[string]MethodQuorum `yaml:"methods"`
}

// MethodQuorum is the quorum policy of one method or method group.
type MethodQuorum struct {
	// K overrides the network's k (0: the network's).
	K int `yaml:"k"`
	// IgnoreFields are object keys left out when answers are compared,
	// at any depth (e.g. a field some clients add and others do not).
	IgnoreFields []string `yaml:"ignore_fields"`
}

// Quorum policies.
const (
	OnDisputeError        = "error"
	OnDisputeMajority     = "majority"
	OnShortfallError      = "error"
	OnShortfallBestEffort = "best_effort"
)

// Verify configures verified reads: answers checked against block
// headers braid trusts (Merkle proofs, transaction and receipt roots).
type Verify struct {
	// Mode is "off" (default: answers are not checked) or "strict" (only
	// checked answers are returned; methods braid cannot check are refused
	// unless listed in AllowUnverified).
	Mode string `yaml:"mode"`
	// AllowUnverified are methods served unchecked in strict mode (names
	// or prefixes ending in "*").
	AllowUnverified []string `yaml:"allow_unverified"`
	// MaxLogRange is the largest eth_getLogs range (in blocks) whose
	// completeness is checked: every block whose bloom may match has its
	// receipts verified, so a dropped log is caught. Larger ranges get
	// every returned log checked, but not completeness.
	MaxLogRange uint64 `yaml:"max_log_range"`
	// HeaderCache bounds the verified headers kept in memory.
	HeaderCache int `yaml:"header_cache"`
	// HistoryHops bounds how far back braid establishes a block's hash
	// through the EIP-2935 history contract: each hop reaches 8191 blocks
	// further from the tip.
	HistoryHops int `yaml:"history_hops"`
	// ParentWalk bounds how many headers braid walks back by parent hash
	// from a trusted header to reach a block the history contract cannot
	// name (before Prague, or further back than HistoryHops reach), and
	// the ancestors BLOCKHASH needs before Prague.
	ParentWalk int `yaml:"parent_walk"`
	// EVM configures the local EVM that answers eth_call, eth_estimateGas
	// and eth_createAccessList over proven state in strict mode.
	EVM EVM `yaml:"evm"`
}

// EVM configures strict mode's local EVM.
type EVM struct {
	// Enabled runs calls on the local EVM (the default in strict mode);
	// false refuses them unless verify.allow_unverified names them.
	Enabled *bool `yaml:"enabled"`
	// GasCap caps the gas of a call and of gas estimation, as geth's
	// --rpc.gascap does.
	GasCap uint64 `yaml:"gas_cap"`
	// Timeout bounds one eth_call's execution, state fetched on demand
	// included, as geth's --rpc.evmtimeout does.
	Timeout time.Duration `yaml:"timeout"`
	// ChainConfig is a file holding the chain's go-ethereum chain
	// configuration (a genesis file, or its "config" object), for a chain
	// without a preset (mainnet, Sepolia, Holešky, Hoodi and go-ethereum's
	// dev chain 1337 have one).
	ChainConfig string `yaml:"chain_config"`
}

// On reports whether the local EVM answers calls (strict mode only).
func (e EVM) On() bool { return e.Enabled == nil || *e.Enabled }

// Verify modes.
const (
	VerifyOff    = "off"
	VerifyStrict = "strict"
)

// Strict reports whether answers must be verified.
func (v Verify) Strict() bool { return v.Mode == VerifyStrict }

// Strikes configures how operators caught lying are taken out of use. An
// operator whose answer loses a dispute gets a strike; Max strikes within
// Window quarantine all its upstreams for Quarantine.
type Strikes struct {
	Max        int           `yaml:"max"`
	Window     time.Duration `yaml:"window"`
	Quarantine time.Duration `yaml:"quarantine"`
}

// Require states how decentralised the network's access must be; `braid
// check` exits non-zero when the configuration does not meet it.
type Require struct {
	// Availability is the fewest operators whose loss may stop service.
	Availability int `yaml:"availability"`
	// Integrity is the fewest colluding operators able to make braid
	// return a wrong answer.
	Integrity int `yaml:"integrity"`
}

// Defaults used when a field is left out.
const (
	DefaultListen           = "127.0.0.1:8545"
	DefaultMaxBodyBytes     = 5 << 20
	DefaultMaxBatch         = 1000
	DefaultRequestTimeout   = 30 * time.Second
	DefaultMaxAttempts      = 4
	DefaultMaxResponseBytes = 128 << 20
	// DefaultMaxBatchResponseBytes is go-ethereum's default
	// (--rpc.batch-response-max-size), so a batch a geth node answers in
	// full braid answers in full too.
	DefaultMaxBatchResponseBytes = 25_000_000
	DefaultShutdownTimeout       = 15 * time.Second
	DefaultUpstreamTimeout       = 10 * time.Second
	DefaultMaxIdleConns          = 64

	DefaultWSMaxConnections   = 10000
	DefaultWSMaxSubscriptions = 128
	// Per client address: a tenth of max_connections, and what about
	// eight connections' full share of subscriptions comes to.
	DefaultWSMaxConnectionsPerClient   = 1000
	DefaultWSMaxSubscriptionsPerClient = 1000
	DefaultWSMaxMessageBytes           = 5 << 20
	DefaultWSSendBuffer                = 4096
	DefaultWSPingInterval              = 30 * time.Second
	DefaultWSPingTimeout               = 10 * time.Second
	DefaultWSWriteTimeout              = 10 * time.Second

	DefaultCacheMaxBytes      = 256 << 20
	DefaultCacheMaxEntryBytes = 4 << 20
	DefaultCacheTipTTL        = time.Minute
	DefaultCacheFinalTTL      = 24 * time.Hour
	DefaultRedisPrefix        = "braid"
	DefaultRedisTimeout       = 250 * time.Millisecond

	DefaultFilterIdle = 5 * time.Minute
	DefaultFilterMax  = 10000
	// A tenth of filters.max: filling the table takes ten addresses.
	DefaultFilterMaxPerClient = 1000
	DefaultFilterMaxChanges   = 10000

	DefaultCORSMaxAge = 10 * time.Minute // go-ethereum's

	DefaultPollInterval    = 2 * time.Second
	DefaultMaxLagBlocks    = 5
	DefaultHedgePercentile = 0.9
	DefaultHedgeMinDelay   = 20 * time.Millisecond
	DefaultHedgeMaxDelay   = 2 * time.Second
	DefaultHedgeMaxExtra   = 1
	DefaultBreakerFailures = 5
	DefaultBreakerWindow   = 30 * time.Second
	DefaultBreakerOpenFor  = 10 * time.Second
	DefaultBreakerSuccess  = 2

	DefaultQuorumK          = 1
	DefaultStrikesMax       = 3
	DefaultStrikesWindow    = 10 * time.Minute
	DefaultStrikeQuarantine = 30 * time.Minute

	DefaultMaxLogRange = 1000
	DefaultHeaderCache = 8192
	DefaultHistoryHops = 4
	DefaultParentWalk  = 8192
	// DefaultEVMGasCap is go-ethereum's default --rpc.gascap.
	DefaultEVMGasCap = 50_000_000
	// DefaultEVMTimeout is go-ethereum's default --rpc.evmtimeout.
	DefaultEVMTimeout = 5 * time.Second
)
