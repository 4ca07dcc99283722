package devnet

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/coder/websocket"
)

const (
	// wsWriteTimeout bounds writing one message to a WebSocket client.
	wsWriteTimeout = 10 * time.Second
	// wsQueue is how many outgoing messages may wait for the writer.
	wsQueue = 256
)

// isWebSocket reports whether r asks for a WebSocket upgrade. Accept
// checks the rest of the handshake.
func isWebSocket(r *http.Request) bool {
	return r.Method == http.MethodGet && strings.EqualFold(r.Header.Get("Upgrade"), "websocket")
}

// wsConn is one WebSocket client of a provider. Its reader (run) answers
// messages one after another; one writer goroutine sends answers and
// notifications in the order they were queued; one goroutine per
// subscription forwards the chain's notifications.
type wsConn struct {
	p    *Provider
	conn *websocket.Conn

	// ctx ends when the connection does (client gone, write failed,
	// provider down or devnet closed).
	ctx    context.Context
	cancel context.CancelFunc
	out    chan outMsg
	wg     sync.WaitGroup // the writer and the subscriptions' forwarders

	mu   sync.Mutex
	subs map[string]*wsSub
	// started are the subscriptions opened by the message being answered:
	// their forwarders start once the answer is queued, so a client never
	// sees a notification before the subscription's id. Reader only.
	started []*wsSub
}

// outMsg is a queued message and when it may be written (zero: at once).
type outMsg struct {
	data []byte
	due  time.Time
}

// serveWS upgrades the request and serves JSON-RPC over the connection
// until it ends. Every call, single or in a batch, goes through the same
// Provider.call as over HTTP, so error_rate, lag_blocks and lie apply per
// call, with the faults read again for each message; eth_subscribe and
// eth_unsubscribe are added (wssub.go). Faults at the connection level:
//
//   - down refuses the upgrade (ServeHTTP closes the connection
//     unanswered) and, when set, drops every open connection without a
//     close handshake;
//   - http_status refuses the upgrade with that status;
//   - latency_ms delays every answer and every notification by that much
//     from when it was ready, keeping their order; the handshake is not
//     delayed;
//   - lag_blocks makes calls lag as over HTTP, and newHeads notifications
//     lag by as many blocks (headLag); logs and newPendingTransactions
//     notifications pass through unchanged;
//   - lie makes call results lie; notifications are honest.
func (p *Provider) serveWS(w http.ResponseWriter, r *http.Request, f Faults) {
	if f.HTTPStatus != 0 {
		refuse(w, f.HTTPStatus)
		return
	}
	if !p.wsEnter() {
		hangUp(w) // closing
		return
	}
	defer p.ws.Done()
	conn, err := websocket.Accept(w, r, &websocket.AcceptOptions{OriginPatterns: []string{"*"}})
	if err != nil {
		return // Accept has answered the bad handshake
	}
	conn.SetReadLimit(maxBody)
	ctx, cancel := context.WithCancel(r.Context())
	c := &wsConn{
		p:      p,
		conn:   conn,
		ctx:    ctx,
		cancel: cancel,
		out:    make(chan outMsg, wsQueue),
		subs:   make(map[string]*wsSub),
	}
	if !p.track(c) {
		cancel()
		conn.CloseNow()
		return
	}
	defer p.untrack(c)
	c.run()
}

// wsEnter counts a WebSocket handler in, unless the provider is closing.
func (p *Provider) wsEnter() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.wsClosing {
		return false
	}
	p.ws.Add(1)
	return true
}

// track registers an open connection, unless the provider went down or
// started closing since the request arrived.
func (p *Provider) track(c *wsConn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.wsClosing || p.faults.Down {
		return false
	}
	p.conns[c] = struct{}{}
	return true
}

func (p *Provider) untrack(c *wsConn) {
	p.mu.Lock()
	delete(p.conns, c)
	p.mu.Unlock()
}

// wsConnsLocked lists the open connections; p.mu must be held.
func (p *Provider) wsConnsLocked() []*wsConn {
	conns := make([]*wsConn, 0, len(p.conns))
	for c := range p.conns {
		conns = append(conns, c)
	}
	return conns
}

// run reads and answers messages until the connection ends, then stops
// the writer and the subscriptions and waits for them.
func (c *wsConn) run() {
	c.wg.Add(1)
	go c.writeLoop()
	defer func() {
		c.cancel()
		c.wg.Wait()
		c.mu.Lock()
		subs := c.subs
		c.subs = nil
		c.mu.Unlock()
		for _, s := range subs {
			s.sub.Unsubscribe() // those whose forwarder never started
		}
		c.conn.CloseNow()
	}()
	for {
		_, msg, err := c.conn.Read(c.ctx)
		if err != nil {
			return // closed by either side, too large, or the devnet closing
		}
		f := c.p.Faults() // the faults now, for each message
		if out := c.p.serveBody(c.ctx, msg, f, c.call); len(out) > 0 && !c.send(out) {
			return
		}
		c.startForwarders()
	}
}

// call answers one call over WebSocket: subscriptions here, everything
// else as over HTTP.
func (c *wsConn) call(ctx context.Context, f Faults, req request) (json.RawMessage, *rpcError) {
	switch req.Method {
	case "eth_subscribe", "eth_unsubscribe":
		c.p.requests.Add(1)
		if f.fail() {
			return nil, errInjected
		}
		args, err := splitParams(req.Params)
		if err != nil {
			return nil, err
		}
		if req.Method == "eth_subscribe" {
			return c.subscribe(ctx, args)
		}
		return c.unsubscribe(args)
	}
	return c.p.call(ctx, f, req)
}

// send queues a message for the writer, due after the current latency.
// It reports false once the connection has ended.
func (c *wsConn) send(data []byte) bool {
	m := outMsg{data: data}
	if ms := c.p.Faults().LatencyMS; ms > 0 {
		m.due = time.Now().Add(time.Duration(ms) * time.Millisecond)
	}
	select {
	case c.out <- m:
		return true
	case <-c.ctx.Done():
		return false
	}
}

// writeLoop writes queued messages in order, each once it is due. A failed
// write ends the connection.
func (c *wsConn) writeLoop() {
	defer c.wg.Done()
	defer c.cancel()
	for {
		var m outMsg
		select {
		case <-c.ctx.Done():
			return
		case m = <-c.out:
		}
		if wait := time.Until(m.due); !m.due.IsZero() && wait > 0 {
			t := time.NewTimer(wait)
			select {
			case <-t.C:
			case <-c.ctx.Done():
				t.Stop()
				return
			}
		}
		ctx, cancel := context.WithTimeout(c.ctx, wsWriteTimeout)
		err := c.conn.Write(ctx, websocket.MessageText, m.data)
		cancel()
		if err != nil {
			return
		}
	}
}
