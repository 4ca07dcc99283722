package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestCheckFairAdmission: with keys on, braid check prints each network's
// fair admission, derived when auth.max_inflight is unset, and the
// warning when it is written off.
func TestCheckFairAdmission(t *testing.T) {
	const base = "keys:\n- {name: a, key: bk_aaaaaaaaaaaaaaaaaaaaaaaa}\n- {name: b, key: bk_bbbbbbbbbbbbbbbbbbbbbbbb}\n" +
		"networks:\n- name: mainnet\n  chain_id: 1\n  upstreams:\n" +
		"  - {name: a, operator: a, url: 'https://a.example', rps: 100}\n  - {name: b, operator: b, url: 'https://b.example', rps: 60}\n" +
		"- name: sepolia\n  chain_id: 11155111\n  upstreams:\n  - {name: c, operator: c, url: 'https://c.example'}\n"
	cases := []struct {
		auth string
		want []string
		not  string
	}{
		{"auth: {required: true}\n", []string{
			"network mainnet: fair admission: max_inflight 80 (derived from the upstreams' rps budgets)",
			"network sepolia: fair admission: max_inflight 256 (default: an upstream has no rps budget)"}, "warning:"},
		{"auth: {required: true, max_inflight: off}\n", []string{
			"network mainnet: fair admission: off", "warning: auth: max_inflight is off"}, "max_inflight 80"},
		{"auth: {required: true, max_inflight: 12}\n", []string{
			"network sepolia: fair admission: max_inflight 12 (auth.max_inflight)"}, "warning:"},
	}
	for _, c := range cases {
		path := filepath.Join(t.TempDir(), "braid.yaml")
		if err := os.WriteFile(path, []byte(c.auth+base), 0o600); err != nil {
			t.Fatal(err)
		}
		var stdout, stderr bytes.Buffer
		if code := runCheck([]string{"--config", path}, &stdout, &stderr); code != 0 && code != 1 {
			t.Fatalf("exit code %d\n%s%s", code, &stdout, &stderr)
		}
		for _, w := range c.want {
			if !strings.Contains(stdout.String(), w) {
				t.Errorf("%q: stdout lacks %q:\n%s", c.auth, w, &stdout)
			}
		}
		if strings.Contains(stdout.String(), c.not) {
			t.Errorf("%q: stdout has %q:\n%s", c.auth, c.not, &stdout)
		}
	}
}
