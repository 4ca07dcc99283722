package upstream

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/braidrpc/braid/internal/clock"
	"github.com/braidrpc/braid/internal/config"
)

func newTestUpstream(t *testing.T, h http.HandlerFunc, mod func(*config.Upstream)) *Upstream {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	cfg := config.Upstream{Name: "u1", Operator: "op", URL: srv.URL + "/v3/SECRETKEY?apikey=SECRETKEY", Timeout: 2 * time.Second}
	if mod != nil {
		mod(&cfg)
	}
	u := New(cfg, Options{Network: "net", MaxResponseBytes: 1 << 10})
	t.Cleanup(u.Close)
	return u
}

func TestCallSendsWholeBodyAndPassesResultThrough(t *testing.T) {
	var gotLen int64
	var gotBody string
	u := newTestUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		gotLen = r.ContentLength
		b, _ := io.ReadAll(r.Body)
		gotBody = string(b)
		io.WriteString(w, `{"jsonrpc":"2.0","id":1,"result":{ "b" : 2,"a":[1, 2] }}`)
	}, nil)
	resp, err := u.Call(context.Background(), "eth_x", []byte(`["0x1"]`))
	if err != nil {
		t.Fatal(err)
	}
	if string(resp.Result) != `{ "b" : 2,"a":[1, 2] }` {
		t.Fatalf("result re-encoded: %s", resp.Result)
	}
	if gotLen != int64(len(gotBody)) || gotLen <= 0 {
		t.Fatalf("Content-Length %d, body %d bytes", gotLen, len(gotBody))
	}
	if !strings.Contains(gotBody, `"method":"eth_x","params":["0x1"]`) {
		t.Fatalf("body %s", gotBody)
	}
}

func TestCallErrorsAreClassifiedAndNeverShowTheURL(t *testing.T) {
	tests := []struct {
		name       string
		h          http.HandlerFunc
		kind       error
		retryAfter time.Duration
		status     int
	}{
		{"429 with Retry-After", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Retry-After", "7")
			w.WriteHeader(429)
		}, ErrThrottled, 7 * time.Second, 429},
		{"503", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(503) }, ErrHTTPStatus, 0, 503},
		{"401", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(401) }, ErrHTTPStatus, 0, 401},
		{"not JSON", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "<html>oops</html>") }, ErrBadResponse, 0, 0},
		{"neither result nor error", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, `{"jsonrpc":"2.0","id":1}`) }, ErrBadResponse, 0, 0},
		{"too large", func(w http.ResponseWriter, r *http.Request) {
			io.WriteString(w, `{"jsonrpc":"2.0","id":1,"result":"`+strings.Repeat("a", 2<<10)+`"}`)
		}, ErrTooLarge, 0, 0},
		{"connection closed", func(w http.ResponseWriter, r *http.Request) {
			c, _, _ := w.(http.Hijacker).Hijack()
			c.Close()
		}, ErrTransport, 0, 0},
		{"timeout", func(w http.ResponseWriter, r *http.Request) {
			// Read the body so net/http watches the connection and cancels
			// r.Context() when the client gives up.
			_, _ = io.Copy(io.Discard, r.Body)
			select {
			case <-r.Context().Done():
			case <-time.After(5 * time.Second):
			}
		}, ErrTimeout, 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u := newTestUpstream(t, tt.h, func(c *config.Upstream) { c.Timeout = 200 * time.Millisecond })
			_, err := u.Call(context.Background(), "eth_blockNumber", nil)
			if !errors.Is(err, tt.kind) {
				t.Fatalf("err = %v, want %v", err, tt.kind)
			}
			var ae *AttemptError
			if !errors.As(err, &ae) {
				t.Fatalf("not an AttemptError: %T", err)
			}
			if ae.RetryAfter != tt.retryAfter || ae.Status != tt.status {
				t.Fatalf("retryAfter %v status %d", ae.RetryAfter, ae.Status)
			}
			if strings.Contains(err.Error(), "SECRETKEY") || strings.Contains(err.Error(), "127.0.0.1") {
				t.Fatalf("error shows the URL: %v", err)
			}
		})
	}
}

func TestCallRefusedConnectionHidesURL(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens there now
	u := New(config.Upstream{Name: "gone", Operator: "op", URL: "http://" + addr + "/SECRETKEY"}, Options{})
	_, err = u.Call(context.Background(), "eth_blockNumber", nil)
	if !errors.Is(err, ErrTransport) {
		t.Fatalf("err = %v", err)
	}
	if strings.Contains(err.Error(), "SECRETKEY") {
		t.Fatalf("error shows the URL path: %v", err)
	}
}

func TestVerifyChainID(t *testing.T) {
	answer := func(result string) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			io.WriteString(w, `{"jsonrpc":"2.0","id":1,"result":`+result+`}`)
		}
	}
	tests := []struct {
		name    string
		result  string
		want    State
		wantErr bool
	}{
		{"match", `"0x1"`, Ready, false},
		{"mismatch quarantines", `"0x89"`, Quarantined, false},
		{"garbage stays unverified", `"banana"`, Unverified, true},
		{"not a string", `17`, Unverified, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u := newTestUpstream(t, answer(tt.result), nil)
			err := u.Verify(context.Background(), 1)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v", err)
			}
			s, reason := u.State()
			if s != tt.want {
				t.Fatalf("state %v (%s), want %v", s, reason, tt.want)
			}
			if s == Quarantined && !strings.Contains(reason, "chain 137") {
				t.Fatalf("reason %q should name the chain served", reason)
			}
			if u.Usable() != (tt.want == Ready) {
				t.Fatal("Usable disagrees with state")
			}
		})
	}
}

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for in, want := range map[string]time.Duration{
		"":                              0,
		"3":                             3 * time.Second,
		"-1":                            0,
		"soon":                          0,
		"Thu, 01 Jan 2026 00:00:30 GMT": 30 * time.Second,
		"Wed, 31 Dec 2025 00:00:30 GMT": 0,
	} {
		if got := parseRetryAfter(in, now); got != want {
			t.Errorf("parseRetryAfter(%q) = %v, want %v", in, got, want)
		}
	}
}

func TestPollOutcomeHonoursRateLimits(t *testing.T) {
	u := newTestUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Retry-After", "3")
		w.WriteHeader(http.StatusTooManyRequests)
	}, nil)
	_, err := u.Call(context.Background(), "eth_getBlockByNumber", nil)
	o := FailureOf(err, PollClass, time.Millisecond)
	o.Poll = true
	u.Record(o)
	s := u.Health().Snapshot("")
	if !s.Throttled || s.Failures != 0 {
		t.Fatalf("a 429 on a head poll: throttled %v, failures %d; want throttled and no failure", s.Throttled, s.Failures)
	}
	u.Record(Outcome{Kind: Failure, Latency: time.Millisecond, Poll: true})
	if u.Health().Snapshot("").Failures != 1 {
		t.Fatal("a failed poll did not count as a failure")
	}
}

func TestSuspend(t *testing.T) {
	fc := clock.NewFake(time.Unix(1000, 0))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, `{"jsonrpc":"2.0","id":1,"result":"0x1"}`)
	}))
	defer srv.Close()
	u := New(config.Upstream{Name: "a", Operator: "liar", URL: srv.URL}, Options{Network: "test", Clock: fc})
	if err := u.Verify(context.Background(), 1); err != nil {
		t.Fatal(err)
	}
	u.Suspend(fc.Now().Add(time.Minute), "lost 3 disputes")
	if u.Usable() || u.Assess(0, true, 5) != Excluded {
		t.Fatal("a suspended upstream is usable")
	}
	if until, reason, ok := u.Suspended(); !ok || reason != "lost 3 disputes" || !until.Equal(fc.Now().Add(time.Minute)) {
		t.Fatalf("Suspended() = %v %q %v", until, reason, ok)
	}
	fc.Advance(time.Minute)
	if !u.Usable() || u.Assess(0, true, 5) != Healthy {
		t.Fatal("the suspension did not end")
	}
	if _, _, ok := u.Suspended(); ok {
		t.Fatal("still suspended")
	}
}
