package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/braidrpc/braid/internal/report"
)

// checkConfig is a network of three operators (infura runs two upstreams)
// with the quorum and require sections of each test spliced in.
const checkConfig = `networks:
  - name: mainnet
    chain_id: 1
%s
    upstreams:
      - {name: infura-a, url: "https://mainnet.infura.io/v3/SECRETKEY_A", operator: infura}
      - {name: infura-b, url: "https://mainnet.infura.io/v3/SECRETKEY_B", operator: infura}
      - {name: alchemy, url: "https://eth-mainnet.g.alchemy.com/v2/SECRETKEY", operator: alchemy}
      - {name: home, url: "http://10.0.0.5:8545", operator: self}
`

func writeConfig(t *testing.T, extra string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "braid.yaml")
	if err := os.WriteFile(path, []byte(strings.Replace(checkConfig, "%s", extra, 1)), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestCheck(t *testing.T) {
	tests := []struct {
		name   string
		extra  string // YAML under the network, or "" for none
		args   []string
		code   int
		stdout []string
		stderr string
	}{
		{
			name:  "requirements met",
			extra: "    quorum: {k: 2}\n    require: {availability: 2, integrity: 2}",
			code:  0,
			stdout: []string{
				"network mainnet (chain 1): 3 operators, 4 upstreams",
				"  availability   2   the fewest operators whose loss stops service",
				"  integrity      2   the fewest colluding operators",
				"  require        availability ≥ 2: met · integrity ≥ 2: met",
				"every requirement is met",
			},
		},
		{
			name:  "integrity unmet",
			extra: "    require: {integrity: 2}",
			code:  1,
			stdout: []string{
				"  integrity      1   the fewest colluding operators",
				"- no quorum: any one operator can return a wrong answer (set quorum.k)",
				"  require        integrity ≥ 2: NOT MET (1)",
				"requirements NOT met in mainnet",
			},
		},
		{
			name:  "availability unmet",
			extra: "    quorum: {k: 3}\n    require: {availability: 2}",
			code:  1,
			stdout: []string{
				"  availability   1   the fewest operators whose loss stops service",
				"reads 2 · quorum reads 1 · transactions 3",
			},
		},
		{
			name:   "no requirements",
			code:   0,
			stdout: []string{"  require        none"},
		},
		{name: "no config flag", args: []string{}, code: 2, stderr: "--config FILE is required"},
		{name: "unknown flag", args: []string{"--nope"}, code: 2, stderr: "flag provided but not defined: -nope"},
		{name: "extra argument", args: []string{"--config", "x.yaml", "more"}, code: 2, stderr: `unexpected argument "more"`},
		{name: "missing file", args: []string{"--config", "/nonexistent/braid.yaml"}, code: 2, stderr: "read config"},
		{name: "invalid config", extra: "    quorum: {k: -1}", code: 2, stderr: "quorum.k must be at least 1"},
		{
			name:   "invalid peers.ledger, peers off",
			extra:  "    peers:\n      ledger: {age_multiplier: 0.5}",
			code:   2,
			stderr: `network "mainnet": peers.ledger: age_multiplier must be at least 1`,
		},
		{
			name:   "invalid quorum method",
			extra:  "    quorum:\n      k: 2\n      methods: {eth_sendRawTransaction: {k: 2}}",
			code:   2,
			stderr: "eth_sendRawTransaction",
		},
		{name: "help", args: []string{"-h"}, code: 0, stderr: "Usage: braid check --config FILE [--json]"},
		{
			name:   "quorum above the operators",
			extra:  "    quorum: {k: 4}",
			code:   2,
			stderr: "quorum.k is 4 but the network has only 3 operators (infura, alchemy, self): no quorum read could ever get 4 to agree",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := tt.args
			if args == nil {
				args = []string{"--config", writeConfig(t, tt.extra)}
			}
			var stdout, stderr bytes.Buffer
			if code := runCheck(args, &stdout, &stderr); code != tt.code {
				t.Errorf("exit code %d, want %d\nstdout:\n%s\nstderr:\n%s", code, tt.code, &stdout, &stderr)
			}
			for _, want := range tt.stdout {
				if !strings.Contains(stdout.String(), want) {
					t.Errorf("stdout lacks %q:\n%s", want, &stdout)
				}
			}
			if !strings.Contains(stderr.String(), tt.stderr) {
				t.Errorf("stderr lacks %q:\n%s", tt.stderr, &stderr)
			}
			if tt.stderr == "" && stderr.Len() > 0 {
				t.Errorf("unexpected stderr:\n%s", &stderr)
			}
			if strings.Contains(stdout.String()+stderr.String(), "SECRETKEY") {
				t.Errorf("output shows an upstream URL:\n%s%s", &stdout, &stderr)
			}
		})
	}
}

func TestCheckJSON(t *testing.T) {
	path := writeConfig(t, "    quorum: {k: 2, on_shortfall: best_effort}\n    require: {availability: 3}")
	var stdout, stderr bytes.Buffer
	if code := runCheck([]string{"--json", "--config", path}, &stdout, &stderr); code != 1 {
		t.Fatalf("exit code %d, want 1\n%s%s", code, &stdout, &stderr)
	}
	var r report.Report
	if err := json.Unmarshal(stdout.Bytes(), &r); err != nil {
		t.Fatalf("--json output does not parse: %v\n%s", err, &stdout)
	}
	if r.OK || len(r.Networks) != 1 {
		t.Fatalf("report = %+v", r)
	}
	n := r.Networks[0]
	if n.Name != "mainnet" || n.ChainID != 1 || len(n.Operators) != 3 || n.Window != "" {
		t.Errorf("network = %+v", n)
	}
	if n.Availability.Min != 2 || n.Integrity.Value != 2 || n.Quorum.OnShortfall != "best_effort" {
		t.Errorf("availability %+v, integrity %+v, quorum %+v", n.Availability, n.Integrity, n.Quorum)
	}
	if len(n.Require.Unmet) != 1 || n.Require.Unmet[0] != "availability 2 is below the required 3" {
		t.Errorf("unmet = %q", n.Require.Unmet)
	}
	if !strings.HasPrefix(stdout.String(), "{\n  \"networks\": [\n") {
		t.Errorf("JSON is not indented:\n%s", &stdout)
	}
	if strings.Contains(stdout.String(), "SECRETKEY") {
		t.Errorf("JSON shows an upstream URL:\n%s", &stdout)
	}
}

// TestCheckSameURL: a URL configured under a second operator is one
// endpoint, counted once, and the report says so without showing the key.
func TestCheckSameURL(t *testing.T) {
	path := filepath.Join(t.TempDir(), "braid.yaml")
	cfg := strings.Replace(checkConfig, "%s", "    quorum: {k: 2}", 1)
	cfg = strings.Replace(cfg, "https://eth-mainnet.g.alchemy.com/v2/SECRETKEY", "https://MAINNET.infura.io:443/v3/SECRETKEY_A/", 1)
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	if code := runCheck([]string{"--config", path}, &stdout, &stderr); code != 0 {
		t.Fatalf("exit code %d\n%s%s", code, &stdout, &stderr)
	}
	for _, want := range []string{
		"network mainnet (chain 1): 2 operators, 3 upstreams",
		`- upstreams "infura-a" (operator infura) and "alchemy" (operator alchemy) have the same URL (https://mainnet.infura.io/…)`,
	} {
		if !strings.Contains(stdout.String(), want) {
			t.Errorf("stdout lacks %q:\n%s", want, &stdout)
		}
	}
	if strings.Contains(stdout.String()+stderr.String(), "SECRETKEY") {
		t.Errorf("output shows an upstream URL:\n%s%s", &stdout, &stderr)
	}
}
