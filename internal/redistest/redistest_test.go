package redistest

import (
	"bufio"
	"net"
	"strings"
	"testing"
	"time"
)

func pingOK(t *testing.T, addr string) bool {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return false
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(2 * time.Second))
	if _, err := c.Write([]byte("PING\r\n")); err != nil {
		return false
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	return err == nil && strings.HasPrefix(line, "+PONG")
}

func TestStartStopRestart(t *testing.T) {
	s := Start(t)
	if !strings.HasPrefix(s.URL(), "redis://127.0.0.1:") || !strings.HasSuffix(s.URL(), "/0") {
		t.Fatalf("URL = %q", s.URL())
	}
	if s.URL() != "redis://"+s.Addr()+"/0" {
		t.Fatalf("URL %q does not match Addr %q", s.URL(), s.Addr())
	}
	if !pingOK(t, s.Addr()) {
		t.Fatal("started server does not answer PING")
	}

	s.Stop()
	if c, err := net.DialTimeout("tcp", s.Addr(), time.Second); err == nil {
		c.Close()
		t.Fatal("stopped server still accepts connections")
	}
	s.Stop() // stopping twice is harmless

	addr := s.Addr()
	s.Restart()
	if s.Addr() != addr {
		t.Fatalf("restart moved the server from %s to %s", addr, s.Addr())
	}
	if !pingOK(t, s.Addr()) {
		t.Fatal("restarted server does not answer PING")
	}
}

func TestTwoServers(t *testing.T) {
	a, b := Start(t), Start(t)
	if a.Addr() == b.Addr() {
		t.Fatalf("two servers share %s", a.Addr())
	}
	a.Stop()
	if !pingOK(t, b.Addr()) {
		t.Fatal("stopping one server stopped the other")
	}
}

func TestStartArgsPassword(t *testing.T) {
	s := StartArgs(t, "--requirepass", "sekret")
	c, err := net.DialTimeout("tcp", s.Addr(), time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(2 * time.Second))
	r := bufio.NewReader(c)
	if _, err := c.Write([]byte("PING\r\n")); err != nil {
		t.Fatal(err)
	}
	if line, _ := r.ReadString('\n'); !strings.HasPrefix(line, "-NOAUTH") {
		t.Fatalf("PING without password answered %q, want NOAUTH", line)
	}
	if _, err := c.Write([]byte("AUTH sekret\r\nPING\r\n")); err != nil {
		t.Fatal(err)
	}
	if line, _ := r.ReadString('\n'); !strings.HasPrefix(line, "+OK") {
		t.Fatalf("AUTH answered %q", line)
	}
	if line, _ := r.ReadString('\n'); !strings.HasPrefix(line, "+PONG") {
		t.Fatalf("PING after AUTH answered %q", line)
	}
}

func TestMissingBinaryMessage(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	_, err := lookupIn(nil)
	if err == nil {
		t.Fatal("lookup found redis-server with an empty PATH and no fallbacks")
	}
	if !strings.Contains(err.Error(), "scripts/test.sh") {
		t.Fatalf("error %q does not name scripts/test.sh", err)
	}
}
