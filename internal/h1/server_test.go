package h1

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
)

func TestServerAnswersPlainPostsOnOneConnection(t *testing.T) {
	ts := startServer(t, echo)
	c := dial(t, ts.addr)
	for i := range 3 {
		body := `{"jsonrpc":"2.0","id":` + strconv.Itoa(i) + `,"method":"eth_chainId"}`
		c.send(post(body))
		resp, got := c.read()
		if resp.StatusCode != 200 || got != body || resp.Header.Get("Path") != "fast" {
			t.Fatalf("call %d: %d %q by %q", i, resp.StatusCode, got, resp.Header.Get("Path"))
		}
		if resp.ContentLength != int64(len(body)) || resp.Header.Get("Date") == "" || resp.Header.Get("Content-Type") != "application/json" || resp.Close {
			t.Fatalf("call %d: length %d, headers %v, close %v", i, resp.ContentLength, resp.Header, resp.Close)
		}
	}
}

func TestServerAnswersPipelinedRequestsInOrder(t *testing.T) {
	ts := startServer(t, echo)
	c := dial(t, ts.addr)
	c.send(post(`"a"`) + post(`"b"`) + post(`"c"`))
	for _, want := range []string{`"a"`, `"b"`, `"c"`} {
		if resp, got := c.read(); got != want || resp.Header.Get("Path") != "fast" {
			t.Fatalf("got %q by %q, want %q", got, resp.Header.Get("Path"), want)
		}
	}
}

// Every request the fast path does not take is answered exactly as
// net/http alone answers it — on a connection whose first request the
// fast path did take.
func TestServerHandsOverWhatItDoesNotServe(t *testing.T) {
	cases := map[string]string{
		"GET":           "GET /status HTTP/1.1\r\nHost: braid\r\n\r\n",
		"HTTP/1.0":      "POST / HTTP/1.0\r\nHost: braid\r\nContent-Length: 2\r\n\r\n{}",
		"chunked":       "POST / HTTP/1.1\r\nHost: braid\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n",
		"no length":     "POST / HTTP/1.1\r\nHost: braid\r\n\r\n",
		"expect":        "POST / HTTP/1.1\r\nHost: braid\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\n{}",
		"two lengths":   "POST / HTTP/1.1\r\nHost: braid\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n{}",
		"bad length":    "POST / HTTP/1.1\r\nHost: braid\r\nContent-Length: -2\r\n\r\n{}",
		"no host":       "POST / HTTP/1.1\r\nContent-Length: 2\r\n\r\n{}",
		"two hosts":     "POST / HTTP/1.1\r\nHost: a\r\nHost: b\r\nContent-Length: 2\r\n\r\n{}",
		"bad host":      "POST / HTTP/1.1\r\nHost: a b\r\nContent-Length: 2\r\n\r\n{}",
		"bad header":    "POST / HTTP/1.1\r\nHost: braid\r\nBad Header: x\r\nContent-Length: 2\r\n\r\n{}",
		"bad value":     "POST / HTTP/1.1\r\nHost: braid\r\nX: a\x01b\r\nContent-Length: 2\r\n\r\n{}",
		"bare LF":       "POST / HTTP/1.1\nHost: braid\nContent-Length: 2\n\n{}",
		"long head":     "POST / HTTP/1.1\r\nHost: braid\r\nX-Long: " + strings.Repeat("a", 5000) + "\r\nContent-Length: 2\r\n\r\n{}",
		"garbage":       "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\r\n\r\n",
		"blank first":   "\r\nPOST / HTTP/1.1\r\nHost: braid\r\nContent-Length: 2\r\n\r\n{}",
		"upgrade":       "POST / HTTP/1.1\r\nHost: braid\r\nUpgrade: h2c\r\nConnection: Upgrade\r\nContent-Length: 2\r\n\r\n{}",
		"bad version":   "POST / HTTP/9.9\r\nHost: braid\r\nContent-Length: 2\r\n\r\n{}",
		"bad uri":       "POST %zz HTTP/1.1\r\nHost: braid\r\nContent-Length: 2\r\n\r\n{}",
		"absolute form": "POST http://braid/x HTTP/1.1\r\nHost: other\r\nContent-Length: 2\r\n\r\n{}",
	}
	// These two are plain enough for the fast path, and answered alike.
	fastToo := map[string]bool{"bare LF": true, "absolute form": true}
	ts := startServer(t, echo)
	ref := referenceServer(t, echo)
	for name, raw := range cases {
		t.Run(name, func(t *testing.T) {
			want := answerOf(t, ref, raw)
			c := dial(t, ts.addr)
			c.send(post(`"first"`))
			if resp, _ := c.read(); resp.Header.Get("Path") != "fast" {
				t.Fatalf("the first request went %q", resp.Header.Get("Path"))
			}
			c.send(raw)
			resp, body := c.read()
			got := strconv.Itoa(resp.StatusCode) + " " + body
			if got != want {
				t.Fatalf("got %q, net/http answers %q", got, want)
			}
			if path := resp.Header.Get("Path"); resp.StatusCode < 400 && path != "fallback" && !fastToo[name] {
				t.Fatalf("served by %q", path)
			}
		})
	}
}

// answerOf is the status and body net/http's server gives raw, as the
// first request of a connection.
func answerOf(t *testing.T, addr, raw string) string {
	c := dial(t, addr)
	c.send(raw)
	resp, body := c.read()
	return strconv.Itoa(resp.StatusCode) + " " + body
}

func TestServerRequestAsNetHTTPGivesIt(t *testing.T) {
	seen := make(chan string, 1)
	ts := startServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		local, _ := r.Context().Value(http.LocalAddrContextKey).(net.Addr)
		srv, _ := r.Context().Value(http.ServerContextKey).(*http.Server)
		seen <- strings.Join([]string{r.Method, r.Host, r.RequestURI, r.URL.Path, r.URL.RawQuery, r.Proto,
			strconv.FormatInt(r.ContentLength, 10), r.Header.Get("Host"), r.Header.Get("X-Key"),
			strconv.FormatBool(r.RemoteAddr != "" && local != nil && local.String() == r.Context().Value(http.LocalAddrContextKey).(net.Addr).String()),
			strconv.FormatBool(srv != nil)}, "|")
	}))
	c := dial(t, ts.addr)
	c.send("POST /mainnet/k?x=1 HTTP/1.1\r\nHost: braid:8545\r\nX-Key: v\r\nContent-Length: 0\r\n\r\n")
	if resp, _ := c.read(); resp.StatusCode != 200 || resp.Header.Get("Path") != "fast" {
		t.Fatalf("answer %d by %q", resp.StatusCode, resp.Header.Get("Path"))
	}
	want := "POST|braid:8545|/mainnet/k?x=1|/mainnet/k|x=1|HTTP/1.1|0||v|true|true"
	if got := <-seen; got != want {
		t.Fatalf("the handler saw %q, want %q", got, want)
	}
	if c.c.RemoteAddr().String() != ts.addr {
		t.Fatal("dialled elsewhere")
	}
}

func TestServerWritesBodiesAsNetHTTPDoes(t *testing.T) {
	big := strings.Repeat("x", 3*pendingMax)
	writeErr := make(chan error, 1)
	ts := startServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/small": // no Content-Length: held, then given one
			_, _ = io.WriteString(w, "<html>hi")
		case "/big": // past what is held: chunked
			for i := 0; i < len(big); i += 1000 {
				_, _ = io.WriteString(w, big[i:min(i+1000, len(big))])
			}
		case "/flush":
			_, _ = io.WriteString(w, "a")
			w.(http.Flusher).Flush()
			_, _ = io.WriteString(w, "b")
		case "/nocontent":
			w.WriteHeader(http.StatusNoContent)
			_, err := io.WriteString(w, "x")
			writeErr <- err
		case "/over":
			w.Header().Set("Content-Length", "2")
			_, _ = io.WriteString(w, "ab")
			_, err := io.WriteString(w, "c")
			writeErr <- err
		case "/status":
			w.WriteHeader(http.StatusTeapot)
		}
	}))
	c := dial(t, ts.addr)
	check := func(path string, status int, body string, length int64, chunked bool) {
		t.Helper()
		c.send(strings.Replace(post(""), "/rpc", path, 1))
		resp, got := c.read()
		isChunked := len(resp.TransferEncoding) == 1 && resp.TransferEncoding[0] == "chunked"
		if resp.StatusCode != status || got != body || resp.ContentLength != length || isChunked != chunked {
			t.Fatalf("%s: %d, %d bytes, length %d, chunked %v", path, resp.StatusCode, len(got), resp.ContentLength, isChunked)
		}
	}
	check("/small", 200, "<html>hi", 8, false)
	c.send(strings.Replace(post(""), "/rpc", "/small", 1))
	if resp, _ := c.read(); resp.Header.Get("Content-Type") != "text/html; charset=utf-8" {
		t.Fatalf("sniffed %q", resp.Header.Get("Content-Type"))
	}
	check("/big", 200, big, -1, true)
	check("/flush", 200, "ab", -1, true)
	check("/nocontent", 204, "", 0, false) // (what ReadResponse says of any 204)
	if err := <-writeErr; !errors.Is(err, http.ErrBodyNotAllowed) {
		t.Fatalf("a 204's body write returned %v", err)
	}
	check("/over", 200, "ab", 2, false)
	if err := <-writeErr; !errors.Is(err, http.ErrContentLength) {
		t.Fatalf("a write past Content-Length returned %v", err)
	}
	check("/status", 418, "", 0, false)
}

// A handler that writes less than the Content-Length it announced leaves
// the client nothing but the close to learn it by.
func TestServerClosesAfterAShortBody(t *testing.T) {
	ts := startServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "10")
		_, _ = io.WriteString(w, "short")
	}))
	c := dial(t, ts.addr)
	c.send(post(""))
	resp, err := http.ReadResponse(c.br, nil)
	if err != nil {
		t.Fatal(err)
	}
	if b, err := io.ReadAll(resp.Body); string(b) != "short" || !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("read %q, %v", b, err)
	}
}

func TestServerDrainsWhatTheHandlerLeftUnread(t *testing.T) {
	ignore := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, "ok") })
	ts := startServer(t, ignore)
	c := dial(t, ts.addr)
	c.send(post(strings.Repeat("a", 1000)))
	if resp, _ := c.read(); resp.Close {
		t.Fatal("a small unread body closed the connection")
	}
	c.send(post("{}"))
	if _, got := c.read(); got != "ok" {
		t.Fatalf("the next request got %q", got)
	}
	// More than is drained: the answer says the connection closes.
	c2 := dial(t, ts.addr)
	c2.send(post(strings.Repeat("a", maxBodyDrain+1)))
	if resp, _ := c2.read(); !resp.Close {
		t.Fatal("a large unread body kept the connection")
	}
	c2.closed()
}

func TestServerHonoursConnectionClose(t *testing.T) {
	ts := startServer(t, echo)
	c := dial(t, ts.addr)
	c.send(post("{}", "Connection: close\r\n"))
	if resp, got := c.read(); got != "{}" || !resp.Close {
		t.Fatalf("got %q, close %v", got, resp.Close)
	}
	c.closed()
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Header().Set("Connection", "close") })
	c = dial(t, startServer(t, h).addr)
	c.send(post("{}"))
	if resp, _ := c.read(); !resp.Close {
		t.Fatal("the handler's Connection: close was lost")
	}
	c.closed()
}

func TestServerPanicClosesOnlyThatConnection(t *testing.T) {
	ts := startServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/panic" {
			panic("handler bug")
		}
		_, _ = io.WriteString(w, "ok")
	}))
	c := dial(t, ts.addr)
	c.send(strings.Replace(post(""), "/rpc", "/panic", 1))
	c.closed()
	c = dial(t, ts.addr)
	c.send(post(""))
	if _, got := c.read(); got != "ok" {
		t.Fatalf("after a panic: %q", got)
	}
}

func TestServerBodyReadAfterCloseFails(t *testing.T) {
	got := make(chan error, 1)
	ts := startServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = r.Body.Close()
		_, err := r.Body.Read(make([]byte, 1))
		got <- err
	}))
	c := dial(t, ts.addr)
	c.send(post("{}"))
	c.read()
	if err := <-got; !errors.Is(err, http.ErrBodyReadAfterClose) {
		t.Fatalf("read after Close: %v", err)
	}
}

// The request context ends when the client goes away during a long call.
func TestServerCancelsWhenTheClientGoes(t *testing.T) {
	started, cancelled := make(chan struct{}), make(chan struct{})
	ts := startServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.ReadAll(r.Body)
		close(started)
		<-r.Context().Done()
		close(cancelled)
	}))
	c := dial(t, ts.addr)
	c.send(post("{}"))
	waitDone(t, started, "the handler's start")
	c.c.Close()
	waitDone(t, cancelled, "the request context's end")
}

// Bytes the watch finds are the client's next request: it is answered,
// and the call being watched is not cancelled.
func TestServerWatchKeepsThePipelinedRequest(t *testing.T) {
	saw := make(chan error, 1)
	var cancelled atomic.Bool
	ts := startServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		if string(b) == `"slow"` {
			if err := <-saw; err != nil {
				t.Errorf("the watch saw %v", err)
			}
			cancelled.Store(r.Context().Err() != nil)
		}
		_, _ = w.Write(b)
	}), func(s *Server) {
		s.watchSaw = func(err error) {
			select {
			case saw <- err:
			default: // a later watch (a slow "next") is not this test's
			}
		}
	})
	c := dial(t, ts.addr)
	c.send(post(`"slow"`))
	c.send(post(`"next"`))
	for _, want := range []string{`"slow"`, `"next"`} {
		if _, got := c.read(); got != want {
			t.Fatalf("got %q, want %q", got, want)
		}
	}
	if cancelled.Load() {
		t.Fatal("the watched call was cancelled by the next request")
	}
}

func TestServerIdleAndHeadTimeouts(t *testing.T) {
	ts := startServer(t, echo, func(s *Server) { s.IdleTimeout, s.ReadHeaderTimeout = 1, 1 })
	c := dial(t, ts.addr)
	c.closed() // no request: closed once idle
	c = dial(t, ts.addr)
	c.send("POST / HTTP/1.1\r\nHost: braid\r\n") // half a head
	c.closed()
}

func TestServerShutdownFinishesInFlightCalls(t *testing.T) {
	started, release := make(chan struct{}), make(chan struct{})
	ts := startServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/slow" {
			close(started)
			<-release
		}
		_, _ = io.WriteString(w, "done")
	}))
	idle := dial(t, ts.addr)
	idle.send(post(""))
	idle.read()
	busy := dial(t, ts.addr)
	busy.send(strings.Replace(post(""), "/rpc", "/slow", 1))
	waitDone(t, started, "the slow call's start")
	shut := make(chan error, 1)
	go func() { shut <- ts.Shutdown(context.Background()) }()
	idle.closed()
	if c, err := net.Dial("tcp", ts.addr); err == nil {
		c.Close()
		t.Fatal("a new connection was accepted during shutdown")
	}
	close(release)
	if resp, got := busy.read(); got != "done" || !resp.Close {
		t.Fatalf("the in-flight call got %q, close %v", got, resp.Close)
	}
	busy.closed()
	if err := <-shut; err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
}

func TestServerShutdownGivesUpAtItsDeadline(t *testing.T) {
	started, release := make(chan struct{}), make(chan struct{})
	defer close(release)
	ts := startServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(started)
		<-release
	}))
	busy := dial(t, ts.addr)
	busy.send(post(""))
	waitDone(t, started, "the call's start")
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := ts.Shutdown(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("Shutdown with its context ended: %v", err)
	}
	_ = ts.Close()
	busy.closed()
}

// A handed-over connection is Fallback's: its Shutdown covers it.
func TestServerHandedOverConnectionsShutDownWithFallback(t *testing.T) {
	ts := startServer(t, echo)
	c := dial(t, ts.addr)
	c.send("GET / HTTP/1.1\r\nHost: braid\r\n\r\n")
	if resp, _ := c.read(); resp.Header.Get("Path") != "fallback" {
		t.Fatal("not handed over")
	}
	if err := ts.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	c.closed()
}

// A watch ends with the connection's deadline in the past; the next
// request's body, arriving only later, is still read.
func TestServerReadsALateBodyAfterAWatchedCall(t *testing.T) {
	saw := make(chan error, 1)
	ts := startServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, err := io.ReadAll(r.Body)
		if string(b) == `"slow"` {
			<-saw
		}
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		_, _ = w.Write(b)
	}), func(s *Server) {
		s.watchSaw = func(err error) {
			select {
			case saw <- err:
			default:
			}
		}
	})
	c := dial(t, ts.addr)
	next := post(`"late body"`)
	headOnly, body := next[:len(next)-len(`"late body"`)], `"late body"`
	c.send(post(`"slow"`) + headOnly)
	if _, got := c.read(); got != `"slow"` {
		t.Fatalf("first: %q", got)
	}
	c.send(body)
	if resp, got := c.read(); resp.StatusCode != 200 || got != body {
		t.Fatalf("the late body: %d %q", resp.StatusCode, got)
	}
}
