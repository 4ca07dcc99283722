package h1

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"syscall"
	"time"
)

// Server defaults, as braid's net/http server had them.
const (
	DefaultReadHeaderTimeout = 10 * time.Second
	DefaultServerIdleTimeout = 2 * time.Minute
)

// Server serves HTTP/1.1 on a listener. It answers a plain POST (one Host,
// a Content-Length, no Expect, no Upgrade, no Transfer-Encoding) itself,
// in the connection's own goroutine; at the first request of a connection
// that is anything else — a GET, a WebSocket upgrade, HTTP/1.0, chunked,
// Expect: 100-continue, a head over 4 KiB, one that does not parse — it
// hands the connection, bytes already read included, to Fallback for the
// rest of its life. Fallback's own Handler serves those; it is normally
// the same handler.
//
// A request it answers runs Handler with a context that ends when the
// client goes away (watched only once the handler has run for a while, so
// that a quick call costs no second goroutine), with RemoteAddr and
// http.LocalAddrContextKey set as net/http sets them, and a ResponseWriter
// that supports http.Flusher and http.ResponseController's read deadline.
// A panic in Handler closes that connection only, as in net/http.
type Server struct {
	Handler  http.Handler
	Fallback *http.Server // serves handed-over connections; required
	// ReadHeaderTimeout bounds reading a request's head once its first
	// byte arrived (≤ 0: DefaultReadHeaderTimeout); IdleTimeout bounds
	// the wait for the next request (≤ 0: DefaultServerIdleTimeout).
	ReadHeaderTimeout, IdleTimeout time.Duration
	Log                            *slog.Logger // nil: discarded

	watchSaw func(error) // tests: what the watch's read returned

	mu      sync.Mutex
	ln      net.Listener
	handoff *handoffListener
	conns   map[*serverConn]bool // true while it serves a request
	closing bool
	drained chan struct{} // closed when closing and conns is empty
}

// ErrServerClosed is what Serve returns after Shutdown or Close.
var ErrServerClosed = http.ErrServerClosed

// Serve accepts connections on ln until Shutdown or Close, and runs
// Fallback on the connections it hands over. It returns ErrServerClosed
// then, or the listener's error.
func (s *Server) Serve(ln net.Listener) error {
	if s.Fallback == nil || s.Handler == nil {
		return errors.New("h1: Server needs a Handler and a Fallback")
	}
	s.mu.Lock()
	if s.closing {
		s.mu.Unlock()
		return ErrServerClosed
	}
	s.ln = ln
	s.handoff = newHandoffListener(ln.Addr())
	s.conns = map[*serverConn]bool{}
	handoff := s.handoff
	s.mu.Unlock()
	go func() {
		_ = s.Fallback.Serve(handoff)
		handoff.Close() // nothing more can be handed over
	}()
	var backoff time.Duration
	for {
		nc, err := ln.Accept()
		if err != nil {
			if s.isClosing() {
				return ErrServerClosed
			}
			if ne, ok := err.(net.Error); ok && ne.Timeout() || errors.Is(err, syscall.EMFILE) || errors.Is(err, syscall.ENFILE) {
				// Out of descriptors (or a timeout): wait for some to close, as
				// net/http does, rather than spin.
				backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
				s.logger().Warn("accepting connections", "err", err, "retry_in", backoff.String())
				time.Sleep(backoff)
				continue
			}
			return err
		}
		backoff = 0
		c := s.newConn(nc)
		if c == nil {
			nc.Close()
			return ErrServerClosed
		}
		go c.serve()
	}
}

// Shutdown closes the listener and the idle connections at once, lets the
// requests being served finish (their connections then close), shuts
// Fallback down alongside (its OnShutdown hooks run at once), and waits
// for all of it until ctx ends, when it returns ctx's error and leaves the
// rest to Close.
func (s *Server) Shutdown(ctx context.Context) error {
	drained := s.beginClose()
	fallback := make(chan error, 1)
	go func() { fallback <- s.Fallback.Shutdown(ctx) }()
	var err error
	select {
	case <-drained:
	case <-ctx.Done():
		err = ctx.Err()
	}
	if ferr := <-fallback; err == nil {
		err = ferr
	}
	return err
}

// Close closes the listener and every connection, served or idle, and
// Fallback's.
func (s *Server) Close() error {
	s.beginClose()
	s.mu.Lock()
	for c := range s.conns {
		c.nc.Close()
	}
	s.mu.Unlock()
	return s.Fallback.Close()
}

// beginClose marks s closing, closes its listeners and its idle
// connections, and returns what is closed once no connection is left.
func (s *Server) beginClose() <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.drained == nil {
		s.drained = make(chan struct{})
	}
	if s.closing {
		return s.drained
	}
	s.closing = true
	if s.ln != nil {
		s.ln.Close()
		s.handoff.Close()
	}
	for c, busy := range s.conns {
		if !busy {
			c.nc.Close() // its goroutine sees the error and leaves
		}
	}
	if len(s.conns) == 0 {
		close(s.drained)
	}
	return s.drained
}

func (s *Server) isClosing() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closing
}

// setBusy records whether c is serving a request; it returns false when
// s is closing: c is to close instead of starting one, or of waiting for
// the next.
func (s *Server) setBusy(c *serverConn, busy bool) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closing {
		return false
	}
	s.conns[c] = busy
	return true
}

// forget drops c, which has closed or been handed over (again: nothing).
func (s *Server) forget(c *serverConn) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.conns[c]; !ok {
		return
	}
	delete(s.conns, c)
	if s.closing && len(s.conns) == 0 {
		close(s.drained)
	}
}

func (s *Server) logger() *slog.Logger {
	if s.Log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return s.Log
}

func (s *Server) readHeaderTimeout() time.Duration {
	if s.ReadHeaderTimeout <= 0 {
		return DefaultReadHeaderTimeout
	}
	return s.ReadHeaderTimeout
}

func (s *Server) idleTimeout() time.Duration {
	if s.IdleTimeout <= 0 {
		return DefaultServerIdleTimeout
	}
	return s.IdleTimeout
}

// handoffListener is the listener Fallback serves: it yields the
// connections the Server hands over.
type handoffListener struct {
	addr  net.Addr
	conns chan net.Conn
	done  chan struct{}
	once  sync.Once
}

func newHandoffListener(addr net.Addr) *handoffListener {
	return &handoffListener{addr: addr, conns: make(chan net.Conn), done: make(chan struct{})}
}

func (l *handoffListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.done:
		return nil, net.ErrClosed
	}
}

func (l *handoffListener) Close() error {
	l.once.Do(func() { close(l.done) })
	return nil
}

func (l *handoffListener) Addr() net.Addr { return l.addr }

// give hands c to Fallback, or closes it when Fallback has stopped.
func (l *handoffListener) give(c net.Conn) {
	select {
	case l.conns <- c:
	case <-l.done:
		c.Close()
	}
}
