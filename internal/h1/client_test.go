package h1

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/braidrpc/braid/internal/await"
	"github.com/braidrpc/braid/internal/clock"
)

// TestRequestAsNetHTTPSendsIt compares the request h1 writes with the one
// net/http's client writes for the same URL and headers: the same line,
// Host (port kept), User-Agent, Authorization from the user info, and body,
// without net/http's Accept-Encoding.
func TestRequestAsNetHTTPSendsIt(t *testing.T) {
	type seen struct {
		req  *http.Request
		body []byte
	}
	got := make(chan seen, 2)
	srv := newRawServer(t, func(s *rawServer, _ int, c net.Conn, br *bufio.Reader) {
		req, body, ok := s.readRequest(br)
		if !ok {
			return
		}
		got <- seen{req, body}
		_, _ = io.WriteString(c, withLength("HTTP/1.1 200 OK\r\n", okBody))
	})
	for _, big := range []bool{false, true} {
		body := []byte(`{"jsonrpc":"2.0","id":7,"method":"eth_chainId"}`)
		if big { // written beside the head (writev), not copied
			body = bytes.Repeat([]byte("b"), maxCopiedBody+1)
		}
		target, _ := url.Parse("http://us%20er:pa:ss@" + srv.ln.Addr().String() + "/v3/KEY?apikey=K&x=%2F")
		c := newClient(t, target, Config{})
		if _, err := c.Post(testContext(t), body, 1<<20); err != nil {
			t.Fatal(err)
		}
		mine := <-got
		req, _ := http.NewRequest(http.MethodPost, target.String(), bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Accept", "application/json")
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		theirs := <-got
		theirs.req.Header.Del("Accept-Encoding")
		if mine.req.RequestURI != theirs.req.RequestURI || mine.req.Host != theirs.req.Host || mine.req.Proto != "HTTP/1.1" ||
			mine.req.ContentLength != theirs.req.ContentLength || !bytes.Equal(mine.body, body) || !bytes.Equal(theirs.body, body) {
			t.Fatalf("h1 sent %s %s Host %s CL %d, net/http %s %s Host %s CL %d", mine.req.Method, mine.req.RequestURI,
				mine.req.Host, mine.req.ContentLength, theirs.req.Method, theirs.req.RequestURI, theirs.req.Host, theirs.req.ContentLength)
		}
		if len(mine.req.Header) != len(theirs.req.Header) {
			t.Fatalf("h1 sent headers %v, net/http %v", mine.req.Header, theirs.req.Header)
		}
		for k, v := range theirs.req.Header {
			if strings.Join(mine.req.Header[k], ",") != strings.Join(v, ",") {
				t.Fatalf("header %s: h1 sent %q, net/http %q", k, mine.req.Header[k], v)
			}
		}
		if mine.req.Header.Get("Authorization") == "" || mine.req.Header.Get("User-Agent") != "Go-http-client/1.1" {
			t.Fatalf("headers %v", mine.req.Header)
		}
	}
}

// countWrites counts the writes made on a connection.
type countWrites struct {
	net.Conn
	writes int
	buf    bytes.Buffer
}

func (c *countWrites) Write(p []byte) (int, error) {
	c.writes++
	return c.buf.Write(p)
}

func TestRequestIsOneWrite(t *testing.T) {
	target, _ := url.Parse("http://127.0.0.1:8545/")
	cw := &countWrites{}
	if err := writeRequest(cw, requestPrefix(target), []byte(okBody)); err != nil {
		t.Fatal(err)
	}
	want := "POST / HTTP/1.1\r\nHost: 127.0.0.1:8545\r\nUser-Agent: Go-http-client/1.1\r\n" +
		"Content-Type: application/json\r\nAccept: application/json\r\nContent-Length: 39\r\n\r\n" + okBody
	if cw.writes != 1 || cw.buf.String() != want {
		t.Fatalf("%d writes of %q", cw.writes, cw.buf.String())
	}
}

func TestNewRefusesWhatNetHTTPMustHandle(t *testing.T) {
	for _, raw := range []string{"https://example.com/", "http://exämple.com/", "http://[fe80::1%25eth0]:8545/", "ws://example.com/"} {
		u, err := url.Parse(raw)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := New(u, Config{}); err == nil {
			t.Errorf("New(%s) accepted", raw)
		} else if strings.Contains(err.Error(), "example") || strings.Contains(err.Error(), "fe80") {
			t.Errorf("error shows the URL: %v", err)
		}
	}
	if _, err := New(&url.URL{Scheme: "http", Host: "[::1]:8545", Path: "/"}, Config{}); err != nil {
		t.Errorf("IPv6 literal refused: %v", err)
	}
}

func TestPoolReusesOneConnection(t *testing.T) {
	srv := newRawServer(t, answerEach(withLength("HTTP/1.1 200 OK\r\n", okBody), false))
	c := newClient(t, srv.url("/"), Config{MaxIdle: 4})
	for range 20 {
		if _, err := c.Post(testContext(t), []byte("{}"), 1<<10); err != nil {
			t.Fatal(err)
		}
	}
	if srv.accepted.Load() != 1 || srv.requests.Load() != 20 || c.Idle() != 1 {
		t.Fatalf("%d connections for %d requests, %d idle; want 1 for 20, 1 idle", srv.accepted.Load(), srv.requests.Load(), c.Idle())
	}
}

func TestIdleStackIsBounded(t *testing.T) {
	const calls, maxIdle = 4, 2
	var waiting sync.WaitGroup
	waiting.Add(calls)
	srv := newRawServer(t, func(s *rawServer, _ int, c net.Conn, br *bufio.Reader) {
		first := true
		for {
			if _, _, ok := s.readRequest(br); !ok {
				return
			}
			if first { // hold every first answer until all calls are in
				first = false
				waiting.Done()
				waiting.Wait()
			}
			_, _ = io.WriteString(c, withLength("HTTP/1.1 200 OK\r\n", okBody))
		}
	})
	c := newClient(t, srv.url("/"), Config{MaxIdle: maxIdle})
	var wg sync.WaitGroup
	for range calls {
		wg.Go(func() {
			if _, err := c.Post(testContext(t), []byte("{}"), 1<<10); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if srv.accepted.Load() != calls || c.Idle() != maxIdle {
		t.Fatalf("%d connections, %d idle; want %d, %d", srv.accepted.Load(), c.Idle(), calls, maxIdle)
	}
	for range calls {
		if _, err := c.Post(testContext(t), []byte("{}"), 1<<10); err != nil {
			t.Fatal(err)
		}
	}
	if srv.accepted.Load() != calls {
		t.Fatalf("sequential calls opened %d connections more", srv.accepted.Load()-calls)
	}
}

// closeWatch serves answers and counts the connections the client closed.
func closeWatch(answer string, closed *atomic.Int32) func(*rawServer, int, net.Conn, *bufio.Reader) {
	return func(s *rawServer, i int, c net.Conn, br *bufio.Reader) {
		answerEach(answer, false)(s, i, c, br)
		closed.Add(1)
	}
}

func TestIdleConnectionsExpireByTheClock(t *testing.T) {
	clk := clock.NewFake(time.Unix(1000, 0))
	var closed atomic.Int32
	srv := newRawServer(t, closeWatch(withLength("HTTP/1.1 200 OK\r\n", okBody), &closed))
	c := newClient(t, srv.url("/"), Config{Clock: clk})
	post := func() {
		t.Helper()
		if _, err := c.Post(testContext(t), []byte("{}"), 1<<10); err != nil {
			t.Fatal(err)
		}
	}
	post()
	clk.Advance(DefaultIdleTimeout - time.Second)
	post()
	if srv.accepted.Load() != 1 {
		t.Fatalf("a connection idle 89 s was not reused: %d accepted", srv.accepted.Load())
	}
	clk.Advance(DefaultIdleTimeout + time.Second)
	post()
	if srv.accepted.Load() != 2 {
		t.Fatalf("a connection idle 91 s was reused: %d accepted", srv.accepted.Load())
	}
	await.Until(t, "the expired connection closed", func() bool { return closed.Load() == 1 })
}

func TestCloseIdleClosesConnections(t *testing.T) {
	var closed atomic.Int32
	srv := newRawServer(t, closeWatch(withLength("HTTP/1.1 200 OK\r\n", okBody), &closed))
	c := newClient(t, srv.url("/"), Config{})
	if _, err := c.Post(testContext(t), []byte("{}"), 1<<10); err != nil {
		t.Fatal(err)
	}
	c.CloseIdle()
	await.Until(t, "the idle connection closed", func() bool { return closed.Load() == 1 })
	if c.Idle() != 0 {
		t.Fatal("still idle connections")
	}
	if _, err := c.Post(testContext(t), []byte("{}"), 1<<10); err != nil {
		t.Fatalf("client unusable after CloseIdle: %v", err)
	}
}

func TestServerClosedIdleConnectionIsRetried(t *testing.T) {
	firstClosed := make(chan struct{})
	srv := newRawServer(t, func(s *rawServer, i int, c net.Conn, br *bufio.Reader) {
		if i == 0 {
			if _, _, ok := s.readRequest(br); ok {
				_, _ = io.WriteString(c, withLength("HTTP/1.1 200 OK\r\n", okBody))
			}
			c.Close() // without saying so: the client finds out on reuse
			close(firstClosed)
			return
		}
		answerEach(withLength("HTTP/1.1 200 OK\r\n", okBody), false)(s, i, c, br)
	})
	c := newClient(t, srv.url("/"), Config{})
	if _, err := c.Post(testContext(t), []byte("{}"), 1<<10); err != nil {
		t.Fatal(err)
	}
	<-firstClosed
	res, err := c.Post(testContext(t), []byte("{}"), 1<<10)
	if err != nil || string(res.Body) != okBody {
		t.Fatalf("call on the closed idle connection: %v", err)
	}
	if srv.accepted.Load() != 2 || srv.requests.Load() != 2 {
		t.Fatalf("%d connections, %d requests; want 2, 2", srv.accepted.Load(), srv.requests.Load())
	}
}

func TestNotRetriedOnceTheAnswerBegan(t *testing.T) {
	srv := newRawServer(t, func(s *rawServer, _ int, c net.Conn, br *bufio.Reader) {
		if _, _, ok := s.readRequest(br); ok {
			_, _ = io.WriteString(c, withLength("HTTP/1.1 200 OK\r\n", okBody))
		}
		if _, _, ok := s.readRequest(br); ok {
			_, _ = io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n{\"jsonrpc\"")
		}
	})
	c := newClient(t, srv.url("/"), Config{})
	if _, err := c.Post(testContext(t), []byte("{}"), 1<<10); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Post(testContext(t), []byte("{}"), 1<<10); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("error %v, want io.ErrUnexpectedEOF", err)
	}
	if srv.accepted.Load() != 1 || srv.requests.Load() != 2 {
		t.Fatalf("%d connections, %d requests: the call was retried", srv.accepted.Load(), srv.requests.Load())
	}
}

func TestFreshConnectionClosedIsNotRetried(t *testing.T) {
	srv := newRawServer(t, func(s *rawServer, _ int, c net.Conn, br *bufio.Reader) {
		s.readRequest(br) // and close without an answer
	})
	c := newClient(t, srv.url("/"), Config{})
	if _, err := c.Post(testContext(t), []byte("{}"), 1<<10); !errors.Is(err, io.EOF) {
		t.Fatalf("error %v, want io.EOF", err)
	}
	if srv.accepted.Load() != 1 {
		t.Fatalf("%d connections: a fresh connection's failure was retried", srv.accepted.Load())
	}
}

// stallAfter answers every connection's first request with part of an
// answer, then waits for the client to close; sent and closed report it.
func stallAfter(part string, sent, closed chan struct{}) func(*rawServer, int, net.Conn, *bufio.Reader) {
	return func(s *rawServer, i int, c net.Conn, br *bufio.Reader) {
		if i > 0 {
			answerEach(withLength("HTTP/1.1 200 OK\r\n", okBody), false)(s, i, c, br)
			return
		}
		if _, _, ok := s.readRequest(br); !ok {
			return
		}
		_, _ = io.WriteString(c, part)
		close(sent)
		_, _ = io.Copy(io.Discard, c)
		close(closed)
	}
}

func TestCancelMidAnswerReturnsAndClosesTheConnection(t *testing.T) {
	sent, closed := make(chan struct{}), make(chan struct{})
	srv := newRawServer(t, stallAfter("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n{\"json", sent, closed))
	c := newClient(t, srv.url("/"), Config{})
	ctx, cancel := context.WithCancel(testContext(t))
	done := make(chan error, 1)
	go func() {
		_, err := c.Post(ctx, []byte("{}"), 1<<10)
		done <- err
	}()
	<-sent
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("error %v, want context.Canceled", err)
	}
	<-closed // the client closed the connection it gave up on
	if c.Idle() != 0 {
		t.Fatal("the cancelled connection was kept")
	}
	if _, err := c.Post(testContext(t), []byte("{}"), 1<<10); err != nil {
		t.Fatal(err)
	}
	if srv.accepted.Load() != 2 {
		t.Fatalf("%d connections accepted, want 2", srv.accepted.Load())
	}
}

func TestDeadlineEndsTheCall(t *testing.T) {
	sent, closed := make(chan struct{}), make(chan struct{})
	srv := newRawServer(t, stallAfter("HTTP/1.1 200 OK\r\n", sent, closed))
	c := newClient(t, srv.url("/"), Config{})
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	_, err := c.Post(ctx, []byte("{}"), 1<<10)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("error %v, want context.DeadlineExceeded", err)
	}
	<-closed
}

// The connection's deadline is the context's, and the netpoller's timer
// can fire a moment before the context's: a call that a deadline ended
// must return only once its context has ended too, or the caller (the
// router) would take its own deadline for the upstream's failure and
// blame the upstream. Repeated, since the two timers race.
func TestDeadlineEndsTheContextFirst(t *testing.T) {
	srv := newRawServer(t, func(s *rawServer, _ int, c net.Conn, br *bufio.Reader) {
		for {
			if _, _, ok := s.readRequest(br); !ok {
				return
			}
		}
	})
	c := newClient(t, srv.url("/"), Config{})
	for i := range 40 {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Millisecond)
		_, err := c.Post(ctx, []byte("{}"), 1<<10)
		ended := ctx.Err()
		cancel()
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("call %d: error %v, want context.DeadlineExceeded", i, err)
		}
		if ended == nil {
			t.Fatalf("call %d returned before its context ended", i)
		}
	}
}

func TestErrorsShowNoAddress(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens there now
	target, _ := url.Parse("http://" + addr + "/KEY")
	c := newClient(t, target, Config{})
	_, err = c.Post(testContext(t), []byte("{}"), 1<<10)
	if err == nil {
		t.Fatal("no error from a closed port")
	}
	_, port, _ := net.SplitHostPort(addr)
	if strings.Contains(err.Error(), "127.0.0.1") || strings.Contains(err.Error(), port) || strings.Contains(err.Error(), "KEY") {
		t.Fatalf("error shows the address: %v", err)
	}
}
