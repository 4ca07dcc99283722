package server_test

import (
	"bufio"
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/braidrpc/braid/internal/await"
)

// TestRSSUnderBatchAttack measures a braid binary's resident memory under
// the batch attack; docs/benchmarks.md has the figures and the
// commands. It runs only when BRAID_RSS_BIN names the binary:
//
//	go build -o /tmp/braid-rss ./cmd/braid
//	BRAID_RSS_BIN=/tmp/braid-rss go test -run TestRSSUnderBatchAttack -v ./internal/server/
//
// The binary serves one network over a fake provider on loopback whose
// eth_getLogs answers BRAID_RSS_RESULT_BYTES (default 1 MB). Once braid
// knows its tip, the attack is one batch of BRAID_RSS_MEMBERS (default
// 1000) full-range eth_getLogs, then BRAID_RSS_CONCURRENT (default 10)
// such batches at once. The members are identical (braid merges them into
// one fetch), or with BRAID_RSS_DISTINCT set each names another address,
// so each is fetched. BRAID_RSS_CACHE=off turns braid's cache (256 MB by
// default, which such answers fill) off. The peak
// resident memory (VmHWM in /proc/PID/status) is logged after each. A
// binary whose resident memory passes BRAID_RSS_CAP_MB (default 8192) is
// killed, so that the measurement cannot take the machine down.
func TestRSSUnderBatchAttack(t *testing.T) {
	bin := os.Getenv("BRAID_RSS_BIN")
	if bin == "" {
		t.Skip("BRAID_RSS_BIN is not set: this measures a built binary's memory")
	}
	resultBytes, members, concurrent := envInt(t, "BRAID_RSS_RESULT_BYTES", 1_000_000),
		envInt(t, "BRAID_RSS_MEMBERS", 1000), envInt(t, "BRAID_RSS_CONCURRENT", 10)
	distinct := os.Getenv("BRAID_RSS_DISTINCT") != ""
	cacheBackend := cmp.Or(os.Getenv("BRAID_RSS_CACHE"), "memory")
	capKB := envInt(t, "BRAID_RSS_CAP_MB", 8192) << 10

	f := newFake(t, "p1", 1)
	f.Answer("eth_getLogs", `"result":[{"data":"0x`+strings.Repeat("ab", resultBytes/2)+`"}]`)
	addr := freeAddr(t)
	cfgPath := filepath.Join(t.TempDir(), "braid.yaml")
	cfg := fmt.Sprintf("listen: %q\ncache: {backend: %s}\nnetworks:\n  - name: mainnet\n    chain_id: 1\n    upstreams:\n      - {name: p1, operator: op1, url: %q}\n", addr, cacheBackend, f.URL())
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "serve", "--config", cfgPath, "--log-level", "error")
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	pid := cmd.Process.Pid
	killed := watchRSS(ctx, pid, capKB, cmd.Process)
	waitServing(t, "http://"+addr)
	t.Logf("binary %s, cache %s, %d members (distinct: %v) of %d bytes each, then %d batches at once",
		bin, cacheBackend, members, distinct, resultBytes, concurrent)
	t.Logf("after start: VmRSS %d MB", procStatus(pid, "VmRSS")>>10)

	sent := 0
	batch := func() string {
		parts := make([]string, members)
		for i := range parts {
			filter := `{"fromBlock":"0x0","toBlock":"latest"}`
			if distinct { // nothing merged, nothing cached: every member is fetched
				sent++
				filter = fmt.Sprintf(`{"fromBlock":"0x0","toBlock":"latest","address":"0x%040x"}`, sent)
			}
			parts[i] = fmt.Sprintf(`{"jsonrpc":"2.0","id":%d,"method":"eth_getLogs","params":[%s]}`, i, filter)
		}
		return "[" + strings.Join(parts, ",") + "]"
	}
	for _, n := range []int{1, concurrent} {
		f.ResetCalls()
		var wg sync.WaitGroup
		results := make([]string, n)
		for i := range n {
			wg.Add(1)
			body := batch()
			go func() {
				defer wg.Done()
				results[i] = attack("http://"+addr, body)
			}()
		}
		wg.Wait()
		t.Logf("%d batch(es) at once: answers %s; %d eth_getLogs reached the provider; VmHWM %d MB, VmRSS %d MB%s",
			n, strings.Join(results, ", "), f.Calls("eth_getLogs"), procStatus(pid, "VmHWM")>>10, procStatus(pid, "VmRSS")>>10, killed())
	}
}

func envInt(t *testing.T, name string, def int) int {
	t.Helper()
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		t.Fatalf("%s=%q: %v", name, v, err)
	}
	return n
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// waitServing waits (bounded) until braid at u knows the tip it serves.
func waitServing(t *testing.T, u string) {
	t.Helper()
	await.Until(t, "braid serving its tip", func() bool {
		var st struct {
			Networks []struct {
				Tip struct {
					Known bool `json:"known"`
				} `json:"tip"`
			} `json:"networks"`
		}
		res, err := http.Get(u + "/status")
		if err != nil {
			return false
		}
		err = json.NewDecoder(res.Body).Decode(&st)
		res.Body.Close()
		return err == nil && len(st.Networks) == 1 && st.Networks[0].Tip.Known
	})
}

// attack posts body and describes the answer: its size, or what failed.
func attack(u, body string) string {
	res, err := http.Post(u, "application/json", strings.NewReader(body))
	if err != nil {
		return "failed: " + err.Error()
	}
	defer res.Body.Close()
	n, err := io.Copy(io.Discard, res.Body)
	if err != nil {
		return fmt.Sprintf("HTTP %d cut after %d bytes: %v", res.StatusCode, n, err)
	}
	return fmt.Sprintf("HTTP %d %d MB", res.StatusCode, n>>20)
}

// procStatus returns a "kB" field of /proc/pid/status (0 if unknown).
func procStatus(pid int, field string) int {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), field+":"); ok {
			n, _ := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(v), " kB"))
			return n
		}
	}
	return 0
}

// watchRSS kills p once its resident memory passes capKB; the returned
// func says whether it did.
func watchRSS(ctx context.Context, pid, capKB int, p *os.Process) func() string {
	var mu sync.Mutex
	var note string
	go func() {
		for ctx.Err() == nil {
			if rss := procStatus(pid, "VmRSS"); rss > capKB {
				mu.Lock()
				note = fmt.Sprintf(" (killed at VmRSS %d MB, over the %d MB cap)", rss>>10, capKB>>10)
				mu.Unlock()
				_ = p.Kill()
				return
			}
			time.Sleep(10 * time.Millisecond)
		}
	}()
	return func() string {
		mu.Lock()
		defer mu.Unlock()
		return note
	}
}
