package h1

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/net/http/httpguts"
)

const (
	// serverBufSize is each connection's read and write buffer; a request
	// head longer than this is handed to Fallback, whose limit applies.
	serverBufSize = 4 << 10
	// maxBodyDrain is the most of a body its handler left unread that is
	// read and discarded to keep the connection (net/http's figure); with
	// more left, the connection closes after the answer.
	maxBodyDrain = 256 << 10
)

// serverConn is one client connection the Server serves itself.
type serverConn struct {
	s      *Server
	nc     net.Conn
	br     *bufio.Reader
	bw     *bufio.Writer
	ctx    context.Context // http.ServerContextKey and LocalAddrContextKey
	remote string
	head   []byte // the current request's head, replayed on handover
	watch  watch
}

// newConn tracks a new connection; nil when s is closing.
func (s *Server) newConn(nc net.Conn) *serverConn {
	c := &serverConn{s: s, nc: nc, remote: nc.RemoteAddr().String()}
	ctx := context.WithValue(context.Background(), http.ServerContextKey, s.Fallback)
	c.ctx = context.WithValue(ctx, http.LocalAddrContextKey, nc.LocalAddr())
	c.watch.c = c
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closing {
		return nil
	}
	s.conns[c] = false
	return c
}

// serve answers c's requests until it closes, fails, or is handed over.
func (c *serverConn) serve() {
	handed := false
	defer func() {
		c.watch.release()
		c.releaseBuffers()
		if !handed {
			c.nc.Close()
		}
		c.s.forget(c)
	}()
	c.br = readers.Get().(*bufio.Reader)
	c.br.Reset(c.nc)
	for {
		n, err := c.readHead()
		if err != nil && !c.partial(err) {
			return
		}
		req := c.parse(n)
		if req == nil {
			c.handOver()
			handed = true
			return
		}
		if !c.serveRequest(req) || !c.s.setBusy(c, false) {
			return
		}
	}
}

// handOver gives the connection to Fallback with the bytes read and not
// yet answered (the head in c.head, what followed it in the buffer); the
// buffers go back to their pools, so that a WebSocket does not keep them.
// Any read deadline left on it does not matter: net/http sets its own (or
// none) before it reads each request.
func (c *serverConn) handOver() {
	rest, _ := c.br.Peek(c.br.Buffered())
	pending := make([]byte, 0, len(c.head)+len(rest))
	pending = append(append(pending, c.head...), rest...)
	c.releaseBuffers()
	c.s.forget(c)
	c.s.handoff.give(&handedConn{Conn: c.nc, pending: pending})
}

// readers and writers are connections' buffers, also the head parser's.
var (
	readers = sync.Pool{New: func() any { return bufio.NewReaderSize(nil, serverBufSize) }}
	writers = sync.Pool{New: func() any { return bufio.NewWriterSize(nil, serverBufSize) }}
)

// releaseBuffers puts c's buffers back (once its handler and watch are
// done with them).
func (c *serverConn) releaseBuffers() {
	if c.br != nil {
		c.br.Reset(nil)
		readers.Put(c.br)
		c.br = nil
	}
	if c.bw != nil {
		c.bw.Reset(nil)
		writers.Put(c.bw)
		c.bw = nil
	}
}

// readHead waits (up to the idle timeout) for a request, then (up to the
// head timeout) until its head is in the buffer. It returns the head's
// length, or 0 when the buffer filled first: the head is longer than
// this server reads, or not HTTP at all.
func (c *serverConn) readHead() (int, error) {
	if c.br.Buffered() == 0 {
		_ = c.nc.SetReadDeadline(time.Now().Add(c.s.idleTimeout()))
		if _, err := c.br.Peek(1); err != nil {
			return 0, err
		}
	}
	if !c.s.setBusy(c, true) {
		return 0, ErrServerClosed
	}
	buf, _ := c.br.Peek(c.br.Buffered())
	if n := headLen(buf); n > 0 {
		return n, nil
	}
	_ = c.nc.SetReadDeadline(time.Now().Add(c.s.readHeaderTimeout()))
	for c.br.Buffered() < serverBufSize {
		buf, err := c.br.Peek(c.br.Buffered() + 1)
		if err != nil {
			return 0, err
		}
		if n := headLen(buf); n > 0 {
			return n, nil
		}
	}
	return 0, nil
}

// partial reports whether err ended a head that had begun (not by a
// timeout, nor by shutdown): net/http is given it, to answer as it does.
func (c *serverConn) partial(err error) bool {
	if errors.Is(err, ErrServerClosed) || c.br.Buffered() == 0 {
		return false
	}
	ne, ok := err.(net.Error)
	return !ok || !ne.Timeout()
}

// headLen is the length of the head at the start of b, through its empty
// line (CRLF or a bare LF, as net/http accepts); 0 when b holds no whole
// head.
func headLen(b []byte) int {
	for i := 0; i < len(b); {
		j := bytes.IndexByte(b[i:], '\n')
		if j < 0 {
			return 0
		}
		line := b[i : i+j]
		i += j + 1
		if len(line) == 0 || len(line) == 1 && line[0] == '\r' {
			return i // (an empty first line too: net/http refuses that head)
		}
	}
	return 0
}

// parse consumes the head of n bytes (all of what is buffered when n is
// 0) into c.head and returns its request when it is one this server
// answers itself; nil hands the connection over.
func (c *serverConn) parse(n int) *http.Request {
	whole := n > 0
	if !whole {
		n = c.br.Buffered()
	}
	buf, _ := c.br.Peek(n)
	c.head = append(c.head[:0], buf...)
	_, _ = c.br.Discard(n)
	if !whole || !bytes.HasPrefix(c.head, []byte("POST ")) {
		return nil
	}
	hr := readers.Get().(*bufio.Reader) // a request's strings are copied out of it
	hr.Reset(bytes.NewReader(c.head))
	req, err := http.ReadRequest(hr)
	hr.Reset(nil)
	readers.Put(hr)
	if err != nil || !plain(req, c.head) {
		return nil
	}
	return req
}

// plain reports whether req is a request this server answers: an
// HTTP/1.1 POST with a Content-Length and one valid Host, nothing to
// upgrade, nothing to continue, and every header well formed (net/http
// answers the rest, and every malformed one, with its own 4xx).
func plain(req *http.Request, head []byte) bool {
	if req.Method != http.MethodPost || req.ProtoMajor != 1 || req.ProtoMinor != 1 ||
		len(req.TransferEncoding) > 0 || req.ContentLength < 0 || len(req.Header["Content-Length"]) != 1 {
		return false
	}
	if host, ok := hostHeader(head); !ok || !httpguts.ValidHostHeader(host) {
		return false
	}
	if _, ok := req.Header["Expect"]; ok {
		return false
	}
	if _, ok := req.Header["Upgrade"]; ok {
		return false
	}
	for k, vv := range req.Header {
		if !httpguts.ValidHeaderFieldName(k) {
			return false
		}
		for _, v := range vv {
			if !httpguts.ValidHeaderFieldValue(v) {
				return false
			}
		}
	}
	return true
}

// hostHeader returns the value of head's one Host header; false when it
// has none, more than one, or a folded line (http.ReadRequest keeps only
// req.Host, which an absolute-form target also sets).
func hostHeader(head []byte) (string, bool) {
	var host string
	n := 0
	_, rest, _ := bytes.Cut(head, []byte("\n")) // past the request line
	for len(rest) > 0 {
		var line []byte
		line, rest, _ = bytes.Cut(rest, []byte("\n"))
		line = bytes.TrimSuffix(line, []byte("\r"))
		if len(line) == 0 {
			break
		}
		if line[0] == ' ' || line[0] == '\t' {
			return "", false
		}
		name, value, _ := bytes.Cut(line, []byte(":"))
		if bytes.EqualFold(name, []byte("Host")) {
			n++
			host = string(bytes.TrimSpace(value))
		}
	}
	return host, n == 1
}

// serveRequest runs the handler on req and writes its answer; it
// returns whether the connection serves another request.
func (c *serverConn) serveRequest(req *http.Request) bool {
	ctx, cancel := context.WithCancel(c.ctx)
	defer cancel()
	body := &reqBody{br: c.br}
	body.left.Store(req.ContentLength)
	req = req.WithContext(ctx)
	req.RemoteAddr = c.remote
	req.Body = body
	if req.ContentLength == 0 {
		req.Body = http.NoBody // as net/http gives it
	}
	if int64(c.br.Buffered()) < req.ContentLength {
		// The body is read under no deadline but the handler's, as in
		// net/http without a ReadTimeout (braid's handler sets one).
		_ = c.nc.SetReadDeadline(time.Time{})
	}
	if c.bw == nil { // not before a request is answered here: a WebSocket never needs it
		c.bw = writers.Get().(*bufio.Writer)
		c.bw.Reset(c.nc)
	}
	w := &respWriter{c: c, req: req, header: make(http.Header), length: -1}
	c.watch.start(cancel, body)
	ok := c.run(w, req)
	gone := c.watch.stop()
	if !ok || gone {
		return false
	}
	left := body.finish()
	if left > maxBodyDrain {
		w.closeAfter = true
	}
	if !w.finish() {
		return false
	}
	if left > 0 {
		_ = c.nc.SetReadDeadline(time.Now().Add(c.s.readHeaderTimeout()))
		if _, err := c.br.Discard(int(left)); err != nil {
			return false
		}
	}
	return true
}

// run calls the handler; a panic closes the connection (false), logged
// unless it is http.ErrAbortHandler, as in net/http.
func (c *serverConn) run(w *respWriter, req *http.Request) (ok bool) {
	defer func() {
		if v := recover(); v != nil {
			if v != http.ErrAbortHandler {
				c.s.logger().Error("panic serving a request", "remote", c.remote, "panic", v, "stack", string(debug.Stack()))
			}
			ok = false
		}
		w.done = true
	}()
	c.s.Handler.ServeHTTP(w, req)
	return true
}

// reqBody is a request's body: the next left bytes of the connection.
// Only the handler reads it; the watch asks whether it is all read.
type reqBody struct {
	br     *bufio.Reader
	left   atomic.Int64
	closed atomic.Bool
}

func (b *reqBody) Read(p []byte) (int, error) {
	if b.closed.Load() {
		return 0, http.ErrBodyReadAfterClose
	}
	left := b.left.Load()
	if left <= 0 {
		return 0, io.EOF
	}
	if int64(len(p)) > left {
		p = p[:left]
	}
	n, err := b.br.Read(p)
	if b.left.Add(-int64(n)) == 0 {
		err = io.EOF
	} else if err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	return n, err
}

// Close ends the handler's reads; what is left is drained, or the
// connection closed, after the answer.
func (b *reqBody) Close() error {
	b.closed.Store(true)
	return nil
}

// finish ends the handler's reads and returns what it left unread.
func (b *reqBody) finish() int64 {
	b.closed.Store(true)
	return b.left.Swap(0)
}

// done reports whether the whole body has been read.
func (b *reqBody) done() bool { return b.left.Load() <= 0 }

// handedConn is a connection handed to Fallback: the bytes already read
// come first. Only Fallback's connection goroutine reads it.
type handedConn struct {
	net.Conn
	pending []byte
}

func (h *handedConn) Read(p []byte) (int, error) {
	if len(h.pending) == 0 {
		return h.Conn.Read(p)
	}
	n := copy(p, h.pending)
	h.pending = h.pending[n:]
	if len(h.pending) == 0 {
		h.pending = nil
	}
	return n, nil
}
