package access

import (
	"net/http/httptest"
	"regexp"
	"testing"
)

func TestNewKey(t *testing.T) {
	seen := make(map[string]bool)
	for range 100 {
		k := NewKey()
		if !regexp.MustCompile(`^bk_[a-z2-7]{40}$`).MatchString(k) {
			t.Fatalf("key %q is not bk_ and 40 base32 characters", k)
		}
		if seen[k] {
			t.Fatal("the same key twice")
		}
		seen[k] = true
		if !LooksLikeKey(k) {
			t.Errorf("LooksLikeKey(new key) = false")
		}
	}
	for _, s := range []string{"mainnet", "bk_", "bk", "sepolia-bk_x"} {
		if LooksLikeKey(s) {
			t.Errorf("LooksLikeKey(%q) = true", s)
		}
	}
	if id := ID("sha256:0123456789abcdef0123"); id != "0123456789ab" {
		t.Errorf("ID = %q", id)
	}
}

func TestKeyAllows(t *testing.T) {
	k := &Key{allow: []string{"eth_*", "net_version"}, deny: []string{"eth_sendRawTransaction", "eth_sign*"}}
	for m, want := range map[string]bool{
		"eth_call": true, "net_version": true, "eth_sendRawTransaction": false, "eth_signTypedData": false,
		"debug_traceCall": false, "net_listening": false,
	} {
		if got := k.Allows(m); got != want {
			t.Errorf("Allows(%s) = %v, want %v", m, got, want)
		}
	}
	open := &Key{deny: []string{"debug_*"}}
	if !open.Allows("trace_block") || open.Allows("debug_traceCall") {
		t.Error("a deny list alone: everything else is allowed")
	}
}

func TestWeights(t *testing.T) {
	w := NewWeights(map[string]int64{"eth_call": 5, "debug_trace*": 1000, "my_*": 7}, 20)
	for m, want := range map[string]int64{
		"eth_chainId": 0, "net_version": 0, "eth_blockNumber": 10, "eth_getLogs": 75, "eth_getBalance": 20,
		"eth_call":               5,    // overridden
		"debug_traceCall":        1000, // the longer prefix wins
		"debug_getRawHeader":     300,
		"trace_block":            300,
		"my_method":              7,
		"some_unknownMethod":     20,
		"eth_sendRawTransaction": 250,
	} {
		if got := w.Of(m); got != want {
			t.Errorf("weight of %s = %d, want %d", m, got, want)
		}
	}
}

func TestPresented(t *testing.T) {
	const k1, k2 = "bk_aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "bk_bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
	tests := []struct {
		name    string
		path    string
		headers map[string]string
		want    string
		refused bool
	}{
		{name: "none"},
		{name: "path", path: k1, want: k1},
		{name: "bearer", headers: map[string]string{"Authorization": "Bearer " + k1}, want: k1},
		{name: "bearer lowercase", headers: map[string]string{"Authorization": "bearer  " + k1}, want: k1},
		{name: "x-api-key", headers: map[string]string{"X-Api-Key": k1}, want: k1},
		{name: "same key twice", path: k1, headers: map[string]string{"X-Api-Key": k1, "Authorization": "Bearer " + k1}, want: k1},
		{name: "basic is not a key", headers: map[string]string{"Authorization": "Basic dXNlcjpwYXNz"}},
		{name: "basic beside a key", headers: map[string]string{"Authorization": "Basic dXNlcjpwYXNz", "X-Api-Key": k1}, want: k1},
		{name: "path and header differ", path: k1, headers: map[string]string{"X-Api-Key": k2}, refused: true},
		{name: "headers differ", headers: map[string]string{"Authorization": "Bearer " + k1, "X-Api-Key": k2}, refused: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest("POST", "/", nil)
			for k, v := range tt.headers {
				r.Header.Set(k, v)
			}
			got, ref := Presented(r, tt.path)
			if (ref != nil) != tt.refused || got != tt.want {
				t.Fatalf("Presented = %q, %v; want %q, refused %v", got, ref, tt.want, tt.refused)
			}
			if ref != nil && (ref.Status != 401 || regexp.MustCompile(`bk_`).MatchString(string(ref.Err.Message)+string(ref.Err.Data))) {
				t.Errorf("refusal %d %s %s", ref.Status, ref.Err.Message, ref.Err.Data)
			}
		})
	}
}
