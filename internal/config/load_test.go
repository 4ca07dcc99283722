package config

import (
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

// testEnv is the environment the testdata files are parsed with.
var testEnv = map[string]string{
	"BRAID_PORT":           "9999",
	"REDIS_PASSWORD":       "s3cret",
	"NETWORK_NAME":         "mainnet",
	"DENIED":               "debug_*",
	"INFURA_KEY":           "ik123",
	"ALCHEMY_KEY":          "ak456",
	"ALCHEMY_OPERATOR":     "alchemy",
	"BRAID_TEST_EMPTY_KEY": "",
}

func lookupIn(env map[string]string) func(string) (string, bool) {
	return func(name string) (string, bool) {
		v, ok := env[name]
		return v, ok
	}
}

func loadTestdata(t *testing.T, name string) (*Config, error) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return ParseWithEnv(data, name, lookupIn(testEnv))
}

func TestGoodFiles(t *testing.T) {
	tests := []struct {
		file  string
		check func(t *testing.T, c *Config)
	}{
		{"minimal.good.yaml", func(t *testing.T, c *Config) {
			want := Default()
			if c.Listen != want.Listen || c.Limits != want.Limits || c.WebSocket != want.WebSocket || c.Filters != want.Filters ||
				c.TrustedProxies != nil || c.CORS.Origins != nil || c.CORS.MaxAge != 10*time.Minute {
				t.Errorf("top-level defaults not applied: listen %q limits %+v", c.Listen, c.Limits)
			}
			n := c.Network("mainnet")
			if n == nil || n.ChainID != 1 || len(n.Upstreams) != 1 {
				t.Fatalf("network mainnet = %+v", n)
			}
			u := n.Upstreams[0]
			want1 := Upstream{Name: "local", URL: "http://127.0.0.1:8545", Operator: "me",
				Timeout: DefaultUpstreamTimeout, MaxIdleConns: DefaultMaxIdleConns}
			if u != want1 {
				t.Errorf("upstream = %+v, want %+v", u, want1)
			}
			if n.Methods.Allow != nil || n.Methods.Deny != nil {
				t.Errorf("methods = %+v, want none", n.Methods)
			}
		}},
		{"full.good.yaml", func(t *testing.T, c *Config) {
			if c.Listen != "0.0.0.0:9000" {
				t.Errorf("listen = %q", c.Listen)
			}
			if p := c.Networks[0].Peers; !p.Enabled || p.Keep != "pre-merge" || p.Store.MaxBytes != 100<<30 || p.Fill.BytesPerSecond != 4<<20 ||
				p.Limits.StreamsPerPeer != 4 || len(p.Listen) != 2 || p.Identity != "/var/lib/braid/mainnet.key" {
				t.Errorf("peers = %+v", p)
			}
			if l := c.Networks[0].Peers.Ledger; l.AgeDepth != 256 || l.AgeMultiplier != 3 || l.AuditInterval != 2*time.Minute ||
				l.RepairInterval != -time.Second || !slices.Equal(l.AgeBuckets, []uint64{256, 7200}) || l.TargetCopies != DefaultPeerLedger.TargetCopies {
				t.Errorf("peers.ledger = %+v", l)
			}
			wantLimits := Limits{MaxBodyBytes: 1 << 20, MaxBatch: 50, RequestTimeout: 90 * time.Second,
				MaxAttempts: 3, MaxResponseBytes: 64 << 20, MaxBatchResponseBytes: 32 << 20, ShutdownTimeout: 5 * time.Second}
			if c.Limits != wantLimits {
				t.Errorf("limits = %+v, want %+v", c.Limits, wantLimits)
			}
			wantWS := WebSocket{MaxConnections: 2000, MaxSubscriptions: 16, MaxConnectionsPerClient: 50, MaxSubscriptionsPerClient: 64,
				MaxMessageBytes: 1 << 20, SendBuffer: 256,
				PingInterval: 20 * time.Second, PingTimeout: 5 * time.Second, WriteTimeout: 5 * time.Second}
			if c.WebSocket != wantWS {
				t.Errorf("websocket = %+v, want %+v", c.WebSocket, wantWS)
			}
			if want := (Filters{Idle: 2 * time.Minute, Max: 500, MaxPerClient: 20, MaxChanges: 2000}); c.Filters != want {
				t.Errorf("filters = %+v, want %+v", c.Filters, want)
			}
			if want := []string{"127.0.0.1", "10.0.0.0/8", "::1"}; !reflect.DeepEqual(c.TrustedProxies, want) {
				t.Errorf("trusted_proxies = %q, want %q", c.TrustedProxies, want)
			}
			if want := (CORS{Origins: []string{"https://app.example.com", "https://*.example.org"}, MaxAge: time.Hour}); !reflect.DeepEqual(c.CORS, want) {
				t.Errorf("cors = %+v, want %+v", c.CORS, want)
			}
			if len(c.Networks) != 2 {
				t.Fatalf("%d networks, want 2", len(c.Networks))
			}
			m := c.Network("mainnet")
			if got := m.Operators(); !reflect.DeepEqual(got, []string{"infura", "alchemy", "self"}) {
				t.Errorf("mainnet operators = %q", got)
			}
			wantMethods := Methods{Allow: []string{"eth_*", "net_version", "web3_clientVersion"},
				Deny: []string{"eth_sendTransaction", "debug_*"}}
			if !reflect.DeepEqual(m.Methods, wantMethods) {
				t.Errorf("methods = %+v", m.Methods)
			}
			if m.Head != (Head{PollInterval: time.Second, MinOperators: 2, MaxLagBlocks: 3, StallAfter: 45 * time.Second}) {
				t.Errorf("head = %+v", m.Head)
			}
			if m.Hedge.On() || m.Hedge.Percentile != 0.95 || m.Hedge.MinDelay != 50*time.Millisecond ||
				m.Hedge.MaxDelay != time.Second || m.Hedge.MaxExtra != 2 {
				t.Errorf("hedge = %+v", m.Hedge)
			}
			if m.Breaker != (Breaker{Failures: 3, Window: 10 * time.Second, OpenFor: 5 * time.Second, Successes: 1}) {
				t.Errorf("breaker = %+v", m.Breaker)
			}
			wantQuorum := Quorum{K: 2, OnDispute: OnDisputeMajority, OnShortfall: OnShortfallBestEffort,
				Methods: map[string]MethodQuorum{"eth_getLogs": {K: 3}, "block": {IgnoreFields: []string{"totalDifficulty"}}}}
			if !reflect.DeepEqual(m.Quorum, wantQuorum) {
				t.Errorf("quorum = %+v", m.Quorum)
			}
			if m.Strikes != (Strikes{Max: 5, Window: 5 * time.Minute, Quarantine: time.Hour}) || m.Require != (Require{Availability: 2, Integrity: 2}) {
				t.Errorf("strikes = %+v, require = %+v", m.Strikes, m.Require)
			}
			if v := m.Verify; !v.Strict() || v.MaxLogRange != 500 || v.HeaderCache != 1024 || v.HistoryHops != 2 || len(v.AllowUnverified) != 2 {
				t.Errorf("verify = %+v", v)
			}
			if v := m.Verify; v.ParentWalk != 512 || v.EVM.GasCap != 30_000_000 || v.EVM.Timeout != 2*time.Second ||
				!v.EVM.On() || v.EVM.ChainConfig != "/etc/braid/genesis.json" {
				t.Errorf("verify evm = %+v", v)
			}
			if v := c.Network("sepolia").Verify; v.Strict() || v.Mode != VerifyOff || v.MaxLogRange != DefaultMaxLogRange || v.HeaderCache != DefaultHeaderCache || v.HistoryHops != DefaultHistoryHops ||
				v.ParentWalk != DefaultParentWalk || v.EVM.GasCap != DefaultEVMGasCap || v.EVM.Timeout != DefaultEVMTimeout || !v.EVM.On() {
				t.Errorf("sepolia verify defaults = %+v", v)
			}
			if s := c.Network("sepolia"); s.Quorum.K != 1 || s.Quorum.OnDispute != OnDisputeError || s.Quorum.OnShortfall != OnShortfallError ||
				s.Strikes != (Strikes{Max: DefaultStrikesMax, Window: DefaultStrikesWindow, Quarantine: DefaultStrikeQuarantine}) {
				t.Errorf("sepolia quorum defaults: %+v %+v", s.Quorum, s.Strikes)
			}
			if s := c.Network("sepolia"); !s.Hedge.On() || s.Head.PollInterval != DefaultPollInterval ||
				s.Head.MaxLagBlocks != DefaultMaxLagBlocks || s.Breaker.Failures != DefaultBreakerFailures {
				t.Errorf("sepolia defaults: head %+v hedge %+v breaker %+v", s.Head, s.Hedge, s.Breaker)
			}
			a, b, al, home := m.Upstreams[0], m.Upstreams[1], m.Upstreams[2], m.Upstreams[3]
			if !home.Archive || a.Archive {
				t.Errorf("archive: home %v, infura-a %v", home.Archive, a.Archive)
			}
			if a.WSURL != "wss://mainnet.infura.io/ws/v3/KEY_A" || a.Timeout != 5*time.Second || a.RPS != 10 || a.Burst != 20 {
				t.Errorf("infura-a = %+v", a)
			}
			if b.RPS != 2.5 || b.Burst != 3 || b.Timeout != DefaultUpstreamTimeout {
				t.Errorf("infura-b = %+v (want burst 3 from rps 2.5)", b)
			}
			if al.MaxIdleConns != 8 || al.RPS != 0 || al.Burst != 0 {
				t.Errorf("alchemy = %+v", al)
			}
			if home.Timeout != 2*time.Second || home.MaxIdleConns != DefaultMaxIdleConns {
				t.Errorf("home = %+v", home)
			}
			s := c.Network("sepolia")
			if s == nil || s.ChainID != 11155111 || !reflect.DeepEqual(s.Operators(), []string{"sepolia-community", "alchemy"}) {
				t.Errorf("sepolia = %+v", s)
			}
			if c.Network("holesky") != nil {
				t.Error("Network(holesky) != nil")
			}
		}},
		{"env.good.yaml", func(t *testing.T, c *Config) {
			if c.Listen != "127.0.0.1:9999" {
				t.Errorf("listen = %q", c.Listen)
			}
			if c.Redis.URL != "redis://:s3cret@127.0.0.1:6379/0" || c.Cache.Backend != CacheRedis {
				t.Errorf("redis = %+v, cache backend %q", c.Redis, c.Cache.Backend)
			}
			n := c.Network("mainnet")
			if n == nil {
				t.Fatal("network name ${NETWORK_NAME} not expanded")
			}
			if !reflect.DeepEqual(n.Methods.Deny, []string{"debug_*"}) {
				t.Errorf("deny = %q", n.Methods.Deny)
			}
			inf, al := n.Upstreams[0], n.Upstreams[1]
			if inf.URL != "https://mainnet.infura.io/v3/ik123" || inf.WSURL != "wss://mainnet.infura.io/ws/v3/ik123" {
				t.Errorf("infura = %+v", inf)
			}
			// "$$" and "$HOME" are not special; only ${NAME} is.
			if al.URL != "https://eth-mainnet.g.alchemy.com/v2/ak456?x=$$1&y=$HOME" || al.Operator != "alchemy" {
				t.Errorf("alchemy = %+v", al)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			c, err := loadTestdata(t, tt.file)
			if err != nil {
				t.Fatalf("unexpected error:\n%v", err)
			}
			tt.check(t, c)
		})
	}
}

// TestAllTestdataCovered makes sure every testdata file is in a table.
func TestAllTestdataCovered(t *testing.T) {
	files, err := filepath.Glob("testdata/*.yaml")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		name := filepath.Base(f)
		if strings.HasSuffix(name, ".good.yaml") {
			if _, err := loadTestdata(t, name); err != nil {
				t.Errorf("%s: %v", name, err)
			}
			continue
		}
		if _, ok := badFiles[name]; !ok {
			t.Errorf("%s has no entry in badFiles", name)
		}
	}
}

// badFiles maps each bad file to substrings of the error a user sees.
var badFiles = map[string][]string{
	"unknown-key.bad.yaml":        {`unknown-key.bad.yaml: line 7: unknown key "timout" in upstream (did you mean "timeout"?)`},
	"unknown-top-key.bad.yaml":    {`line 1: unknown key "netwroks" at the top level (did you mean "networks"?)`},
	"unknown-limits-key.bad.yaml": {`line 2: unknown key "max_batch_size" in limits`},
	"bad-duration.bad.yaml":       {`line 8: timeout: expected a duration such as "10s" or "1m30s", got "10 secs"`},
	"duration-without-unit.bad.yaml": {
		`line 2: request_timeout: expected a duration such as "10s" or "1m30s", got 30 (a duration needs a unit, e.g. "10s")`},
	"missing-operator.bad.yaml": {
		`network "mainnet" upstream "local": operator is required: braid counts independent operators, not URLs`},
	"duplicate-upstream.bad.yaml": {`network "mainnet": upstream name "infura" is used twice (upstreams #1 and #2)`},
	"duplicate-network.bad.yaml":  {`network "mainnet" is defined twice (networks #1 and #2)`},
	"reserved-network-name.bad.yaml": {
		`network "metrics": name is reserved: braid serves /metrics itself; choose another name`},
	"network-name-not-a-path.bad.yaml": {
		`network "Main Net": name must be usable as a URL path: use only lowercase letters, digits, "-" and "_"`},
	"url-scheme.bad.yaml":       {`network "mainnet" upstream "files": url must use http or https`},
	"ws-url-scheme.bad.yaml":    {`network "mainnet" upstream "infura": ws_url must use ws or wss`},
	"url-without-host.bad.yaml": {`network "mainnet" upstream "local": url has no host`},
	"unset-env.bad.yaml": {
		`unset-env.bad.yaml: network "mainnet" upstream "infura": url: environment variable BRAID_TEST_UNSET_KEY is not set`},
	"empty-env.bad.yaml": {
		`empty-env.bad.yaml: network "mainnet" upstream "infura": url: environment variable BRAID_TEST_EMPTY_KEY is set but empty`},
	"unterminated-env.bad.yaml": {`network "mainnet" upstream "infura": url: "${" at character 30 has no closing "}"`},
	"invalid-env-name.bad.yaml": {`network "mainnet" upstream "infura": url: invalid environment variable reference at character 30`},
	"empty.bad.yaml":            {`empty.bad.yaml is empty`},
	"two-documents.bad.yaml":    {`line 6: a second YAML document starts here`},
	"chain-id-zero.bad.yaml":    {`network "mainnet": chain_id is required and must be greater than 0`},
	"chain-id-not-a-number.bad.yaml": {
		`line 3: chain_id: expected a whole number of at least 0, got "one"`},
	"no-upstreams.bad.yaml":        {`network "mainnet": no upstreams: add at least one under "upstreams:"`},
	"no-networks.bad.yaml":         {`no networks configured`},
	"negative-rps.bad.yaml":        {`network "mainnet" upstream "local": rps must be a number of at least 0`},
	"listen-without-port.bad.yaml": {`listen "127.0.0.1" must be host:port with a port number`},
	"resilience.bad.yaml": {
		`head.min_operators is 3 but the network has only 2 operators`,
		`head.poll_interval must be at least 10ms`,
		`head.stall_after must not be negative`,
		`hedge.percentile must be between 0 and 1`,
		`hedge.max_delay must not be below it`},
	"quorum-above-operators.bad.yaml": {
		`network "mainnet": quorum.k is 3 but the network has only 2 operators (infura, alchemy): no quorum read could ever get 3 to agree; lower it to at most 2, or add upstreams run by other operators`,
		`network "mainnet": quorum.methods.eth_getLogs.k is 5 but the network has only 2 operators (infura, alchemy)`},
	"same-url-operators.bad.yaml": {
		`network "mainnet": head.min_operators is 3 but the network has only 2 operators (infura, alchemy; upstreams with the same URL count once): no block could ever be served`,
		`network "mainnet": quorum.k is 3 but the network has only 2 operators (infura, alchemy; upstreams with the same URL count once)`},
	"unknown-hedge-key.bad.yaml": {`line 5: unknown key "delay" in hedge`},
	"quorum.bad.yaml": {
		`quorum.k must be at least 1 (1: no quorum), got -1`,
		`quorum.on_dispute must be "error" or "majority", got "vote"`,
		`quorum.on_shortfall must be "error" or "best_effort", got "maybe"`,
		`quorum.methods.eth_call.k must not be negative`,
		`quorum.methods.eth_call.ignore_fields has an empty entry`,
		`strikes.max, strikes.window and strikes.quarantine must not be negative`,
		`require.availability and require.integrity must not be negative`},
	"verify.bad.yaml": {
		`verify.mode must be "off" or "strict", got "paranoid"`,
		`verify.allow_unverified item 1 "eth_*call": "*" may only end a prefix`,
		`verify.header_cache, verify.history_hops and verify.parent_walk must not be negative`,
		`verify.evm.timeout must not be negative (default 5s)`},
	"websocket.bad.yaml": {
		`websocket: max_connections must be greater than 0 (default 10000)`,
		`websocket: max_subscriptions must be greater than 0 (default 128)`,
		`websocket: max_message_bytes must be at least 1024`,
		`websocket: send_buffer must be greater than 0`,
		`websocket: ping_interval must be greater than 0`,
		`websocket: ping_timeout must be greater than 0`,
		`websocket: write_timeout must be greater than 0`,
		`filters: idle must be greater than 0 (default 5m0s)`,
		`filters: max must be greater than 0`,
		`filters: max_changes must be greater than 0`},
	"cache.bad.yaml": {
		`cache: backend "disk" is not one of memory, redis, off`,
		`cache: max_bytes must be at least 1048576`,
		`cache: max_entry_bytes must be greater than 0 and at most an eighth of max_bytes`,
		`cache: tip_ttl must be greater than 0 (default 1m0s)`,
		`cache: final_ttl must be greater than 0 (default 24h0m0s)`,
		`redis: url http://127.0.0.1:6379/… must use the scheme redis:// or rediss://`,
		`redis: prefix "has space" must be non-empty, without spaces or braces`,
		`redis: timeout must be greater than 0 (default 250ms)`},
	"cache-redis-without-url.bad.yaml": {`cache: backend redis needs redis.url`},
	"unknown-websocket-key.bad.yaml":   {`line 2: unknown key "max_conections" in websocket (did you mean "max_connections"?)`},
	"quorum-scalar.bad.yaml":           {`line 4: quorum: expected a mapping such as "quorum: {k: 2}", got 2`},
	"unknown-quorum-key.bad.yaml":      {`line 7: unknown key "ignore_field" in quorum method (did you mean "ignore_fields"?)`},
	"front.bad.yaml": {
		`limits: max_batch_response_bytes must be greater than 0 (default 25000000)`,
		`websocket: max_connections_per_client must be greater than 0 (default 1000)`,
		`websocket: max_subscriptions_per_client must be greater than 0 (default 1000)`,
		`filters: max_per_client must be greater than 0 (default 1000)`,
		`trusted_proxies item 2 "10.0.0.0/33" is neither an IP address nor a CIDR prefix`,
		`trusted_proxies item 3 "proxy.local" is neither an IP address nor a CIDR prefix`,
		`cors: origins item 1 "app.example.com" must be an origin such as "https://app.example.com"`,
		`cors: origins item 2 "https://app.example.com/" must be scheme://host[:port] with no path`,
		`cors: origins item 3 "https://*.*.example.com" may hold at most one "*"`,
		`cors: origins item 4 "" is empty`,
		`cors: max_age must not be negative (default 10m0s)`},
	"zero-limits.bad.yaml": {
		`limits: max_batch must be greater than 0`,
		`limits: max_attempts must be at least 1`},
	"method-star.bad.yaml": {
		`network "mainnet": methods.deny item 1 "de*bug": "*" may only end a prefix`,
		`network "mainnet": methods.deny item 2 is empty`},
	"duplicate-key.bad.yaml":       {`line 7: key "url" is set twice (first at line 6)`},
	"networks-not-a-list.bad.yaml": {`line 2: networks: expected a list of networks, got a mapping`},
	"syntax.bad.yaml":              {`syntax.bad.yaml: line 1: did not find expected '-' indicator`},
	"peers-ledger.bad.yaml": {
		`network "mainnet": peers.ledger: age_multiplier must be at least 1 (old content is worth no less than new), got 0.5`,
		`network "sepolia": peers.ledger: age_buckets must be increasing depths above 0, got [7200 128]`,
		`network "holesky": peers.ledger: capacity, max_waiting, claims_per_peer, sample_batch and repair_batch must be positive`},
	"missing-url-and-name.bad.yaml": {
		`network "mainnet" upstream #1: name is required`,
		`network "mainnet" upstream #1: url is required`},
}

func TestBadFiles(t *testing.T) {
	for name, wants := range badFiles {
		t.Run(name, func(t *testing.T) {
			c, err := loadTestdata(t, name)
			if err == nil {
				t.Fatalf("no error; config %+v", c)
			}
			if c != nil {
				t.Error("config returned along with an error")
			}
			for _, want := range wants {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error does not contain\n  %s\ngot:\n  %v", want, err)
				}
			}
		})
	}
}

func TestLoad(t *testing.T) {
	c, err := Load(filepath.Join("testdata", "minimal.good.yaml"))
	if err != nil || c.Network("mainnet") == nil {
		t.Fatalf("Load(minimal) = %+v, %v", c, err)
	}
	path := filepath.Join("testdata", "missing-operator.bad.yaml")
	if _, err := Load(path); err == nil || !strings.HasPrefix(err.Error(), path+": ") {
		t.Errorf("Load(%s) error = %v, want it prefixed with the path", path, err)
	}
	if _, err := Load(filepath.Join("testdata", "does-not-exist.yaml")); err == nil || !os.IsNotExist(unwrapAll(err)) {
		t.Errorf("Load(missing file) error = %v", err)
	}
}

func unwrapAll(err error) error {
	for {
		u, ok := err.(interface{ Unwrap() error })
		if !ok {
			return err
		}
		err = u.Unwrap()
	}
}

func TestParseUsesProcessEnv(t *testing.T) {
	t.Setenv("BRAID_TEST_OPERATOR", "op-from-env")
	src := "networks:\n- name: n\n  chain_id: 1\n  upstreams:\n  - {name: u, url: 'http://h:1', operator: '${BRAID_TEST_OPERATOR}'}\n"
	c, err := Parse([]byte(src), "inline")
	if err != nil {
		t.Fatal(err)
	}
	if got := c.Networks[0].Upstreams[0].Operator; got != "op-from-env" {
		t.Errorf("operator = %q", got)
	}
}

func TestElementDefaults(t *testing.T) {
	tests := []struct {
		rps       float64
		burst     int
		wantBurst int
	}{
		{0, 0, 0},
		{0.2, 0, 1},
		{1, 0, 1},
		{2.5, 0, 3},
		{100, 0, 100},
		{100, 7, 7},
		{1e300, 0, 1<<31 - 1},
	}
	for _, tt := range tests {
		c := &Config{Networks: []Network{{Upstreams: []Upstream{{RPS: tt.rps, Burst: tt.burst}}}}}
		c.ApplyDefaults()
		u := c.Networks[0].Upstreams[0]
		if u.Burst != tt.wantBurst || u.Timeout != DefaultUpstreamTimeout || u.MaxIdleConns != DefaultMaxIdleConns {
			t.Errorf("rps %v burst %d: got %+v, want burst %d", tt.rps, tt.burst, u, tt.wantBurst)
		}
	}
}

func TestExpandString(t *testing.T) {
	env := lookupIn(map[string]string{"A": "x", "B_2": "yy", "EMPTY": ""})
	tests := []struct {
		in, want, wantErr string
	}{
		{in: "plain", want: "plain"},
		{in: "${A}", want: "x"},
		{in: "pre-${A}-${B_2}-post", want: "pre-x-yy-post"},
		{in: "${EMPTY}", wantErr: "environment variable EMPTY is set but empty"},
		{in: "pre-${EMPTY}", wantErr: "environment variable EMPTY is set but empty (write ${EMPTY:-} where empty is meant)"},
		{in: "${A:-fallback}", want: "x"},
		{in: "${MISSING:-fallback}", want: "fallback"},
		{in: "${EMPTY:-fallback}", want: "fallback"},
		{in: "${MISSING:-}", want: ""},
		{in: "${EMPTY:-}", want: ""},
		{in: "redis://${MISSING:-127.0.0.1:6379}/0", want: "redis://127.0.0.1:6379/0"},
		{in: "${MISSING:-a$b}-${A}", want: "a$b-x"},
		{in: "${MISSING:-${A}}", wantErr: `a default may not hold "${" (nested references are not expanded)`},
		{in: "${A:fallback}", wantErr: "invalid environment variable reference at character 1"},
		{in: "${:-x}", wantErr: "invalid environment variable reference at character 1"},
		{in: "$A $$ $${A} $", want: "$A $$ $x $"},
		{in: "${A}}", want: "x}"},
		{in: "${MISSING}", wantErr: "environment variable MISSING is not set"},
		{in: "abc${A", wantErr: `"${" at character 4 has no closing "}"`},
		{in: "${}", wantErr: "invalid environment variable reference at character 1"},
		{in: "${1A}", wantErr: "invalid environment variable reference"},
		{in: "${A-B}", wantErr: "invalid environment variable reference"},
		{in: "${${A}}", wantErr: "invalid environment variable reference"},
	}
	for _, tt := range tests {
		got, err := expandString(tt.in, env)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("expandString(%q) error = %v, want %q", tt.in, err, tt.wantErr)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("expandString(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
}

func TestErrorsReportEveryProblem(t *testing.T) {
	src := `
listen: nowhere
networks:
  - name: ""
    chain_id: 0
  - name: ok
    chain_id: 1
    upstreams:
      - {name: a, url: "ftp://h", operator: ""}
      - {name: b, url: "http://h:1", operator: x, timeout: -1s, burst: -1}
`
	_, err := ParseWithEnv([]byte(src), "multi.yaml", lookupIn(nil))
	if err == nil {
		t.Fatal("no error")
	}
	lines := strings.Split(err.Error(), "\n")
	wants := []string{
		`multi.yaml: listen "nowhere" must be host:port with a port number`,
		`multi.yaml: network #1: name is required`,
		`multi.yaml: network #1: chain_id is required`,
		`multi.yaml: network #1: no upstreams`,
		`multi.yaml: network "ok" upstream "a": url must use http or https`,
		`multi.yaml: network "ok" upstream "a": operator is required`,
		`multi.yaml: network "ok" upstream "b": timeout must not be negative`,
		`multi.yaml: network "ok" upstream "b": burst must not be negative`,
	}
	if len(lines) != len(wants) {
		t.Errorf("got %d problems, want %d:\n%v", len(lines), len(wants), err)
	}
	for _, want := range wants {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("missing %q in:\n%v", want, err)
		}
	}
}

// TestOptionalEnv loads a file whose redis.url is ${VAR:-}: the cache
// backend follows the expanded value, not the reference.
func TestOptionalEnv(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("testdata", "optional-env.good.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		env         map[string]string
		wantRedis   string
		wantBackend string
		wantURL     string
	}{
		{nil, "", CacheMemory, "http://127.0.0.1:8545"},
		{map[string]string{"BRAID_TEST_REDIS_URL": ""}, "", CacheMemory, "http://127.0.0.1:8545"},
		{map[string]string{"BRAID_TEST_REDIS_URL": "redis://r:6379/0", "BRAID_TEST_HOST": "10.0.0.5"},
			"redis://r:6379/0", CacheRedis, "http://10.0.0.5:8545"},
	} {
		c, err := ParseWithEnv(data, "optional-env.good.yaml", lookupIn(tt.env))
		if err != nil {
			t.Fatalf("env %v: %v", tt.env, err)
		}
		if c.Redis.URL != tt.wantRedis || c.Cache.Backend != tt.wantBackend || c.Networks[0].Upstreams[0].URL != tt.wantURL {
			t.Errorf("env %v: redis %q backend %q url %q; want %q %q %q", tt.env, c.Redis.URL, c.Cache.Backend,
				c.Networks[0].Upstreams[0].URL, tt.wantRedis, tt.wantBackend, tt.wantURL)
		}
	}
}
