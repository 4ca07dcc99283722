package server

import (
	"log/slog"
	"net/http"
	"net/netip"
	"testing"
)

func TestClientOf(t *testing.T) {
	cl := clients{trusted: trustedProxies([]string{"10.0.0.0/8", "::1", "bogus"}, slog.New(slog.DiscardHandler))}
	if len(cl.trusted) != 2 {
		t.Fatalf("trusted %v", cl.trusted)
	}
	tests := []struct {
		remote string
		xff    []string
		want   string
	}{
		{"127.0.0.1:5000", nil, "127.0.0.1"},
		{"127.0.0.1:5000", []string{"1.1.1.1"}, "127.0.0.1"}, // not a trusted proxy: ignored
		{"[::ffff:192.0.2.1]:80", nil, "192.0.2.1"},
		{"[2001:db8:aa:bb:1:2:3:4]:80", nil, "2001:db8:aa:bb::/64"},
		{"[fe80::1%eth0]:80", nil, "fe80::/64"},
		{"in-process", nil, ""},
		{"", nil, ""},
		{"10.1.1.1:80", nil, "10.1.1.1"},
		{"10.1.1.1:80", []string{"198.51.100.7"}, "198.51.100.7"},
		{"10.1.1.1:80", []string{"6.6.6.6, 198.51.100.7"}, "198.51.100.7"},    // the client's own entry is not believed
		{"10.1.1.1:80", []string{"198.51.100.7, 10.2.2.2"}, "198.51.100.7"},   // a chain of trusted proxies
		{"10.1.1.1:80", []string{"198.51.100.7", "10.2.2.2"}, "198.51.100.7"}, // over several header lines
		{"10.1.1.1:80", []string{"10.3.3.3, 10.2.2.2"}, "10.3.3.3"},           // only proxies: the farthest
		{"10.1.1.1:80", []string{"198.51.100.7, garbage"}, "10.1.1.1"},        // a bad hop: the last trusted one
		{"10.1.1.1:80", []string{"198.51.100.7:4242"}, "198.51.100.7"},
		{"10.1.1.1:80", []string{"[2001:db8::5]:443"}, "2001:db8::/64"},
		{"10.1.1.1:80", []string{""}, "10.1.1.1"},
		{"[::1]:80", []string{"::ffff:203.0.113.9"}, "203.0.113.9"},
	}
	for _, tt := range tests {
		r := &http.Request{RemoteAddr: tt.remote, Header: http.Header{}}
		for _, v := range tt.xff {
			r.Header.Add("X-Forwarded-For", v)
		}
		if got := cl.of(r); got != tt.want {
			t.Errorf("remote %q X-Forwarded-For %q: %q, want %q", tt.remote, tt.xff, got, tt.want)
		}
	}
}

// FuzzClientOf: whatever a client writes into X-Forwarded-For, it never
// panics braid, never makes a client from an untrusted address anyone but
// itself, and names a client as an address or an IPv6 /64.
func FuzzClientOf(f *testing.F) {
	for _, s := range []string{"", "198.51.100.7", "6.6.6.6, 198.51.100.7", "garbage, 10.2.2.2", "[::1]:80", "1.2.3.4:5, ,,", "2001:db8::1%eth0"} {
		f.Add(s, true)
		f.Add(s, false)
	}
	cl := clients{trusted: trustedProxies([]string{"10.0.0.0/8"}, slog.New(slog.DiscardHandler))}
	f.Fuzz(func(t *testing.T, xff string, viaProxy bool) {
		remote := "192.0.2.1:4000"
		if viaProxy {
			remote = "10.1.1.1:4000"
		}
		r := &http.Request{RemoteAddr: remote, Header: http.Header{"X-Forwarded-For": {xff}}}
		got := cl.of(r)
		if !viaProxy && got != "192.0.2.1" {
			t.Fatalf("an untrusted client with X-Forwarded-For %q counts as %q", xff, got)
		}
		if _, err := netip.ParseAddr(got); err != nil {
			if p, err := netip.ParsePrefix(got); err != nil || p.Bits() != 64 {
				t.Fatalf("X-Forwarded-For %q: client %q is neither an address nor a /64", xff, got)
			}
		}
	})
}
