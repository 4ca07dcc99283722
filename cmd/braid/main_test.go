package main

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/braidrpc/braid/internal/await"
	"github.com/braidrpc/braid/internal/config"
	"github.com/braidrpc/braid/internal/devnet"
	"github.com/braidrpc/braid/internal/report"
	"github.com/braidrpc/braid/internal/server"
)

func post(t *testing.T, url, body string) string {
	t.Helper()
	resp, err := http.Post(url, "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

// TestDemo runs `braid demo` as a user would: it prints its endpoint, the
// endpoint answers, /demo/info and /demo/faults work, a provider taken
// down does not break calls (with --quorum 2, the other two agree), the
// centralization report reflects the quorum, and cancelling the context
// shuts it down.
func TestDemo(t *testing.T) {
	pr, pw := io.Pipe()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- demo(ctx, demoOptions{listen: "127.0.0.1:0", providers: 3, blockTime: 200 * time.Millisecond, quorum: 2},
			pw, slog.New(slog.DiscardHandler))
		pw.Close()
	}()
	endpoint := ""
	sc := bufio.NewScanner(pr)
	re := regexp.MustCompile(`endpoint\s+(http://\S+)`)
	var banner strings.Builder
	for sc.Scan() {
		banner.WriteString(sc.Text() + "\n")
		if m := re.FindStringSubmatch(sc.Text()); m != nil {
			endpoint = m[1]
		}
		if strings.Contains(sc.Text(), "/metrics") {
			break
		}
	}
	go io.Copy(io.Discard, pr)
	if endpoint == "" {
		t.Fatalf("no endpoint in the banner:\n%s", banner.String())
	}
	for _, want := range []string{"p1", "p3", "curl", "/demo/faults", devnet.UserKey, "/status/disputes", "/status/centralization"} {
		if !strings.Contains(banner.String(), want) {
			t.Errorf("banner lacks %q", want)
		}
	}

	// Wait until ready (a served tip), bounded.
	await.Until(t, "the demo ready", func() bool {
		resp, err := http.Get(endpoint + "/readyz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == 200
	})

	resp, err := http.Get(endpoint + "/demo/info")
	if err != nil {
		t.Fatal(err)
	}
	var info devnet.Info
	if err := json.NewDecoder(resp.Body).Decode(&info); err != nil || info.ChainID != 1337 || len(info.Providers) != 3 {
		t.Fatalf("info %+v %v", info, err)
	}
	resp.Body.Close()

	if got := post(t, endpoint, `{"jsonrpc":"2.0","id":7,"method":"eth_chainId"}`); got != `{"jsonrpc":"2.0","id":7,"result":"0x539"}` {
		t.Fatalf("eth_chainId: %s", got)
	}
	if got := post(t, endpoint+"/demo/faults", `{"provider":"p1","down":true}`); !strings.Contains(got, `"down": true`) && !strings.Contains(got, `"down":true`) {
		t.Fatalf("set fault: %s", got)
	}
	for i := 0; i < 30; i++ {
		got := post(t, endpoint+"/devnet", `{"jsonrpc":"2.0","id":1,"method":"eth_getBalance","params":["`+info.Account.Address.Hex()+`","latest"]}`)
		if !strings.Contains(got, `"result":"0x`) {
			t.Fatalf("call %d with p1 down: %s", i, got)
		}
	}
	var rep report.Report
	if got := get(t, endpoint+"/status/centralization"); json.Unmarshal([]byte(got), &rep) != nil ||
		len(rep.Networks) != 1 || rep.Networks[0].Integrity.Value != 2 {
		t.Errorf("centralization report without integrity 2:\n%s", got)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("demo returned %v on shutdown", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("demo did not shut down")
	}
}

// TestServeRejectsBadConfig: serve explains a bad config and exits non-zero.
func TestServeRejectsBadConfig(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "braid.yaml")
	if err := os.WriteFile(path, []byte("networks:\n  - name: main\n    chain_id: 1\n    upstreams:\n      - name: a\n        url: https://example.invalid/SECRET\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	err := runServe([]string{"--config", path}, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "operator") || strings.Contains(err.Error(), "SECRET") {
		t.Fatalf("err = %v", err)
	}
	if err := runServe(nil, io.Discard); err == nil || !strings.Contains(err.Error(), "--config") {
		t.Fatalf("no --config: %v", err)
	}
	if err := runServe([]string{"--config", path, "--log-format", "xml"}, io.Discard); err == nil || !strings.Contains(err.Error(), "log-format") {
		t.Fatalf("bad log format: %v", err)
	}
}

// TestServeServesAConfigFile: serve with a real config file in front of a
// devnet answers calls, and stops cleanly when its context ends.
func TestServeServesAConfigFile(t *testing.T) {
	dn, err := devnet.New(context.Background(), devnet.Options{Providers: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer dn.Close()
	var b strings.Builder
	b.WriteString("listen: 127.0.0.1:0\nnetworks:\n  - name: dev\n    chain_id: 1337\n    upstreams:\n")
	for _, u := range dn.Upstreams() {
		b.WriteString("      - name: " + u.Name + "\n        operator: " + u.Operator + "\n        url: " + u.URL + "\n")
	}
	path := filepath.Join(t.TempDir(), "braid.yaml")
	if err := os.WriteFile(path, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, ln, log := loadForTest(t, path)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- run(ctx, cfg, ln, log) }()
	url := "http://" + ln.Addr().String() + "/dev"
	await.Until(t, "an answer to eth_blockNumber", func() bool {
		return strings.Contains(post(t, url, `{"jsonrpc":"2.0","id":1,"method":"eth_blockNumber"}`), `"result"`)
	})
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

func loadForTest(t *testing.T, path string) (*config.Config, net.Listener, *slog.Logger) {
	t.Helper()
	cfg, err := config.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := server.Listen(cfg.Listen)
	if err != nil {
		t.Fatal(err)
	}
	return cfg, ln, slog.New(slog.DiscardHandler)
}

func get(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}
