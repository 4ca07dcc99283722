package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/braidrpc/braid/internal/devnet"
	"github.com/braidrpc/braid/internal/redistest"
)

// keysCmd runs `braid keys args…` and returns the exit code and outputs.
func keysCmd(args ...string) (int, string, string) {
	var stdout, stderr bytes.Buffer
	code := runMain(append([]string{"keys"}, args...), &stdout, &stderr)
	return code, stdout.String(), stderr.String()
}

var keyLine = regexp.MustCompile(`^bk_[a-z2-7]{40}\n$`)

// keysCases adds, lists and revokes keys in the store the flags name.
func keysCases(t *testing.T, store ...string) {
	code, key, stderr := keysCmd(append([]string{"add", "--name", "app", "--rps", "5", "--daily-quota", "1000", "--deny", "debug_*"}, store...)...)
	if code != 0 || !keyLine.MatchString(key) || !strings.Contains(stderr, `added key "app" (id `) {
		t.Fatalf("add: exit %d, stdout %q, stderr %q", code, key, stderr)
	}
	key = strings.TrimSpace(key)
	if code, _, stderr := keysCmd(append([]string{"add", "--name", "app"}, store...)...); code != 1 || !strings.Contains(stderr, "an active key already has this name") {
		t.Errorf("a second app: exit %d, %q", code, stderr)
	}
	code, table, _ := keysCmd(append([]string{"list"}, store...)...)
	if code != 0 || !regexp.MustCompile(`(?m)^app +[0-9a-f]{12} +\w+ +active +all +5 +- +1000 +- +deny debug_\*`).MatchString(table) {
		t.Errorf("list: exit %d\n%s", code, table)
	}
	_, js, _ := keysCmd(append([]string{"list", "--json"}, store...)...)
	var listed []struct{ Name, ID, Hash string }
	if err := json.Unmarshal([]byte(js), &listed); err != nil || len(listed) != 1 || listed[0].Name != "app" {
		t.Fatalf("list --json: %v %s", err, js)
	}
	if strings.Contains(table+js, strings.TrimPrefix(key, "bk_")) {
		t.Error("list shows the key")
	}
	// Revoke by id, with the id after the flags and before them.
	args := append(append([]string{"revoke"}, store...), listed[0].ID)
	if code, out, stderr := keysCmd(args...); code != 0 || out != `revoked key "app" (id `+listed[0].ID+")\n" {
		t.Errorf("revoke: exit %d %q %q", code, out, stderr)
	}
	if code, _, stderr := keysCmd(append([]string{"revoke", "app"}, store...)...); code != 1 || !strings.Contains(stderr, "no such key") {
		t.Errorf("revoking it again: exit %d %q", code, stderr)
	}
	if _, table, _ := keysCmd(append([]string{"list"}, store...)...); !strings.Contains(table, "revoked") {
		t.Errorf("list after revoke:\n%s", table)
	}
}

func TestKeysFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "keys.json")
	keysCases(t, "--file", path)
	fi, err := os.Stat(path)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("key file: %v, mode %v", err, fi.Mode())
	}
}

func TestKeysRedis(t *testing.T) {
	srv := redistest.Start(t)
	keysCases(t, "--redis", srv.URL(), "--prefix", "braid-test")
}

func TestKeysUsage(t *testing.T) {
	for _, args := range [][]string{{"-h"}, {"add", "-h"}, {"list", "--help"}, {"revoke", "-h"}} {
		code, stdout, stderr := keysCmd(args...)
		if code != 0 || !strings.Contains(stdout+stderr, "Usage: braid keys") || !strings.Contains(stdout+stderr, "docs/configuration.md") {
			t.Errorf("keys %v: exit %d\n%s%s", args, code, stdout, stderr)
		}
	}
	dir := t.TempDir()
	for _, c := range []struct {
		args []string
		want string
	}{
		{nil, "add, list or revoke"},
		{[]string{"rotate"}, `unknown command "rotate"`},
		{[]string{"add", "--file", dir + "/k.json"}, "--name is required"},
		{[]string{"add", "--name", "x"}, "give one of --config FILE, --file PATH or --redis URL"},
		{[]string{"add", "--name", "x", "--file", "a", "--redis", "redis://127.0.0.1:1/0"}, "give one of"},
		{[]string{"revoke", "--file", dir + "/k.json"}, "which key?"},
		{[]string{"add", "--file", dir + "/k.json", "--name", "x", "--deny", "debug_*,trace*call"}, `keys add: --deny item 2 "trace*call": "*" may only end a prefix`},
		{[]string{"add", "--file", dir + "/k.json", "--name", "x", "--allow", "eth_call, eth get"}, `keys add: --allow item 2 "eth get" contains white space`},
	} {
		if code, _, stderr := keysCmd(c.args...); code != 2 || !strings.Contains(stderr, c.want) {
			t.Errorf("keys %v: exit %d, stderr %q, want exit 2 and %q", c.args, code, stderr, c.want)
		}
	}
}

// TestKeysServe: a key `braid keys add --config` makes works on a running
// braid serve of that config, and `braid keys revoke` stops it.
func TestKeysServe(t *testing.T) {
	dn, err := devnet.New(context.Background(), devnet.Options{Providers: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer dn.Close()
	dir := t.TempDir()
	var b strings.Builder
	b.WriteString("listen: 127.0.0.1:0\nauth:\n  required: true\n  store: file\n  file: " + filepath.Join(dir, "keys.json") +
		"\nnetworks:\n  - name: dev\n    chain_id: 1337\n    upstreams:\n")
	for _, u := range dn.Upstreams() {
		b.WriteString("      - name: " + u.Name + "\n        operator: " + u.Operator + "\n        url: " + u.URL + "\n")
	}
	path := filepath.Join(dir, "braid.yaml")
	if err := os.WriteFile(path, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, ln, log := loadForTest(t, path)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() { _ = run(ctx, cfg, ln, log) }()
	url := "http://" + ln.Addr().String() + "/dev/"
	_, key, _ := keysCmd("add", "--config", path, "--name", "app", "--networks", "dev")
	key = strings.TrimSpace(key)
	status := func() int {
		res, err := http.Post(url+key, "application/json", strings.NewReader(`{"jsonrpc":"2.0","id":1,"method":"eth_chainId"}`))
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res.StatusCode
	}
	waitStatus(t, status, http.StatusOK)
	if code, _, stderr := keysCmd("revoke", "app", "--config", path); code != 0 {
		t.Fatalf("revoke: %s", stderr)
	}
	waitStatus(t, status, http.StatusUnauthorized)
	if code, _, stderr := keysCmd("add", "--config", path, "--name", "x", "--networks", "nope"); code != 1 || !strings.Contains(stderr, `"nope" is not a network`) {
		t.Errorf("add for an unknown network: exit %d %q", code, stderr)
	}
}

// waitStatus polls status (bounded) until it returns want.
func waitStatus(t *testing.T, status func() int, want int) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for got := status(); got != want; got = status() {
		if time.Now().After(deadline) {
			t.Fatalf("HTTP %d, want %d", got, want)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
