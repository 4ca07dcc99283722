package server

import (
	"encoding/json"

	"github.com/braidrpc/braid/internal/gateway"
)

// SetSubscribe replaces the feed behind eth_subscribe (Network.Subscribe)
// with f, so tests drive notifications themselves. Call it before serving.
func SetSubscribe(s *Server, f func(n *gateway.Network, params json.RawMessage, deliver func(json.RawMessage)) (func(), error)) {
	s.subscribe = f
}

// OnWebSocketClose makes s call f with the reason label
// (braid_ws_disconnects_total's) each time a WebSocket connection is over:
// its subscriptions stopped and its goroutines ended. Call it before
// serving.
func OnWebSocketClose(s *Server, f func(reason string)) {
	s.onWSClose = f
}

// PageView is the status page's view of the three documents it shows
// (/status, /status/centralization, /status/disputes), as JSON: what
// page.js's braidPage.view must return for the same documents.
func PageView(status, centralization, disputes []byte) ([]byte, error) {
	v, err := buildView(pageDocs{Status: status, Centralization: centralization, Disputes: disputes})
	if err != nil {
		return nil, err
	}
	return json.Marshal(v)
}

// RenderPage renders the status page for the three documents.
func RenderPage(status, centralization, disputes []byte, refresh int) ([]byte, error) {
	return renderDocs(pageDocs{Status: status, Centralization: centralization, Disputes: disputes}, refresh)
}
