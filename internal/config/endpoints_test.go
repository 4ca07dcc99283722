package config

import (
	"reflect"
	"strings"
	"testing"
)

func TestEndpointKey(t *testing.T) {
	same := [][]string{
		{"https://mainnet.infura.io/v3/KEY", "HTTPS://Mainnet.Infura.IO/v3/KEY", "https://mainnet.infura.io:443/v3/KEY", "https://mainnet.infura.io/v3/KEY/", " https://mainnet.infura.io/v3/KEY"},
		{"http://127.0.0.1:8545", "http://127.0.0.1:8545/", "HTTP://127.0.0.1:8545//"},
		{"http://node.example", "http://node.example:80", "http://node.example/"},
		{"http://[::1]:8545/", "http://[::1]:8545"},
		{"http://[::1]", "http://[::1]:80/"},
		{"https://h.example/?k=1", "https://h.example?k=1"},
	}
	differ := []string{
		"https://mainnet.infura.io/v3/KEY",
		"https://mainnet.infura.io/v3/key", // paths are case-sensitive
		"https://mainnet.infura.io/v3/KEY2",
		"http://mainnet.infura.io/v3/KEY",       // another scheme
		"https://mainnet.infura.io:8443/v3/KEY", // another port
		"https://user:KEY@mainnet.infura.io/v3/KEY",
		"https://mainnet.infura.io/v3/KEY?x=1",
		"http://127.0.0.1:8545",
		"http://127.0.0.1:8546",
	}
	for _, group := range same {
		for _, u := range group[1:] {
			if EndpointKey(u) != EndpointKey(group[0]) || EndpointKey(u) == "" {
				t.Errorf("EndpointKey(%q) = %q, want it equal to EndpointKey(%q) = %q", u, EndpointKey(u), group[0], EndpointKey(group[0]))
			}
		}
	}
	seen := map[string]string{}
	for _, u := range differ {
		k := EndpointKey(u)
		if prev, dup := seen[k]; dup {
			t.Errorf("EndpointKey(%q) = EndpointKey(%q) = %q, want them to differ", u, prev, k)
		}
		seen[k] = u
	}
	for _, bad := range []string{"", "KEY", "/v3/KEY", "http:///x", "mailto:k@h", "http://a b/"} {
		if k := EndpointKey(bad); k != "" {
			t.Errorf("EndpointKey(%q) = %q, want \"\"", bad, k)
		}
	}
}

// sameURLNetwork has "copy" (operator alchemy) at infura's URL written
// differently, and "again" repeating self's URL under self.
func sameURLNetwork() *Network {
	return &Network{Name: "mainnet", ChainID: 1, Upstreams: []Upstream{
		{Name: "infura", Operator: "infura", URL: "https://mainnet.infura.io/v3/SECRETKEY"},
		{Name: "self", Operator: "self", URL: "http://10.0.0.5:8545"},
		{Name: "copy", Operator: "alchemy", URL: "HTTPS://mainnet.infura.io:443/v3/SECRETKEY/"},
		{Name: "again", Operator: "self", URL: "http://10.0.0.5:8545/"},
		{Name: "other", Operator: "ankr", URL: "https://rpc.ankr.com/eth/SECRETKEY"},
	}}
}

func TestSameEndpoints(t *testing.T) {
	n := sameURLNetwork()
	want := []SameEndpoint{{First: 0, Again: 2}, {First: 1, Again: 3}}
	if got := n.SameEndpoints(); !reflect.DeepEqual(got, want) {
		t.Errorf("SameEndpoints = %+v, want %+v", got, want)
	}
	// alchemy's only URL is infura's: it is not an operator of its own.
	if got, want := n.DistinctOperators(), []string{"infura", "self", "ankr"}; !reflect.DeepEqual(got, want) {
		t.Errorf("DistinctOperators = %q, want %q", got, want)
	}
	if got, want := n.Operators(), []string{"infura", "self", "alchemy", "ankr"}; !reflect.DeepEqual(got, want) {
		t.Errorf("Operators = %q, want %q (as configured)", got, want)
	}
	// An operator with a URL of its own besides the shared one still counts.
	n.Upstreams = append(n.Upstreams, Upstream{Name: "alchemy", Operator: "alchemy", URL: "https://eth-mainnet.g.alchemy.com/v2/SECRETKEY"})
	if got, want := n.DistinctOperators(), []string{"infura", "self", "ankr", "alchemy"}; !reflect.DeepEqual(got, want) {
		t.Errorf("DistinctOperators = %q, want %q", got, want)
	}
	if got := validConfig().Networks[0].SameEndpoints(); got != nil {
		t.Errorf("SameEndpoints of distinct URLs = %+v", got)
	}
}

func TestConfigWarnings(t *testing.T) {
	c := Default()
	c.Networks = []Network{*sameURLNetwork()}
	got := c.Warnings()
	want := []string{
		`network "mainnet": upstreams "infura" (operator infura) and "copy" (operator alchemy) have the same URL (https://mainnet.infura.io/…): one endpoint cannot be two independent operators, so the report counts it once, as operator infura's`,
		`network "mainnet": upstreams "self" and "again" of operator self have the same URL (http://10.0.0.5:8545): it is one endpoint and counts as one upstream`,
	}
	if len(got) != len(want) {
		t.Fatalf("Warnings = %q, want %d", got, len(want))
	}
	for i := range want {
		if !strings.HasPrefix(got[i], want[i]) {
			t.Errorf("warning %d = %q, want it to start with %q", i, got[i], want[i])
		}
		if strings.Contains(got[i], "SECRETKEY") || strings.Contains(got[i], "v3") {
			t.Errorf("warning %d shows the URL's path: %q", i, got[i])
		}
	}
	if w := validConfig().Warnings(); w != nil {
		t.Errorf("Warnings of a clean config = %q", w)
	}
}
