package server

import (
	"net/http"
	"sync"

	"github.com/braidrpc/braid/internal/config"
	"github.com/braidrpc/braid/internal/jsonrpc"
)

// wsRegistry counts and lists the open connections, and counts
// connections and subscriptions per client address.
type wsRegistry struct {
	mu      sync.Mutex
	cfg     config.WebSocket
	open    int // reserved at the upgrade, released when the connection is over
	conns   map[*wsConn]struct{}
	clients map[string]*clientUse // "" (no address) is never counted
	closing bool
	wg      sync.WaitGroup // one per reserved connection
}

// clientUse is what one client address holds.
type clientUse struct {
	conns, subs int
}

func (g *wsRegistry) init(cfg config.WebSocket) {
	g.cfg = cfg
	g.conns = make(map[*wsConn]struct{})
	g.clients = make(map[string]*clientUse)
}

// reserve takes a connection slot for client, or says why there is none
// with the HTTP status to answer: 503 when braid is full or stopping,
// 429 when this client holds its share.
func (g *wsRegistry) reserve(client string) (int, *jsonrpc.Error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closing {
		return http.StatusServiceUnavailable, jsonrpc.Errorf(jsonrpc.CodeLimitExceeded, "server shutting down")
	}
	if g.open >= g.cfg.MaxConnections {
		return http.StatusServiceUnavailable, jsonrpc.Errorf(jsonrpc.CodeLimitExceeded,
			"too many WebSocket connections (websocket.max_connections %d); try again later", g.cfg.MaxConnections)
	}
	if client != "" {
		u := g.use(client)
		if u.conns >= g.cfg.MaxConnectionsPerClient {
			g.forget(client)
			return http.StatusTooManyRequests, jsonrpc.Errorf(jsonrpc.CodeLimitExceeded,
				"too many WebSocket connections from your address (websocket.max_connections_per_client %d); close unused ones",
				g.cfg.MaxConnectionsPerClient)
		}
		u.conns++
	}
	g.open++
	g.wg.Add(1)
	return 0, nil
}

// add lists c for CloseWebSockets; false when shutdown has begun since
// the slot was reserved.
func (g *wsRegistry) add(c *wsConn) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closing {
		return false
	}
	g.conns[c] = struct{}{}
	return true
}

// release gives back a slot reserve took for client (c is nil when the
// upgrade failed).
func (g *wsRegistry) release(c *wsConn, client string) {
	g.mu.Lock()
	delete(g.conns, c)
	g.open--
	if u := g.clients[client]; u != nil {
		u.conns--
		g.forget(client)
	}
	g.mu.Unlock()
	g.wg.Done()
}

// takeSubscription counts one more subscription of client, or says which
// cap it would pass.
func (g *wsRegistry) takeSubscription(client string) *jsonrpc.Error {
	if client == "" {
		return nil
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	u := g.use(client)
	if u.subs >= g.cfg.MaxSubscriptionsPerClient {
		g.forget(client)
		return jsonrpc.Errorf(jsonrpc.CodeLimitExceeded,
			"too many subscriptions from your address (websocket.max_subscriptions_per_client %d); unsubscribe unused ones",
			g.cfg.MaxSubscriptionsPerClient)
	}
	u.subs++
	return nil
}

// giveSubscription gives back what takeSubscription took.
func (g *wsRegistry) giveSubscription(client string) {
	if client == "" {
		return
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if u := g.clients[client]; u != nil {
		u.subs--
		g.forget(client)
	}
}

// use returns client's entry, made if needed; g.mu must be held.
func (g *wsRegistry) use(client string) *clientUse {
	u := g.clients[client]
	if u == nil {
		u = &clientUse{}
		g.clients[client] = u
	}
	return u
}

// forget drops client's entry once it holds nothing, so the table only
// lists clients that hold something; g.mu must be held.
func (g *wsRegistry) forget(client string) {
	if u := g.clients[client]; u != nil && u.conns <= 0 && u.subs <= 0 {
		delete(g.clients, client)
	}
}

func (g *wsRegistry) shutdown() []*wsConn {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.closing = true
	out := make([]*wsConn, 0, len(g.conns))
	for c := range g.conns {
		out = append(out, c)
	}
	return out
}
