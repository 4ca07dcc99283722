package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"
)

// proc is a child process: the fake upstream, the reverse proxy or braid.
type proc struct {
	name string
	cmd  *exec.Cmd
	URL  string
}

// start runs cmd and waits (bounded) until url answers ready (a GET that
// returns 200; "" when the child prints its address instead).
func start(name string, cmd *exec.Cmd, ready string) (*proc, error) {
	p := &proc{name: name, cmd: cmd}
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	lines := bufio.NewScanner(out)
	if ready == "" {
		// The child's first line names where it listens.
		if !lines.Scan() {
			p.stop()
			return nil, fmt.Errorf("%s exited before it listened", name)
		}
		p.URL = "http://" + strings.TrimPrefix(lines.Text(), "listening ")
	}
	go func() { _, _ = io.Copy(io.Discard, out) }()
	if ready != "" {
		p.URL = strings.TrimSuffix(ready, "readyz")
		if err := waitReady(ready, 60*time.Second); err != nil {
			p.stop()
			return nil, fmt.Errorf("%s: %w", name, err)
		}
	}
	return p, nil
}

func waitReady(url string, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) {
		resp, err := http.Get(url)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	return fmt.Errorf("not ready at %s within %s", url, limit)
}

// stop ends the child (SIGTERM, then SIGKILL after 5 s) and reaps it.
func (p *proc) stop() {
	if p == nil || p.cmd.Process == nil {
		return
	}
	_ = p.cmd.Process.Signal(os.Interrupt)
	done := make(chan struct{})
	go func() { _ = p.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		_ = p.cmd.Process.Kill()
		<-done
	}
}

// clockTick is the kernel's unit for a process's CPU times (USER_HZ),
// 100 on Linux.
const clockTick = 10 * time.Millisecond

// cpu is the CPU (user + system) the child has used so far.
func (p *proc) cpu() time.Duration {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", p.cmd.Process.Pid))
	if err != nil {
		return 0
	}
	// The command name (field 2) may hold spaces: count from its ')'.
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	if len(f) < 13 {
		return 0
	}
	utime, _ := strconv.ParseInt(f[11], 10, 64)
	stime, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(utime+stime) * clockTick
}

// rss is the child's resident memory now (VmRSS), at most so far
// (VmHWM), and its private part now (RssAnon: VmRSS less the pages of the
// binary and other files it maps, which the page cache shares), in bytes.
func (p *proc) rss() (now, peak, anon, file int64) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", p.cmd.Process.Pid))
	if err != nil {
		return 0, 0, 0, 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		kb, _ := strconv.ParseInt(f[1], 10, 64)
		switch f[0] {
		case "VmRSS:":
			now = kb << 10
		case "VmHWM:":
			peak = kb << 10
		case "RssAnon:":
			anon = kb << 10
		case "RssFile:":
			file = kb << 10
		}
	}
	return now, peak, anon, file
}

// freeAddr is a loopback address with a port nothing listens on now.
func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// braidConfig is a configuration for braid in front of the fake upstream.
func braidConfig(listen, upstream string, cacheBytes int64) string {
	cache := "cache:\n  backend: \"off\"\n"
	if cacheBytes > 0 {
		cache = fmt.Sprintf("cache:\n  backend: memory\n  max_bytes: %d\n", cacheBytes)
	}
	return fmt.Sprintf(`listen: %s
%snetworks:
  - name: mainnet
    chain_id: 1
    upstreams:
      - {name: fake, operator: fake-operator, url: %q}
`, listen, cache, upstream)
}

// startBraid runs the braid binary at bin over upstream, with env added
// to this process's environment.
func startBraid(ctx context.Context, bin, dir, name, upstream string, cacheBytes int64, env ...string) (*proc, error) {
	addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	cfg := dir + "/" + name + ".yaml"
	if err := os.WriteFile(cfg, []byte(braidConfig(addr, upstream, cacheBytes)), 0o600); err != nil {
		return nil, err
	}
	cmd := exec.CommandContext(ctx, bin, "serve", "--config", cfg, "--log-level", "warn")
	cmd.Env = append(os.Environ(), env...)
	return start(name, cmd, "http://"+addr+"/readyz")
}

// startRole runs this program again in another role (upstream, proxy).
func startRole(ctx context.Context, name string, args ...string) (*proc, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	return start(name, exec.CommandContext(ctx, self, args...), "")
}

var errUsage = errors.New("usage")
