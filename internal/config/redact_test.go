package config

import (
	"strings"
	"testing"
)

func TestRedact(t *testing.T) {
	tests := []struct{ in, want string }{
		{"https://mainnet.infura.io/v3/KEY", "https://mainnet.infura.io/…"},
		{"http://127.0.0.1:8545", "http://127.0.0.1:8545"},
		{"http://127.0.0.1:8545/", "http://127.0.0.1:8545"},
		{"https://h.example?apikey=KEY", "https://h.example/…"},
		{"https://h.example/?apikey=KEY", "https://h.example/…"},
		{"https://h.example#KEY", "https://h.example/…"},
		{"https://user:KEY@h.example", "https://h.example/…"},
		{"https://user:KEY@h.example:8443/p", "https://h.example:8443/…"},
		{"wss://eth.example/ws/v2/KEY", "wss://eth.example/…"},
		{"http://[::1]:8545", "http://[::1]:8545"},
		{"https://h.example/a%2Fb", "https://h.example/…"},
		{"", ""},
		{"KEY", "(invalid url)"},
		{"/v3/KEY", "(invalid url)"},
		{"http:///v3/KEY", "(invalid url)"},
		{"mailto:KEY@example.com", "(invalid url)"},
		{"http://h.example:port/KEY", "(invalid url)"},
		{"http://a b/KEY", "(invalid url)"},
		{"http://h/\x00KEY", "(invalid url)"},
	}
	for _, tt := range tests {
		got := Redact(tt.in)
		if got != tt.want {
			t.Errorf("Redact(%q) = %q, want %q", tt.in, got, tt.want)
		}
		if strings.Contains(got, "KEY") {
			t.Errorf("Redact(%q) = %q shows the key", tt.in, got)
		}
	}
}

// TestErrorsNeverLeakURL parses invalid configurations whose upstream URL
// carries a key in its path and query, and checks that no error text shows
// it, whatever the problem.
func TestErrorsNeverLeakURL(t *testing.T) {
	const secret = "SECRET123"
	const head = "networks:\n  - name: mainnet\n    chain_id: 1\n    upstreams:\n"
	upstream := func(fields string) string {
		return head + "      - " + fields + "\n"
	}
	u := "https://mainnet.infura.io/v3/SECRET123?key=SECRET123"
	tests := map[string]string{
		"missing operator":  upstream(`{name: a, url: "` + u + `"}`),
		"ftp scheme":        upstream(`{name: a, url: "ftp://h/SECRET123?k=SECRET123", operator: o}`),
		"ws scheme in url":  upstream(`{name: a, url: "wss://h/SECRET123?k=SECRET123", operator: o}`),
		"no scheme":         upstream(`{name: a, url: "SECRET123/v3?k=SECRET123", operator: o}`),
		"no host":           upstream(`{name: a, url: "https:///SECRET123?k=SECRET123", operator: o}`),
		"space in host":     upstream(`{name: a, url: "https://ho st/SECRET123?k=SECRET123", operator: o}`),
		"bad port":          upstream(`{name: a, url: "https://h:x/SECRET123?k=SECRET123", operator: o}`),
		"bad escape":        upstream(`{name: a, url: "https://h/SECRET123%zz?k=SECRET123", operator: o}`),
		"control character": upstream(`{name: a, url: "https://h/SECRET123\u0007?k=SECRET123", operator: o}`),
		"bad ws_url":        upstream(`{name: a, url: "` + u + `", ws_url: "https://h/SECRET123?k=SECRET123", operator: o}`),
		"unset variable":    upstream(`{name: a, url: "https://h/SECRET123/${NOPE}?k=SECRET123", operator: o}`),
		"unterminated var":  upstream(`{name: a, url: "https://h/SECRET123/${NOPE?k=SECRET123", operator: o}`),
		"bad var name":      upstream(`{name: a, url: "https://h/${SECRET123-x}?k=SECRET123", operator: o}`),
		"secret from env":   upstream(`{name: a, url: "ftp://h/${KEY}?k=${KEY}", operator: o}`),
		"unknown key":       upstream(`{name: a, url: "` + u + `", operator: o, timout: 1s}`),
		"url in duration":   upstream(`{name: a, url: "` + u + `", operator: o, timeout: "` + u + `"}`),
		"url as list":       upstream(`{name: a, url: ["` + u + `"], operator: o}`),
		"url as key":        upstream(`{name: a, "` + u + `": x, operator: o}`),
		"duplicate url key": upstream(`{name: a, url: "` + u + `", url: "` + u + `", operator: o}`),
		"duplicate name":    upstream(`{name: a, url: "`+u+`", operator: o}`) + `      - {name: a, url: "` + u + `", operator: o}` + "\n",
		"chain id zero":     strings.Replace(upstream(`{name: a, url: "`+u+`", operator: o}`), "chain_id: 1", "chain_id: 0", 1),
		"listen is the url": "listen: \"" + u + "\"\n" + upstream(`{name: a, url: "`+u+`", operator: o}`),
		"network named url": strings.Replace(upstream(`{name: a, url: "`+u+`", operator: o}`), "name: mainnet", `name: "`+u+`"`, 1),
		"operator is url":   upstream(`{name: a, url: "` + u + `", operator: "` + u + `", rps: -1}`),
	}
	env := lookupIn(map[string]string{"KEY": secret})
	for name, src := range tests {
		t.Run(name, func(t *testing.T) {
			_, err := ParseWithEnv([]byte(src), "leak.yaml", env)
			if err == nil {
				t.Fatalf("no error for:\n%s", src)
			}
			if strings.Contains(err.Error(), secret) {
				t.Errorf("error shows the key:\n%v", err)
			}
		})
	}
}
