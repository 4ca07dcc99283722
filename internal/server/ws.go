package server

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/coder/websocket"

	"github.com/braidrpc/braid/internal/access"
	"github.com/braidrpc/braid/internal/gateway"
	"github.com/braidrpc/braid/internal/jsonrpc"
)

// wsMaxInflight bounds the messages one connection has in progress (read,
// being answered, or answered and waiting to be written). When it is
// reached, reading pauses until an answer has been written. It is also
// kept at or below SendBuffer, so that answers alone never fill the send
// queue: only notifications a client leaves unread do.
const wsMaxInflight = 64

func (s *Server) serveWSDefault(w http.ResponseWriter, r *http.Request) {
	if !isWebSocketUpgrade(r) {
		s.servePageOr(w, r, s.serveFallback) // page.go
		return
	}
	s.serveWebSocket(w, r, s.gw.Networks()[0], "")
}

func (s *Server) serveWSNetwork(w http.ResponseWriter, r *http.Request) {
	if !isWebSocketUpgrade(r) {
		s.redirectToPage(w, r, s.serveFallback) // page.go
		return
	}
	if key := r.PathValue("network"); s.access != nil && access.LooksLikeKey(key) {
		s.serveWebSocket(w, r, s.gw.Networks()[0], key)
		return
	}
	if n := s.network(w, r); n != nil {
		s.serveWebSocket(w, r, n, "")
	}
}

// isWebSocketUpgrade reports whether r asks for a WebSocket (RFC 6455,
// section 4.2.1: "Connection: Upgrade" and "Upgrade: websocket", tokens
// matched case-insensitively).
func isWebSocketUpgrade(r *http.Request) bool {
	return r.Method == http.MethodGet &&
		headerHasToken(r.Header, "Connection", "upgrade") &&
		headerHasToken(r.Header, "Upgrade", "websocket")
}

func headerHasToken(h http.Header, name, token string) bool {
	for _, v := range h.Values(name) {
		for t := range strings.SplitSeq(v, ",") {
			if strings.EqualFold(strings.TrimSpace(t), token) {
				return true
			}
		}
	}
	return false
}

// CloseWebSockets closes every open WebSocket connection with status 1001
// (going away) and refuses new ones, then waits until each connection is
// over: its subscriptions stopped and its goroutines ended. Serve calls it
// when shutting down, since http.Server.Shutdown does not see hijacked
// connections.
func (s *Server) CloseWebSockets() {
	for _, c := range s.wsConns.shutdown() {
		c.fail(websocket.StatusGoingAway, "server shutting down", reasonShutdown)
	}
	s.wsConns.wg.Wait()
}

// hijackRecorder keeps the net.Conn websocket.Accept hijacks, so that a
// close handshake with a peer that stopped reading can be cut short.
type hijackRecorder struct {
	http.ResponseWriter
	conn net.Conn
}

func (h *hijackRecorder) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	c, brw, err := http.NewResponseController(h.ResponseWriter).Hijack()
	h.conn = c
	return c, brw, err
}

// serveWebSocket runs one WebSocket JSON-RPC connection to n until it is
// over. The upgrade carries the API key as an HTTP request would.
func (s *Server) serveWebSocket(w http.ResponseWriter, r *http.Request, n *gateway.Network, pathKey string) {
	caller, ok := s.identify(w, r, n, pathKey)
	if !ok {
		return
	}
	client := s.clients.of(r)
	if status, e := s.wsConns.reserve(client); e != nil {
		writeError(w, status, e)
		return
	}
	rec := &hijackRecorder{ResponseWriter: w}
	conn, err := websocket.Accept(rec, r, &websocket.AcceptOptions{
		// A public RPC endpoint: browser dApps connect from any origin,
		// and there are no cookies or ambient credentials to protect.
		OriginPatterns:  []string{"*"},
		CompressionMode: websocket.CompressionDisabled,
	})
	if err != nil { // Accept has answered the client
		s.wsConns.release(nil, client)
		s.log.Debug("websocket upgrade refused", "remote", r.RemoteAddr, "network", n.Name, "err", err)
		return
	}
	conn.SetReadLimit(s.ws.MaxMessageBytes)
	c := newWSConn(s, conn, rec.conn, n, r.RemoteAddr)
	c.client, c.caller = client, caller
	if !s.wsConns.add(c) {
		c.fail(websocket.StatusGoingAway, "server shutting down", reasonShutdown)
	}
	reason := c.run()
	s.wsConns.release(c, client)
	if s.onWSClose != nil {
		s.onWSClose(reason)
	}
}

// wsConn is one WebSocket connection. Its goroutines: the reader (the
// HTTP handler's goroutine), one writer draining the send queue, one
// keepalive, one per message in progress, and the closer once the
// connection is failing.
type wsConn struct {
	s      *Server
	conn   *websocket.Conn
	raw    net.Conn // the hijacked connection; nil if unknown
	n      *gateway.Network
	remote string
	client string         // the per-client caps' name for the remote address
	caller *access.Caller // its API key and limits; nil: none apply
	opened time.Time

	// ctx is the context of the calls in progress; cancelled when the
	// connection fails.
	ctx    context.Context
	cancel context.CancelFunc

	queue *sendQueue    // answers and notifications, drained by writeLoop
	slots chan struct{} // messages in progress (wsMaxInflight)

	paused atomic.Bool  // the reader waits for a slot (pongs are not read)
	pauses atomic.Int64 // times the reader paused

	failOnce sync.Once
	done     chan struct{} // closed when the connection starts failing
	closed   chan struct{} // closed when the close handshake is over
	code     websocket.StatusCode
	reason   string // sent in the close frame

	labelMu sync.Mutex
	label   string // braid_ws_disconnects_total's reason
	detail  error  // what ended it, for the log

	handlers sync.WaitGroup // messages in progress
	bg       sync.WaitGroup // writer and keepalive

	subsMu     sync.Mutex
	subs       map[string]*wsSub
	subsClosed bool
}

func newWSConn(s *Server, conn *websocket.Conn, raw net.Conn, n *gateway.Network, remote string) *wsConn {
	ctx, cancel := context.WithCancel(context.Background())
	return &wsConn{
		s: s, conn: conn, raw: raw, n: n, remote: remote, opened: time.Now(),
		ctx: ctx, cancel: cancel,
		queue:  newSendQueue(s.ws.SendBuffer),
		slots:  make(chan struct{}, max(1, min(wsMaxInflight, s.ws.SendBuffer))),
		done:   make(chan struct{}),
		closed: make(chan struct{}),
		subs:   make(map[string]*wsSub),
	}
}

// run serves the connection until it is over and everything it started
// has ended, and returns why it ended (a disconnect reason label).
func (c *wsConn) run() string {
	log := c.s.log.With("remote", c.remote, "network", c.n.Name)
	log.Debug("websocket connection opened")
	c.s.wsm.opened()

	c.bg.Add(2)
	go c.writeLoop()
	go c.keepalive()
	c.readLoop()

	<-c.closed
	c.handlers.Wait()
	c.bg.Wait()
	c.cancel()

	c.labelMu.Lock()
	label, detail := c.label, c.detail
	c.labelMu.Unlock()
	c.s.wsm.closed(label)
	attrs := []any{"reason", label, "code", int(c.code), "duration", time.Since(c.opened).Round(time.Millisecond).String()}
	if detail != nil {
		attrs = append(attrs, "detail", detail.Error())
	}
	log.Debug("websocket connection closed", attrs...)
	return label
}

// fail starts closing the connection with status code and reason. It
// never blocks, so a feed's deliver may call it.
func (c *wsConn) fail(code websocket.StatusCode, reason, label string) {
	c.failWith(code, reason, label, nil)
}

// failWith is fail with the error behind it, for the log. The first call
// decides the close frame; a later one may still name the cause better
// (labelRank): when a write times out the library cuts the connection,
// and the reader may report that first.
func (c *wsConn) failWith(code websocket.StatusCode, reason, label string, detail error) {
	c.labelMu.Lock()
	if c.label == "" || labelRank(label) > labelRank(c.label) {
		c.label, c.detail = label, detail
	}
	c.labelMu.Unlock()
	c.failOnce.Do(func() {
		c.code, c.reason = code, reason
		close(c.done)
		c.cancel()
		go c.close()
	})
}

// labelRank orders disconnect reasons from vague to specific.
func labelRank(label string) int {
	switch label {
	case reasonError:
		return 0
	case reasonClient:
		return 1
	}
	return 2
}

func (c *wsConn) failing() bool {
	select {
	case <-c.done:
		return true
	default:
		return false
	}
}

// close stops the subscriptions and performs the close handshake. A peer
// that does not take part gets WriteTimeout, then its connection is cut.
func (c *wsConn) close() {
	defer close(c.closed)
	c.dropSubscriptions()
	if c.raw != nil {
		cut := time.AfterFunc(c.s.ws.WriteTimeout, func() { _ = c.raw.Close() })
		defer cut.Stop()
	}
	_ = c.conn.Close(c.code, c.reason)
}

// readLoop reads messages and hands each to its own goroutine, as long as
// a slot is free.
func (c *wsConn) readLoop() {
	for {
		if !c.acquire() {
			return
		}
		_, msg, err := c.conn.Read(context.Background())
		if err != nil {
			<-c.slots
			c.readFailed(err)
			return
		}
		c.s.wsm.message("in")
		c.handlers.Add(1)
		go func() {
			defer c.handlers.Done()
			c.handle(msg)
		}()
	}
}

// acquire takes a slot for the next message, waiting (reading paused) while
// every slot is taken. False when the connection is failing.
func (c *wsConn) acquire() bool {
	select {
	case c.slots <- struct{}{}:
		return true
	default:
	}
	c.pauses.Add(1)
	c.paused.Store(true)
	defer c.paused.Store(false)
	select {
	case c.slots <- struct{}{}:
		return true
	case <-c.done:
		return false
	}
}

func (c *wsConn) releaseSlot() { <-c.slots }

// goneAway reports whether err says the peer closed or dropped the
// connection.
func goneAway(err error) bool {
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE)
}

func (c *wsConn) readFailed(err error) {
	switch {
	case errors.Is(err, websocket.ErrMessageTooBig):
		// The library has already sent status 1009 with its reason.
		c.failWith(websocket.StatusMessageTooBig, "message too big", reasonTooBig, err)
	case websocket.CloseStatus(err) != -1, goneAway(err):
		c.failWith(websocket.StatusNormalClosure, "", reasonClient, err)
	default:
		c.failWith(websocket.StatusInternalError, "read failed", reasonError, err)
	}
}

// handle answers one message, as the HTTP endpoint would answer it as a
// body, then frees its slot once the answer is written.
func (c *wsConn) handle(msg []byte) {
	m, bad := jsonrpc.Decode(msg, c.s.limits.MaxBatch)
	if bad != nil {
		c.send(bad.AppendJSON(nil), c.releaseSlot)
		return
	}
	if ref := c.check(m); ref != nil {
		// Over a limit: every call gets the error, the connection stays.
		c.sendRefusal(m, ref, c.releaseSlot)
		return
	}
	var after afterSend
	call := c.s.guard(c.caller, c.n.Name, func(ctx context.Context, req *jsonrpc.Request) *jsonrpc.Response {
		req.Client = c.client
		return c.call(ctx, req, &after)
	}, nil)
	var answers []*jsonrpc.Response
	if !m.Batch {
		mem := m.Members[0]
		resp := mem.Err
		if mem.Req != nil {
			resp = call(c.ctx, mem.Req)
		}
		if resp != nil {
			answers = []*jsonrpc.Response{resp}
		}
	} else {
		answers = c.s.runBatch(c.ctx, m.Members, call)
	}
	if len(answers) == 0 { // only notifications
		c.releaseSlot()
	} else {
		c.sendAnswers(answers, m.Batch, c.releaseSlot)
	}
	after.run()
}

// call answers one call of a message: the subscription methods here, the
// rest through the network's executor (Network.Execute) as over HTTP, so
// every stage (cache, merge, quorum, strict, history) applies alike. The
// subscription methods pass the network's planner first (Network.Admit),
// as every executed call does, so allow and deny lists and every policy
// apply over WebSocket as over HTTP.
func (c *wsConn) call(ctx context.Context, req *jsonrpc.Request, after *afterSend) *jsonrpc.Response {
	switch req.Method {
	case "eth_subscribe", "eth_unsubscribe":
		if err := c.n.Admit(req); err != nil {
			if req.IsNotification() {
				return nil
			}
			return jsonrpc.ErrorResponse(req.ID, jsonrpc.FromError(err))
		}
		if req.Method == "eth_subscribe" {
			return c.subscribe(req, after)
		}
		return c.unsubscribe(req)
	}
	return c.n.Execute(ctx, req).Response
}

// afterSend collects what must happen once a message's answer is queued
// (a new subscription's notifications may follow it, never precede it).
type afterSend struct {
	mu    sync.Mutex
	funcs []func()
}

func (a *afterSend) add(f func()) {
	a.mu.Lock()
	a.funcs = append(a.funcs, f)
	a.mu.Unlock()
}

func (a *afterSend) run() {
	a.mu.Lock()
	funcs := a.funcs
	a.funcs = nil
	a.mu.Unlock()
	for _, f := range funcs {
		f()
	}
}

// keepalive pings every PingInterval; a pong must come within
// PingTimeout. While the reader is paused (every slot taken) pongs are not
// read, so a missing pong then proves nothing.
func (c *wsConn) keepalive() {
	defer c.bg.Done()
	t := time.NewTicker(c.s.ws.PingInterval)
	defer t.Stop()
	for {
		select {
		case <-c.done:
			return
		case <-t.C:
		}
		pauses := c.pauses.Load()
		ctx, cancel := context.WithTimeout(context.Background(), c.s.ws.PingTimeout)
		err := c.conn.Ping(ctx)
		cancel()
		if err == nil || c.failing() {
			continue
		}
		// A connection closed under the ping: the reader says why.
		// A missing pong while the reader paused proves nothing.
		if !errors.Is(err, context.DeadlineExceeded) || c.paused.Load() || c.pauses.Load() != pauses {
			continue
		}
		c.failWith(websocket.StatusGoingAway, "ping timeout", reasonPingTimeout, err)
		return
	}
}
