package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"os"

	"go.yaml.in/yaml/v3"
)

// Load reads the configuration file at path and parses it with Parse,
// expanding ${VAR} references from the process environment.
func Load(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read config: %w", err)
	}
	return Parse(data, path)
}

// Parse decodes one YAML document into a Config, expands ${VAR} references
// from the process environment, applies defaults and validates the result.
// source names the input (usually its file name) in error messages.
//
// Decoding is strict: an unknown key is an error naming the key and its
// line. Every error is prefixed with source and, when the YAML decoder
// knows it, the line.
func Parse(data []byte, source string) (*Config, error) {
	return ParseWithEnv(data, source, os.LookupEnv)
}

// ParseWithEnv is Parse with ${VAR} references resolved by lookup instead
// of the process environment. lookup reports whether the variable is set.
func ParseWithEnv(data []byte, source string, lookup func(string) (string, bool)) (*Config, error) {
	if source == "" {
		source = "config"
	}
	doc, err := parseDocument(data, source)
	if err != nil {
		return nil, err
	}

	cfg := Default()
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(cfg); err != nil {
		return nil, decodeError(err, source, doc)
	}
	// Expand before defaults: a default that depends on a value (the cache
	// backend on redis.url) must see what ${VAR:-} expanded to.
	if err := cfg.expandEnv(lookup); err != nil {
		return nil, prefixEach(source, err)
	}
	cfg.ApplyDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, prefixEach(source, err)
	}
	return cfg, nil
}

// parseDocument checks the document structure before the strict decode:
// the input holds exactly one YAML document and it is not empty. It returns
// the document's node tree, used to word decode errors.
func parseDocument(data []byte, source string) (*yaml.Node, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	err := dec.Decode(&doc)
	if errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("%s is empty: it needs at least a \"networks:\" section", source)
	}
	if err != nil {
		return nil, syntaxError(err, source)
	}
	if len(doc.Content) == 1 && doc.Content[0].Kind == yaml.ScalarNode && doc.Content[0].ShortTag() == "!!null" {
		return nil, fmt.Errorf("%s is empty: it needs at least a \"networks:\" section", source)
	}

	var next yaml.Node
	switch err := dec.Decode(&next); {
	case errors.Is(err, io.EOF):
		return &doc, nil
	case err != nil:
		return nil, syntaxError(err, source)
	default:
		return nil, fmt.Errorf("%s: line %d: a second YAML document starts here; braid reads exactly one document per file (remove the extra \"---\")", source, next.Line)
	}
}

// defaultConfig returns a Config holding every top-level default, so that
// keys left out of the file keep them.
func Default() *Config {
	return &Config{
		Listen: DefaultListen,
		Limits: Limits{
			MaxBodyBytes:          DefaultMaxBodyBytes,
			MaxBatch:              DefaultMaxBatch,
			RequestTimeout:        DefaultRequestTimeout,
			MaxAttempts:           DefaultMaxAttempts,
			MaxResponseBytes:      DefaultMaxResponseBytes,
			MaxBatchResponseBytes: DefaultMaxBatchResponseBytes,
			ShutdownTimeout:       DefaultShutdownTimeout,
		},
		WebSocket: WebSocket{
			MaxConnections:            DefaultWSMaxConnections,
			MaxSubscriptions:          DefaultWSMaxSubscriptions,
			MaxConnectionsPerClient:   DefaultWSMaxConnectionsPerClient,
			MaxSubscriptionsPerClient: DefaultWSMaxSubscriptionsPerClient,
			MaxMessageBytes:           DefaultWSMaxMessageBytes,
			SendBuffer:                DefaultWSSendBuffer,
			PingInterval:              DefaultWSPingInterval,
			PingTimeout:               DefaultWSPingTimeout,
			WriteTimeout:              DefaultWSWriteTimeout,
		},
		Filters: Filters{
			Idle:         DefaultFilterIdle,
			Max:          DefaultFilterMax,
			MaxPerClient: DefaultFilterMaxPerClient,
			MaxChanges:   DefaultFilterMaxChanges,
		},
		Cache: Cache{
			MaxBytes:      DefaultCacheMaxBytes,
			MaxEntryBytes: DefaultCacheMaxEntryBytes,
			TipTTL:        DefaultCacheTipTTL,
			FinalTTL:      DefaultCacheFinalTTL,
		},
		Redis: Redis{Prefix: DefaultRedisPrefix, Timeout: DefaultRedisTimeout},
		CORS:  CORS{MaxAge: DefaultCORSMaxAge},
	}
}

// ApplyDefaults fills defaults inside lists, which the decoder
// cannot pre-populate: an upstream's timeout, pool size and burst.
func (c *Config) ApplyDefaults() {
	// A Config built in code has no top-level defaults either.
	orDefault(&c.Filters.Idle, DefaultFilterIdle)
	orDefault(&c.Filters.Max, DefaultFilterMax)
	orDefault(&c.Filters.MaxChanges, DefaultFilterMaxChanges)
	orDefault(&c.Filters.MaxPerClient, DefaultFilterMaxPerClient)
	orDefault(&c.Limits.MaxBatchResponseBytes, DefaultMaxBatchResponseBytes)
	orDefault(&c.WebSocket.MaxConnectionsPerClient, DefaultWSMaxConnectionsPerClient)
	orDefault(&c.WebSocket.MaxSubscriptionsPerClient, DefaultWSMaxSubscriptionsPerClient)
	orDefault(&c.Cache.MaxBytes, DefaultCacheMaxBytes)
	orDefault(&c.Cache.MaxEntryBytes, DefaultCacheMaxEntryBytes)
	orDefault(&c.Cache.TipTTL, DefaultCacheTipTTL)
	orDefault(&c.Cache.FinalTTL, DefaultCacheFinalTTL)
	orDefault(&c.Redis.Prefix, DefaultRedisPrefix)
	orDefault(&c.Redis.Timeout, DefaultRedisTimeout)
	c.Auth.applyDefaults(c.Keys)
	if c.Cache.Backend == "" {
		c.Cache.Backend = CacheMemory
		if c.Redis.URL != "" {
			c.Cache.Backend = CacheRedis
		}
	}
	for i := range c.Networks {
		n := &c.Networks[i]
		orDefault(&n.Head.PollInterval, DefaultPollInterval)
		orDefault(&n.Head.MaxLagBlocks, DefaultMaxLagBlocks)
		orDefault(&n.Hedge.Percentile, DefaultHedgePercentile)
		orDefault(&n.Hedge.MinDelay, DefaultHedgeMinDelay)
		orDefault(&n.Hedge.MaxDelay, DefaultHedgeMaxDelay)
		orDefault(&n.Hedge.MaxExtra, DefaultHedgeMaxExtra)
		orDefault(&n.Breaker.Failures, DefaultBreakerFailures)
		orDefault(&n.Breaker.Window, DefaultBreakerWindow)
		orDefault(&n.Breaker.OpenFor, DefaultBreakerOpenFor)
		orDefault(&n.Breaker.Successes, DefaultBreakerSuccess)
		orDefault(&n.Quorum.K, DefaultQuorumK)
		orDefault(&n.Quorum.OnDispute, OnDisputeError)
		orDefault(&n.Quorum.OnShortfall, OnShortfallError)
		orDefault(&n.Strikes.Max, DefaultStrikesMax)
		orDefault(&n.Strikes.Window, DefaultStrikesWindow)
		orDefault(&n.Strikes.Quarantine, DefaultStrikeQuarantine)
		orDefault(&n.Verify.Mode, VerifyOff)
		orDefault(&n.Verify.MaxLogRange, DefaultMaxLogRange)
		orDefault(&n.Verify.HeaderCache, DefaultHeaderCache)
		orDefault(&n.Verify.HistoryHops, DefaultHistoryHops)
		orDefault(&n.Verify.ParentWalk, DefaultParentWalk)
		orDefault(&n.Verify.EVM.GasCap, DefaultEVMGasCap)
		orDefault(&n.Verify.EVM.Timeout, DefaultEVMTimeout)
		n.Trust.applyDefaults()
		n.Peers.applyDefaults()
		ups := c.Networks[i].Upstreams
		for j := range ups {
			u := &ups[j]
			orDefault(&u.Timeout, DefaultUpstreamTimeout)
			orDefault(&u.MaxIdleConns, DefaultMaxIdleConns)
			if u.Burst == 0 && u.RPS > 0 {
				u.Burst = defaultBurst(u.RPS)
			}
		}
	}
}

// orDefault sets *v to def when it is the zero value (left out).
func orDefault[T comparable](v *T, def T) {
	var zero T
	if *v == zero {
		*v = def
	}
}

// defaultBurst is rps rounded up, at least 1 and at most math.MaxInt32.
func defaultBurst(rps float64) int {
	b := math.Ceil(rps)
	switch {
	case math.IsNaN(b) || b < 1:
		return 1
	case b > math.MaxInt32:
		return math.MaxInt32
	default:
		return int(b)
	}
}

// prefixEach puts "source: " before each of the (possibly joined) errors
// in err, keeping them joined so that every problem reads as its own line.
func prefixEach(source string, err error) error {
	var errs []error
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		errs = j.Unwrap()
	} else {
		errs = []error{err}
	}
	out := make([]error, 0, len(errs))
	for _, e := range errs {
		out = append(out, fmt.Errorf("%s: %w", source, e))
	}
	return errors.Join(out...)
}
