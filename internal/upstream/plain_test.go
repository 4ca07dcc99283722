package upstream

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/braidrpc/braid/internal/config"
)

func TestPlainHTTPUpstreamsUseH1(t *testing.T) {
	noProxy := func(*http.Request) (*url.URL, error) { return nil, nil }
	proxied := func(*http.Request) (*url.URL, error) { return url.Parse("http://proxy.example:3128") }
	tests := []struct {
		url   string
		proxy func(*http.Request) (*url.URL, error)
		h1    bool
	}{
		{"http://127.0.0.1:8545/", noProxy, true},
		{"http://user:pw@node.example/v1/KEY", noProxy, true},
		{"http://node.example/", proxied, false},
		{"https://node.example/v3/KEY", noProxy, false},
		{"http://[fe80::1%25eth0]:8545/", noProxy, false},
	}
	for _, tt := range tests {
		if got := plainClient(target(tt.url), 4, nil, tt.proxy) != nil; got != tt.h1 {
			t.Errorf("%s: h1 client %v, want %v", tt.url, got, tt.h1)
		}
	}
	u := newTestUpstream(t, func(w http.ResponseWriter, r *http.Request) {}, nil)
	if u.plain == nil {
		t.Fatal("an httptest (http://127.0.0.1) upstream does not use the h1 client: the tests here would not exercise it")
	}
}

// rawUpstream is an upstream over a loopback server that answers every
// request with answer.
func rawUpstream(t *testing.T, answer string, timeout time.Duration) *Upstream {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				br := bufio.NewReader(c)
				for {
					req, err := http.ReadRequest(br)
					if err != nil {
						return
					}
					_, _ = io.Copy(io.Discard, req.Body)
					if answer == "" { // never answer: wait for the client to leave
						_, _ = io.Copy(io.Discard, c)
						return
					}
					if _, err := io.WriteString(c, answer); err != nil {
						return
					}
				}
			}()
		}
	}()
	u := New(config.Upstream{Name: "u1", Operator: "op", URL: "http://" + ln.Addr().String() + "/v3/SECRETKEY", Timeout: timeout},
		Options{Network: "net", MaxResponseBytes: 1 << 10})
	t.Cleanup(u.Close)
	if u.plain == nil {
		t.Fatal("not on the h1 client")
	}
	return u
}

func TestCallOverH1(t *testing.T) {
	answer := func(head, body string) string {
		return fmt.Sprintf("HTTP/1.1 %s\r\nContent-Length: %d\r\n\r\n%s", head, len(body), body)
	}
	ok := `{"jsonrpc":"2.0","id":1,"result":"0x1"}`
	tests := []struct {
		name   string
		answer string
		kind   error // nil: the call succeeds
		status int
	}{
		{"ok", answer("200 OK", ok), nil, 0},
		{"redirect is a status", "HTTP/1.1 307 Temporary Redirect\r\nLocation: /other\r\nContent-Length: 0\r\n\r\n", ErrHTTPStatus, 307},
		{"429", "HTTP/1.1 429 Too Many Requests\r\nRetry-After: 2\r\nContent-Length: 0\r\n\r\n", ErrThrottled, 429},
		{"bad chunk", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", ErrTransport, 0},
		{"malformed", "HTTP/1.1 OK\r\n\r\n", ErrTransport, 0},
		{"brotli", "HTTP/1.1 200 OK\r\nContent-Encoding: br\r\nContent-Length: 3\r\n\r\nabc", ErrBadResponse, 0},
		{"too large", answer("200 OK", `{"jsonrpc":"2.0","id":1,"result":"`+strings.Repeat("a", 2<<10)+`"}`), ErrTooLarge, 0},
		{"timeout", "", ErrTimeout, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u := rawUpstream(t, tt.answer, 200*time.Millisecond)
			_, err := u.Call(context.Background(), "eth_blockNumber", nil)
			if tt.kind == nil {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			var ae *AttemptError
			if !errors.Is(err, tt.kind) || !errors.As(err, &ae) || ae.Status != tt.status {
				t.Fatalf("err = %v, want %v (status %d)", err, tt.kind, tt.status)
			}
			if tt.kind == ErrThrottled && ae.RetryAfter != 2*time.Second {
				t.Fatalf("Retry-After %v", ae.RetryAfter)
			}
			if strings.Contains(err.Error(), "SECRETKEY") || strings.Contains(err.Error(), "127.0.0.1") {
				t.Fatalf("error shows the URL: %v", err)
			}
		})
	}
}

func TestCloseClosesH1IdleConnections(t *testing.T) {
	u := rawUpstream(t, "HTTP/1.1 200 OK\r\nContent-Length: 39\r\n\r\n"+`{"jsonrpc":"2.0","id":1,"result":"0x1"}`, time.Second)
	if _, err := u.Call(context.Background(), "eth_chainId", nil); err != nil {
		t.Fatal(err)
	}
	if u.plain.Idle() != 1 {
		t.Fatalf("%d idle connections after a call, want 1", u.plain.Idle())
	}
	u.Close()
	if u.plain.Idle() != 0 {
		t.Fatal("Close left idle connections")
	}
}
