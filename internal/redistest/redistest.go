// Package redistest starts real redis-server processes on loopback for tests.
//
// It is a non-test package so that the tests of any package can import it.
// A missing redis-server binary fails the test with a message naming
// scripts/test.sh, which installs it: tests that need Redis never skip
// silently.
package redistest

import (
	"bufio"
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

const (
	readyWait = 10 * time.Second
	stopWait  = 5 * time.Second
)

// Server is one redis-server process listening on 127.0.0.1. Its methods are
// meant to be called from the test's own goroutine.
type Server struct {
	t    testing.TB
	bin  string
	dir  string
	port int
	args []string

	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{} // closed when cmd has exited
	logf string
}

// Start runs redis-server on 127.0.0.1 at a free port, with no persistence,
// in a t.TempDir(). It fails the test when the binary is not found or the
// server does not answer PING within 10 seconds. The server is stopped by
// t.Cleanup.
func Start(t testing.TB) *Server {
	t.Helper()
	return StartArgs(t)
}

// StartArgs is Start with extra redis-server arguments, for example
// "--requirepass", "secret".
func StartArgs(t testing.TB, extra ...string) *Server {
	t.Helper()
	bin, err := lookup()
	if err != nil {
		t.Fatalf("redistest: %v", err)
	}
	s := &Server{t: t, bin: bin, dir: t.TempDir(), args: extra}
	t.Cleanup(s.kill)

	// A free port can be taken by someone else between our probe and
	// redis-server's bind; try a few ports before giving up.
	var lastErr error
	for range 5 {
		port, err := freePort()
		if err != nil {
			t.Fatalf("redistest: finding a free port: %v", err)
		}
		s.port = port
		if lastErr = s.launch(); lastErr == nil {
			return s
		}
	}
	t.Fatalf("redistest: %v", lastErr)
	return nil
}

// URL is the server's redis:// URL, database 0.
func (s *Server) URL() string { return "redis://" + s.Addr() + "/0" }

// Addr is the server's host:port.
func (s *Server) Addr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(s.port)) }

// Stop kills the server with SIGKILL, as a crash would, and waits until its
// port refuses connections. Stopping a stopped server does nothing.
func (s *Server) Stop() {
	s.t.Helper()
	s.kill()
	deadline := time.Now().Add(stopWait)
	for {
		c, err := net.DialTimeout("tcp", s.Addr(), 200*time.Millisecond)
		if err != nil {
			return
		}
		c.Close()
		if time.Now().After(deadline) {
			s.t.Fatalf("redistest: %s still accepts connections %v after SIGKILL", s.Addr(), stopWait)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Restart starts the server again on the same port after Stop and waits
// until it answers PING. The data is gone: the server keeps nothing on disk.
func (s *Server) Restart() {
	s.t.Helper()
	s.mu.Lock()
	running := s.cmd != nil
	s.mu.Unlock()
	if running {
		s.t.Fatalf("redistest: Restart of %s while it is running; call Stop first", s.Addr())
	}
	// The port was just released; a rebind can briefly fail, so retry.
	var err error
	for range 3 {
		if err = s.launch(); err == nil {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	s.t.Fatalf("redistest: restarting on %s: %v", s.Addr(), err)
}

// launch starts redis-server on s.port and waits until it is ready.
func (s *Server) launch() error {
	logf := filepath.Join(s.dir, fmt.Sprintf("redis-%d.log", time.Now().UnixNano()))
	out, err := os.Create(logf)
	if err != nil {
		return err
	}
	args := []string{
		"--port", strconv.Itoa(s.port),
		"--bind", "127.0.0.1",
		"--save", "",
		"--appendonly", "no",
		"--dir", s.dir,
		"--daemonize", "no",
		"--loglevel", "notice",
	}
	args = append(args, s.args...)
	cmd := exec.Command(s.bin, args...)
	cmd.Dir = s.dir
	cmd.Stdout = out
	cmd.Stderr = out
	if err := cmd.Start(); err != nil {
		out.Close()
		return fmt.Errorf("starting %s: %w", s.bin, err)
	}
	done := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		out.Close()
		close(done)
	}()
	s.mu.Lock()
	s.cmd, s.done, s.logf = cmd, done, logf
	s.mu.Unlock()

	deadline := time.Now().Add(readyWait)
	for {
		select {
		case <-done:
			s.mu.Lock()
			s.cmd, s.done = nil, nil
			s.mu.Unlock()
			return fmt.Errorf("redis-server on port %d exited before answering PING; its output:\n%s", s.port, tail(logf))
		default:
		}
		// The log line proves the answer comes from our process and not
		// from another server that took the port first.
		if ready(logf) && ping(s.Addr()) {
			return nil
		}
		if time.Now().After(deadline) {
			s.kill()
			return fmt.Errorf("redis-server on port %d did not answer PING within %v; its output:\n%s", s.port, readyWait, tail(logf))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// kill sends SIGKILL and waits for the process to exit.
func (s *Server) kill() {
	s.mu.Lock()
	cmd, done := s.cmd, s.done
	s.cmd, s.done = nil, nil
	s.mu.Unlock()
	if cmd == nil {
		return
	}
	_ = cmd.Process.Kill()
	<-done
}

// ping reports whether a Redis server at addr answers: a PONG, or a refusal
// that only a running server could give (NOAUTH when it wants a password).
func ping(addr string) bool {
	c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
	if err != nil {
		return false
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(time.Second))
	if _, err := c.Write([]byte("PING\r\n")); err != nil {
		return false
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return false
	}
	return strings.HasPrefix(line, "+PONG") || strings.HasPrefix(line, "-NOAUTH")
}

// ready reports whether redis-server's log says it accepts connections.
func ready(logf string) bool {
	b, err := os.ReadFile(logf)
	return err == nil && bytes.Contains(b, []byte("Ready to accept connections"))
}

// fallbacks are where Debian and friends put redis-server, for a PATH that
// lacks them (sbin directories often are not in a test runner's PATH).
var fallbacks = []string{"/usr/bin/redis-server", "/usr/sbin/redis-server", "/usr/local/bin/redis-server"}

// lookup finds the redis-server binary.
func lookup() (string, error) { return lookupIn(fallbacks) }

func lookupIn(fallbacks []string) (string, error) {
	if p, err := exec.LookPath("redis-server"); err == nil {
		return p, nil
	}
	for _, p := range fallbacks {
		if fi, err := os.Stat(p); err == nil && !fi.IsDir() && fi.Mode()&0o111 != 0 {
			return p, nil
		}
	}
	return "", fmt.Errorf("redis-server not found in PATH, /usr/bin or /usr/sbin: these tests need a real Redis; " +
		"run them through scripts/test.sh, which installs redis-server (or install it yourself, e.g. apt-get install redis-server)")
}

// freePort asks the kernel for a free loopback port.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// tail returns the last lines of a log file, for failure messages.
func tail(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return "(no output: " + err.Error() + ")"
	}
	b = bytes.TrimSpace(b)
	if len(b) > 4000 {
		b = b[len(b)-4000:]
	}
	if len(b) == 0 {
		return "(no output)"
	}
	return string(b)
}
