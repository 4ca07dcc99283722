package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestHistoryImportCommandLine checks what `braid history import` refuses
// before it contacts anyone: a missing subcommand, config or directory
// (exit 2), and a network without a history store.
func TestHistoryImportCommandLine(t *testing.T) {
	dir := t.TempDir()
	noPeers := filepath.Join(dir, "no-peers.yaml")
	if err := os.WriteFile(noPeers, []byte("networks:\n  - name: main\n    chain_id: 1\n    upstreams:\n      - {name: a, url: \"http://127.0.0.1:1\", operator: a}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"history"}, 2, `braid history import --config FILE DIR`},
		{[]string{"history", "export"}, 2, `braid history import --config FILE DIR`},
		{[]string{"history", "import", dir}, 2, "--config FILE and one directory"},
		{[]string{"history", "import", "--bogus", dir}, 2, "flag provided but not defined"},
		{[]string{"history", "import", "--config", noPeers, dir, dir}, 2, "one directory, got"},
		{[]string{"history", "import", "--config", noPeers}, 2, "--config FILE and one directory"},
		{[]string{"history", "import", "--config", noPeers, dir}, 1, "no network has peers.enabled"},
		{[]string{"history", "import", "--config", noPeers, "--network", "main", dir}, 1, `network "main" has peers.enabled off`},
		{[]string{"history", "import", "--config", noPeers, "--network", "other", dir}, 1, `no network "other"`},
	} {
		var stdout, stderr bytes.Buffer
		code := runMain(c.args, &stdout, &stderr)
		if code != c.code || !strings.Contains(stderr.String(), c.want) {
			t.Errorf("%v: exit %d, stderr %q; want %d and %q", c.args, code, stderr.String(), c.code, c.want)
		}
	}
	var stdout bytes.Buffer
	if code := runMain([]string{"history", "-h"}, &stdout, &bytes.Buffer{}); code != 0 || !strings.Contains(stdout.String(), "era1") {
		t.Errorf("history -h: exit %d, %q", code, stdout.String())
	}
}
