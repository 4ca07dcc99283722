package server

import (
	"sync"

	"github.com/braidrpc/braid/internal/jsonrpc"
)

// wsRegistry counts and lists the open connections.
type wsRegistry struct {
	mu      sync.Mutex
	max     int
	open    int // reserved at the upgrade, released when the connection is over
	conns   map[*wsConn]struct{}
	closing bool
	wg      sync.WaitGroup // one per reserved connection
}

func (g *wsRegistry) init(max int) {
	g.max = max
	g.conns = make(map[*wsConn]struct{})
}

// reserve takes a connection slot, or says why there is none.
func (g *wsRegistry) reserve() *jsonrpc.Error {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closing {
		return jsonrpc.Errorf(jsonrpc.CodeLimitExceeded, "server shutting down")
	}
	if g.open >= g.max {
		return jsonrpc.Errorf(jsonrpc.CodeLimitExceeded,
			"too many WebSocket connections (limit %d); try again later", g.max)
	}
	g.open++
	g.wg.Add(1)
	return nil
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

// release gives back a slot reserved by reserve (c is nil when the upgrade
// failed).
func (g *wsRegistry) release(c *wsConn) {
	g.mu.Lock()
	delete(g.conns, c)
	g.open--
	g.mu.Unlock()
	g.wg.Done()
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
