package config

import (
	"errors"
	"fmt"
	"maps"
	"math"
	"net"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// reservedNames are paths braid serves itself, so no network may use them.
var reservedNames = map[string]bool{
	"healthz": true,
	"readyz":  true,
	"metrics": true,
	"status":  true,
	"demo":    true,
}

// Validate checks c and returns every problem found, joined with
// errors.Join, or nil. Each problem is a sentence naming the network and
// upstream it is about. Messages never show an upstream URL's path, query
// or user info, which may hold API keys.
func (c *Config) Validate() error {
	var errs []error
	add := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf(format, args...))
	}

	if !validListen(c.Listen) {
		add("listen %s must be host:port with a port number, e.g. %q or %q", quote(c.Listen), DefaultListen, ":8545")
	}
	errs = append(errs, c.Limits.validate()...)
	errs = append(errs, c.WebSocket.validate()...)
	errs = append(errs, c.Filters.validate()...)
	errs = append(errs, validateProxies(c.TrustedProxies)...)
	errs = append(errs, c.CORS.validate()...)
	errs = append(errs, c.Cache.validate(c.Redis)...)
	errs = append(errs, c.Redis.validate()...)
	errs = append(errs, c.validateAuth()...)

	if len(c.Networks) == 0 {
		add(`no networks configured: add at least one under "networks:"`)
	}
	seen := make(map[string]int, len(c.Networks))
	for i := range c.Networks {
		n := &c.Networks[i]
		if n.Name != "" {
			if first, dup := seen[n.Name]; dup {
				add("network %s is defined twice (networks #%d and #%d): network names must be unique", quote(n.Name), first+1, i+1)
			} else {
				seen[n.Name] = i
			}
		}
		errs = append(errs, n.validate(i)...)
		errs = append(errs, n.Peers.validate(networkLabel(i, n.Name))...)
	}
	return errors.Join(errs...)
}

// problems collects the problems found in one section, each a sentence.
type problems []error

// check adds the problem format describes unless ok.
func (p *problems) check(ok bool, format string, args ...any) {
	if !ok {
		*p = append(*p, fmt.Errorf(format, args...))
	}
}

func (l *Limits) validate() []error {
	var errs problems
	errs.check(l.MaxBodyBytes > 0, "limits: max_body_bytes must be greater than 0 (default %d)", DefaultMaxBodyBytes)
	errs.check(l.MaxBatch > 0, "limits: max_batch must be greater than 0 (default %d)", DefaultMaxBatch)
	errs.check(l.RequestTimeout > 0, "limits: request_timeout must be greater than 0 (default %s)", DefaultRequestTimeout)
	errs.check(l.MaxAttempts >= 1, "limits: max_attempts must be at least 1 (default %d)", DefaultMaxAttempts)
	errs.check(l.MaxResponseBytes > 0, "limits: max_response_bytes must be greater than 0 (default %d)", DefaultMaxResponseBytes)
	errs.check(l.MaxBatchResponseBytes > 0, "limits: max_batch_response_bytes must be greater than 0 (default %d)", DefaultMaxBatchResponseBytes)
	errs.check(l.ShutdownTimeout >= 0, "limits: shutdown_timeout must not be negative (default %s)", DefaultShutdownTimeout)
	return errs
}

func (w *WebSocket) validate() []error {
	var errs problems
	errs.check(w.MaxConnections > 0, "websocket: max_connections must be greater than 0 (default %d)", DefaultWSMaxConnections)
	errs.check(w.MaxSubscriptions > 0, "websocket: max_subscriptions must be greater than 0 (default %d)", DefaultWSMaxSubscriptions)
	errs.check(w.MaxConnectionsPerClient > 0, "websocket: max_connections_per_client must be greater than 0 (default %d)", DefaultWSMaxConnectionsPerClient)
	errs.check(w.MaxSubscriptionsPerClient > 0, "websocket: max_subscriptions_per_client must be greater than 0 (default %d)", DefaultWSMaxSubscriptionsPerClient)
	errs.check(w.MaxMessageBytes >= 1024, "websocket: max_message_bytes must be at least 1024 (default %d)", DefaultWSMaxMessageBytes)
	errs.check(w.SendBuffer > 0, "websocket: send_buffer must be greater than 0 (default %d)", DefaultWSSendBuffer)
	errs.check(w.PingInterval > 0, "websocket: ping_interval must be greater than 0 (default %s)", DefaultWSPingInterval)
	errs.check(w.PingTimeout > 0, "websocket: ping_timeout must be greater than 0 (default %s)", DefaultWSPingTimeout)
	errs.check(w.WriteTimeout > 0, "websocket: write_timeout must be greater than 0 (default %s)", DefaultWSWriteTimeout)
	return errs
}

func (f *Filters) validate() []error {
	var errs problems
	errs.check(f.Idle > 0, "filters: idle must be greater than 0 (default %s)", DefaultFilterIdle)
	errs.check(f.Max > 0, "filters: max must be greater than 0 (default %d)", DefaultFilterMax)
	errs.check(f.MaxPerClient > 0, "filters: max_per_client must be greater than 0 (default %d)", DefaultFilterMaxPerClient)
	errs.check(f.MaxChanges > 0, "filters: max_changes must be greater than 0 (default %d)", DefaultFilterMaxChanges)
	return errs
}

func (c *Cache) validate(r Redis) []error {
	var errs problems
	switch c.Backend {
	case "", CacheMemory, CacheOff: // "": ApplyDefaults picks
	case CacheRedis:
		errs.check(r.URL != "", "cache: backend redis needs redis.url (the server the replicas share)")
	default:
		errs.check(false, "cache: backend %s is not one of memory, redis, off", quote(c.Backend))
	}
	errs.check(c.MaxBytes >= 1<<20, "cache: max_bytes must be at least 1048576 (1 MiB; default %d)", DefaultCacheMaxBytes)
	errs.check(c.MaxEntryBytes > 0 && c.MaxEntryBytes <= c.MaxBytes/8,
		"cache: max_entry_bytes must be greater than 0 and at most an eighth of max_bytes (default %d)", DefaultCacheMaxEntryBytes)
	errs.check(c.TipTTL > 0, "cache: tip_ttl must be greater than 0 (default %s)", DefaultCacheTipTTL)
	errs.check(c.FinalTTL > 0, "cache: final_ttl must be greater than 0 (default %s)", DefaultCacheFinalTTL)
	return errs
}

func (r *Redis) validate() []error {
	var errs []error
	if r.URL != "" {
		u, err := url.Parse(r.URL)
		switch {
		case err != nil || u.Host == "":
			errs = append(errs, fmt.Errorf("redis: url %s must look like redis://host:6379/0 or rediss://host:6380/0", Redact(r.URL)))
		case u.Scheme != "redis" && u.Scheme != "rediss":
			errs = append(errs, fmt.Errorf("redis: url %s must use the scheme redis:// or rediss:// (TLS)", Redact(r.URL)))
		}
	}
	if r.Prefix == "" || strings.ContainsAny(r.Prefix, " \t\n{}") {
		errs = append(errs, fmt.Errorf("redis: prefix %s must be non-empty, without spaces or braces (default %q)", quote(r.Prefix), DefaultRedisPrefix))
	}
	if r.Timeout <= 0 {
		errs = append(errs, fmt.Errorf("redis: timeout must be greater than 0 (default %s)", DefaultRedisTimeout))
	}
	return errs
}

func (n *Network) validate(i int) []error {
	var errs []error
	label := networkLabel(i, n.Name)
	add := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: "+format, append([]any{label}, args...)...))
	}

	switch {
	case n.Name == "":
		add("name is required; it is the URL path the network is served at (POST /{name})")
	case reservedNames[n.Name]:
		add("name is reserved: braid serves /%s itself; choose another name", n.Name)
	case !validNetworkName(n.Name):
		add(`name must be usable as a URL path: use only lowercase letters, digits, "-" and "_"`)
	}
	if n.ChainID == 0 {
		add("chain_id is required and must be greater than 0 (e.g. 1 for Ethereum mainnet)")
	}
	errs = append(errs, validateMethods(label+": methods.allow", n.Methods.Allow)...)
	errs = append(errs, validateMethods(label+": methods.deny", n.Methods.Deny)...)

	// Zero values below mean "the default" (ApplyDefaults fills them).
	if n.Head.PollInterval != 0 && n.Head.PollInterval < 10*time.Millisecond {
		add("head.poll_interval must be at least 10ms (default %s)", DefaultPollInterval)
	}
	if n.Head.StallAfter < 0 {
		add("head.stall_after must not be negative (0 means the longer of 30s and five poll intervals)")
	}
	if n.Head.MinOperators < 0 {
		add("head.min_operators must not be negative (0 means a majority of the operators)")
	}
	errs = append(errs, n.validateOperatorCounts(label)...)
	if p := n.Hedge.Percentile; p != 0 && !(p > 0 && p < 1) {
		add("hedge.percentile must be between 0 and 1 (exclusive), e.g. 0.9")
	}
	if n.Hedge.MinDelay < 0 || (n.Hedge.MaxDelay != 0 && n.Hedge.MaxDelay < n.Hedge.MinDelay) {
		add("hedge.min_delay must not be negative and hedge.max_delay must not be below it")
	}
	if n.Hedge.MaxExtra < 0 {
		add("hedge.max_extra must not be negative")
	}
	if n.Breaker.Failures < 0 || n.Breaker.Successes < 0 {
		add("breaker.failures and breaker.successes must not be negative")
	}
	if n.Breaker.Window < 0 || n.Breaker.OpenFor < 0 {
		add("breaker.window and breaker.open_for must not be negative")
	}
	errs = append(errs, n.Quorum.validate(label)...)
	if n.Strikes.Max < 0 || n.Strikes.Window < 0 || n.Strikes.Quarantine < 0 {
		add("strikes.max, strikes.window and strikes.quarantine must not be negative (defaults %d, %s, %s)",
			DefaultStrikesMax, DefaultStrikesWindow, DefaultStrikeQuarantine)
	}
	errs = append(errs, n.Verify.validate(label)...)
	errs = append(errs, n.Trust.validate(label, n.ChainID)...)
	if n.Require.Availability < 0 || n.Require.Integrity < 0 {
		add("require.availability and require.integrity must not be negative (0: no requirement)")
	}

	errs = append(errs, n.validateUpstreams(label)...)
	return errs
}

// validate checks the verify section of the network labelled label.
func (v *Verify) validate(label string) []error {
	var errs []error
	add := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: "+format, append([]any{label}, args...)...))
	}
	switch v.Mode {
	case "", VerifyOff, VerifyStrict:
	default:
		add("verify.mode must be %q or %q, got %s", VerifyOff, VerifyStrict, quote(v.Mode))
	}
	errs = append(errs, validateMethods(label+": verify.allow_unverified", v.AllowUnverified)...)
	if v.HeaderCache < 0 || v.HistoryHops < 0 || v.ParentWalk < 0 {
		add("verify.header_cache, verify.history_hops and verify.parent_walk must not be negative")
	}
	if v.EVM.Timeout < 0 {
		add("verify.evm.timeout must not be negative (default %s)", DefaultEVMTimeout)
	}
	return errs
}

// validateUpstreams checks that n has upstreams, each valid and named once.
func (n *Network) validateUpstreams(label string) []error {
	var errs []error
	add := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: "+format, append([]any{label}, args...)...))
	}
	if len(n.Upstreams) == 0 {
		add(`no upstreams: add at least one under "upstreams:"`)
	}
	seen := make(map[string]int, len(n.Upstreams))
	for j := range n.Upstreams {
		u := &n.Upstreams[j]
		if u.Name != "" {
			if first, dup := seen[u.Name]; dup {
				add("upstream name %s is used twice (upstreams #%d and #%d): upstream names must be unique within a network", quote(u.Name), first+1, j+1)
			} else {
				seen[u.Name] = j
			}
		}
		errs = append(errs, u.validate(label+" "+upstreamLabel(j, u.Name))...)
	}
	return errs
}

func (q *Quorum) validate(label string) []error {
	var errs []error
	add := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: "+format, append([]any{label}, args...)...))
	}
	if q.K < 0 {
		add("quorum.k must be at least 1 (1: no quorum), got %d", q.K)
	}
	switch q.OnDispute {
	case "", OnDisputeError, OnDisputeMajority:
	default:
		add("quorum.on_dispute must be %q or %q, got %s", OnDisputeError, OnDisputeMajority, quote(q.OnDispute))
	}
	switch q.OnShortfall {
	case "", OnShortfallError, OnShortfallBestEffort:
	default:
		add("quorum.on_shortfall must be %q or %q, got %s", OnShortfallError, OnShortfallBestEffort, quote(q.OnShortfall))
	}
	for _, name := range slices.Sorted(maps.Keys(q.Methods)) {
		m := q.Methods[name]
		if name == "" || strings.ContainsAny(name, " \t*") {
			add("quorum.methods: %s is not a method name or group", quote(name))
		}
		if m.K < 0 {
			add("quorum.methods.%s.k must not be negative (0: the network's k)", name)
		}
		for _, f := range m.IgnoreFields {
			if f == "" {
				add("quorum.methods.%s.ignore_fields has an empty entry", name)
			}
		}
	}
	return errs
}

// validListen reports whether addr is host:port with a numeric port, which
// net.Listen accepts.
func validListen(addr string) bool {
	host, port, err := net.SplitHostPort(addr)
	if err != nil || strings.ContainsAny(host, "/ \t") {
		return false
	}
	p, err := strconv.ParseUint(port, 10, 16)
	return err == nil && p <= 65535
}

func validNetworkName(name string) bool {
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return name != ""
}

// MethodProblems says what is wrong with a list of method names and
// prefixes (methods.allow, methods.deny, a stored key's lists), each
// error starting with where; none when it is valid.
func MethodProblems(where string, list []string) []error { return validateMethods(where, list) }

func validateMethods(where string, list []string) []error {
	var errs []error
	for i, m := range list {
		switch {
		case strings.TrimSpace(m) == "":
			errs = append(errs, fmt.Errorf("%s item %d is empty: write a method name such as \"eth_call\" or a prefix such as \"debug_*\"", where, i+1))
		case strings.ContainsAny(m, " \t\r\n"):
			errs = append(errs, fmt.Errorf("%s item %d %s contains white space: method names have none", where, i+1, quote(m)))
		case strings.Contains(strings.TrimSuffix(m, "*"), "*"):
			errs = append(errs, fmt.Errorf("%s item %d %s: \"*\" may only end a prefix, as in \"debug_*\"", where, i+1, quote(m)))
		}
	}
	return errs
}

func (u *Upstream) validate(label string) []error {
	var errs []error
	add := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: "+format, append([]any{label}, args...)...))
	}

	if u.Name == "" {
		add("name is required; braid names upstreams in logs, metrics and errors instead of showing their URLs")
	}
	if msg := checkURL(u.URL, "url", false); msg != "" {
		add("%s", msg)
	}
	if u.WSURL != "" {
		if msg := checkURL(u.WSURL, "ws_url", true); msg != "" {
			add("%s", msg)
		}
	}
	if strings.TrimSpace(u.Operator) == "" {
		add("operator is required: braid counts independent operators, not URLs (name who runs this endpoint, e.g. \"infura\")")
	}
	if u.Timeout < 0 {
		add("timeout must not be negative (default %s)", DefaultUpstreamTimeout)
	}
	if !(u.RPS >= 0) || math.IsInf(u.RPS, 0) {
		add("rps must be a number of at least 0 (0 means unlimited)")
	}
	if u.Burst < 0 {
		add("burst must not be negative (default: rps rounded up)")
	}
	if u.MaxIdleConns < 0 {
		add("max_idle_conns must not be negative (default %d)", DefaultMaxIdleConns)
	}
	return errs
}

// checkURL checks an upstream endpoint URL and returns what is wrong with
// it, or "". The message never includes the URL: it may hold an API key.
func checkURL(raw, key string, ws bool) string {
	want, example := "http or https", "https://mainnet.example.com/v3/KEY"
	if ws {
		want, example = "ws or wss", "wss://mainnet.example.com/ws/v3/KEY"
	}
	if strings.TrimSpace(raw) == "" {
		return fmt.Sprintf("%s is required, e.g. %q", key, example)
	}
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Sprintf("%s is not a valid URL (look for spaces, stray characters or a bad %%-escape)", key)
	}
	scheme := strings.ToLower(u.Scheme)
	switch {
	case !ws && (scheme == "http" || scheme == "https"), ws && (scheme == "ws" || scheme == "wss"):
	case !ws && (scheme == "ws" || scheme == "wss"):
		return fmt.Sprintf("%s must use http or https; put a WebSocket endpoint in ws_url", key)
	case ws && (scheme == "http" || scheme == "https"):
		return fmt.Sprintf("%s must use ws or wss; put an HTTP endpoint in url", key)
	case scheme == "":
		return fmt.Sprintf("%s must be an absolute URL starting with %s://, e.g. %q", key, strings.ReplaceAll(want, " or ", ":// or "), example)
	default:
		return fmt.Sprintf("%s must use %s", key, want)
	}
	if u.Hostname() == "" {
		return fmt.Sprintf("%s has no host, e.g. %q", key, example)
	}
	return ""
}

// Network returns the network called name, or nil if there is none.
func (c *Config) Network(name string) *Network {
	for i := range c.Networks {
		if c.Networks[i].Name == name {
			return &c.Networks[i]
		}
	}
	return nil
}

// Operators returns the distinct operators of n's upstreams, in the order
// they first appear.
func (n *Network) Operators() []string {
	var ops []string
	seen := make(map[string]bool, len(n.Upstreams))
	for _, u := range n.Upstreams {
		if !seen[u.Operator] {
			seen[u.Operator] = true
			ops = append(ops, u.Operator)
		}
	}
	return ops
}
