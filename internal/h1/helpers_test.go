package h1

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/http"
	"net/url"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// rawServer is a loopback listener whose connections a test scripts:
// serve runs for each accepted connection, in its own goroutine, with the
// connection's index (0 for the first).
type rawServer struct {
	ln       net.Listener
	accepted atomic.Int32
	requests atomic.Int32 // counted by readRequest
	wg       sync.WaitGroup
}

func newRawServer(t *testing.T, serve func(s *rawServer, i int, c net.Conn, br *bufio.Reader)) *rawServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &rawServer{ln: ln}
	var conns sync.Map
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			i := int(s.accepted.Add(1)) - 1
			conns.Store(i, c)
			s.wg.Add(1)
			go func() {
				defer s.wg.Done()
				defer c.Close()
				serve(s, i, c, bufio.NewReader(c))
			}()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		conns.Range(func(_, c any) bool { c.(net.Conn).Close(); return true })
		s.wg.Wait()
	})
	return s
}

func (s *rawServer) url(path string) *url.URL {
	u, err := url.Parse("http://" + s.ln.Addr().String() + path)
	if err != nil {
		panic(err)
	}
	return u
}

// readRequest reads one request off br, body included (false: the
// client closed the connection or sent garbage).
func (s *rawServer) readRequest(br *bufio.Reader) (*http.Request, []byte, bool) {
	req, err := http.ReadRequest(br)
	if err != nil {
		return nil, nil, false
	}
	body, err := io.ReadAll(req.Body)
	if err != nil {
		return nil, nil, false
	}
	s.requests.Add(1)
	return req, body, true
}

// answerEach answers every request on every connection with answer, and
// closes the connection after each if closeAfter.
func answerEach(answer string, closeAfter bool) func(*rawServer, int, net.Conn, *bufio.Reader) {
	return func(s *rawServer, _ int, c net.Conn, br *bufio.Reader) {
		for {
			if _, _, ok := s.readRequest(br); !ok {
				return
			}
			if _, err := io.WriteString(c, answer); err != nil || closeAfter {
				return
			}
		}
	}
}

// testContext is a context with a deadline, as upstream always gives.
func testContext(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	return ctx
}

func newClient(t *testing.T, target *url.URL, cfg Config) *Client {
	t.Helper()
	c, err := New(target, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.CloseIdle)
	return c
}
