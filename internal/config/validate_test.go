package config

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"
)

func validConfig() *Config {
	c := Default()
	c.Networks = []Network{{
		Name:    "mainnet",
		ChainID: 1,
		Upstreams: []Upstream{
			{Name: "a", URL: "https://a.example/v3/K", Operator: "acme", Timeout: time.Second},
			{Name: "b", URL: "http://127.0.0.1:8545", WSURL: "ws://127.0.0.1:8546", Operator: "self"},
			{Name: "c", URL: "https://a.example/v3/K2", Operator: "acme"},
		},
	}}
	return c
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(c *Config)
		want   string // "" means valid
	}{
		{"valid", func(c *Config) {}, ""},
		{"listen any host", func(c *Config) { c.Listen = ":8545" }, ""},
		{"listen ipv6", func(c *Config) { c.Listen = "[::1]:8545" }, ""},
		{"listen empty port", func(c *Config) { c.Listen = "127.0.0.1:" }, `listen "127.0.0.1:" must be host:port`},
		{"listen empty", func(c *Config) { c.Listen = "" }, `listen "" must be host:port`},
		{"max_body_bytes", func(c *Config) { c.Limits.MaxBodyBytes = 0 }, "limits: max_body_bytes must be greater than 0"},
		{"request_timeout", func(c *Config) { c.Limits.RequestTimeout = 0 }, "limits: request_timeout must be greater than 0"},
		{"max_response_bytes", func(c *Config) { c.Limits.MaxResponseBytes = -1 }, "limits: max_response_bytes must be greater than 0"},
		{"shutdown_timeout", func(c *Config) { c.Limits.ShutdownTimeout = -time.Second }, "limits: shutdown_timeout must not be negative"},
		{"shutdown_timeout zero", func(c *Config) { c.Limits.ShutdownTimeout = 0 }, ""},
		{"no networks", func(c *Config) { c.Networks = nil }, "no networks configured"},
		{"reserved healthz", func(c *Config) { c.Networks[0].Name = "healthz" }, `network "healthz": name is reserved`},
		{"reserved readyz", func(c *Config) { c.Networks[0].Name = "readyz" }, `network "readyz": name is reserved`},
		{"reserved demo", func(c *Config) { c.Networks[0].Name = "demo" }, `network "demo": name is reserved`},
		{"name with slash", func(c *Config) { c.Networks[0].Name = "main/net" }, "name must be usable as a URL path"},
		{"name ok chars", func(c *Config) { c.Networks[0].Name = "base-sepolia_2" }, ""},
		{"ws url as url", func(c *Config) { c.Networks[0].Upstreams[0].URL = "wss://a.example/K" },
			`upstream "a": url must use http or https; put a WebSocket endpoint in ws_url`},
		{"relative url", func(c *Config) { c.Networks[0].Upstreams[0].URL = "a.example/v3/K" },
			`upstream "a": url must be an absolute URL starting with http:// or https://`},
		{"unparsable url", func(c *Config) { c.Networks[0].Upstreams[0].URL = "http://a b/K" },
			`upstream "a": url is not a valid URL`},
		{"ws_url no host", func(c *Config) { c.Networks[0].Upstreams[1].WSURL = "ws:///x" }, `upstream "b": ws_url has no host`},
		{"ws_url scheme", func(c *Config) { c.Networks[0].Upstreams[1].WSURL = "ftp://h" }, `upstream "b": ws_url must use ws or wss`},
		{"url upper-case scheme", func(c *Config) { c.Networks[0].Upstreams[0].URL = "HTTPS://a.example/K" }, ""},
		{"blank operator", func(c *Config) { c.Networks[0].Upstreams[0].Operator = "  " }, `upstream "a": operator is required`},
		{"rps inf", func(c *Config) { c.Networks[0].Upstreams[0].RPS = inf() }, `upstream "a": rps must be a number of at least 0`},
		{"max_idle_conns", func(c *Config) { c.Networks[0].Upstreams[0].MaxIdleConns = -1 }, `upstream "a": max_idle_conns must not be negative`},
		{"allow star only", func(c *Config) { c.Networks[0].Methods.Allow = []string{"*"} }, ""},
		{"peers off by default", func(c *Config) {}, ""},
		{"peers enabled", func(c *Config) { c.Networks[0].Peers = goodPeers() }, ""},
		{"peers no store", func(c *Config) { p := goodPeers(); p.Store.Path = ""; c.Networks[0].Peers = p },
			`network "mainnet": peers.store.path is required when peers are enabled`},
		{"peers no listen", func(c *Config) { p := goodPeers(); p.Listen = nil; c.Networks[0].Peers = p },
			`network "mainnet": peers.listen is required when peers are enabled`},
		{"peers listen not multiaddr", func(c *Config) { p := goodPeers(); p.Listen = []string{"0.0.0.0:4001"}; c.Networks[0].Peers = p },
			`peers.listen item 1 "0.0.0.0:4001" must be a multiaddr`},
		{"peers bootstrap without id", func(c *Config) {
			p := goodPeers()
			p.Bootstrap = []string{"/ip4/10.0.0.1/tcp/4001"}
			c.Networks[0].Peers = p
		},
			`peers.bootstrap item 1 "/ip4/10.0.0.1/tcp/4001" must be a multiaddr ending in /p2p/<peer id>`},
		{"peers keep", func(c *Config) { p := goodPeers(); p.Keep = "from 12"; c.Networks[0].Peers = p },
			`peers.keep must be "none", "all", "pre-merge" or "from:N" (a block number), got "from 12"`},
		{"peers keep from", func(c *Config) { p := goodPeers(); p.Keep = "from: 15537394"; c.Networks[0].Peers = p }, ""},
		{"peers keep checked when off", func(c *Config) { c.Networks[0].Peers.Keep = "most" }, `peers.keep must be`},
		{"peers tiny store", func(c *Config) { p := goodPeers(); p.Store.MaxBytes = 100; c.Networks[0].Peers = p },
			"peers.store.max_bytes must be at least 1048576"},
		{"peers dial range", func(c *Config) { p := goodPeers(); p.DialRanges = []string{"10.0.0.0"}; c.Networks[0].Peers = p },
			`peers.dial_ranges item 1 "10.0.0.0" must be a CIDR prefix`},
		{"peers negative limit", func(c *Config) { p := goodPeers(); p.Limits.Rate = -1; c.Networks[0].Peers = p },
			"peers.limits must not be negative"},
		{"allow space", func(c *Config) { c.Networks[0].Methods.Allow = []string{"eth_call "} }, `methods.allow item 1 "eth_call " contains white space`},
		{"deny leading star", func(c *Config) { c.Networks[0].Methods.Deny = []string{"*_call"} }, `methods.deny item 1 "*_call": "*" may only end a prefix`},
		{"quorum k = operators", func(c *Config) { c.Networks[0].Quorum.K = 2 }, ""},
		{"quorum k above operators", func(c *Config) { c.Networks[0].Quorum.K = 3 },
			`network "mainnet": quorum.k is 3 but the network has only 2 operators (acme, self): no quorum read could ever get 3 to agree; lower it to at most 2`},
		{"method k above operators", func(c *Config) {
			c.Networks[0].Quorum.Methods = map[string]MethodQuorum{"eth_call": {K: 2}, "logs": {K: 4}}
		}, `network "mainnet": quorum.methods.logs.k is 4 but the network has only 2 operators (acme, self)`},
		{"quorum k above operators, best effort", func(c *Config) {
			c.Networks[0].Quorum = Quorum{K: 5, OnShortfall: OnShortfallBestEffort}
		}, `quorum.k is 5 but the network has only 2 operators`},
		{"min_operators above operators", func(c *Config) { c.Networks[0].Head.MinOperators = 3 },
			`head.min_operators is 3 but the network has only 2 operators (acme, self): no block could ever be served`},
		{"same URL as another operator's counts once", func(c *Config) {
			c.Networks[0].Upstreams[1].URL = "https://A.example:443/v3/K/"
			c.Networks[0].Quorum.K = 2
		}, `quorum.k is 2 but the network has only 1 operator (acme; upstreams with the same URL count once)`},
		{"duplicate unnamed upstreams", func(c *Config) {
			c.Networks[0].Upstreams[0].Name = ""
			c.Networks[0].Upstreams[1].Name = ""
		}, `network "mainnet" upstream #2: name is required`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := validConfig()
			tt.mutate(c)
			err := c.Validate()
			if tt.want == "" {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error = %v\nwant it to contain %q", err, tt.want)
			}
		})
	}
}

func inf() float64 { var z float64; return 1 / z }

func TestValidateJoinsProblems(t *testing.T) {
	c := validConfig()
	c.Limits.MaxBatch = 0
	c.Networks[0].ChainID = 0
	c.Networks[0].Upstreams[2].Operator = ""
	err := c.Validate()
	j, ok := err.(interface{ Unwrap() []error })
	if !ok {
		t.Fatalf("error %T is not joined", err)
	}
	if n := len(j.Unwrap()); n != 3 {
		t.Errorf("%d problems, want 3:\n%v", n, err)
	}
	if errors.Unwrap(err) != nil {
		t.Error("joined error should not have a single Unwrap")
	}
}

func TestOperators(t *testing.T) {
	n := validConfig().Network("mainnet")
	if got, want := n.Operators(), []string{"acme", "self"}; !reflect.DeepEqual(got, want) {
		t.Errorf("Operators() = %q, want %q", got, want)
	}
	if got := (&Network{}).Operators(); len(got) != 0 {
		t.Errorf("Operators() of empty network = %q", got)
	}
}

func TestNetworkReturnsElement(t *testing.T) {
	c := validConfig()
	c.Network("mainnet").ChainID = 5
	if c.Networks[0].ChainID != 5 {
		t.Error("Network returned a copy, want a pointer into Networks")
	}
	if c.Network("MAINNET") != nil || c.Network("") != nil {
		t.Error("Network matched a different name")
	}
}

func goodPeers() Peers {
	return Peers{Enabled: true, Listen: []string{"/ip4/127.0.0.1/tcp/0"}, Store: PeerStore{Path: "/var/lib/braid/history", MaxBytes: 1 << 30},
		Keep: "pre-merge", Bootstrap: []string{"/ip4/10.0.0.1/tcp/4001/p2p/12D3KooWExample"}, DialRanges: []string{"10.0.0.0/8"}}
}

func TestPeersDefaults(t *testing.T) {
	c := validConfig()
	c.Networks[0].Peers.Store.Path = "/data/h/"
	c.ApplyDefaults()
	p := c.Networks[0].Peers
	if p.Enabled || p.Store.MaxBytes != DefaultPeerStoreMaxBytes || p.Fill.BytesPerSecond != DefaultPeerFillBytesPerSec ||
		p.Keep != "none" || p.Identity != "/data/h/identity.key" {
		t.Errorf("defaults: %+v", p)
	}
	for in, want := range map[string]PeerKeep{"": {Mode: "none"}, "all": {Mode: "all"}, "pre-merge": {Mode: "pre-merge"},
		"from:7": {Mode: "from", From: 7}, " from: 15537394 ": {Mode: "from", From: 15537394}} {
		if got, err := ParsePeerKeep(in); err != nil || got != want {
			t.Errorf("ParsePeerKeep(%q) = %+v, %v; want %+v", in, got, err, want)
		}
	}
}
