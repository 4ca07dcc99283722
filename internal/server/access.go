package server

import (
	"context"
	"maps"
	"net"
	"net/http"
	"slices"
	"strings"

	"github.com/coder/websocket"

	"github.com/braidrpc/braid/internal/access"
	"github.com/braidrpc/braid/internal/gateway"
	"github.com/braidrpc/braid/internal/jsonrpc"
)

// API keys and limits (internal/access) on the request path. With no
// Options.Access, or for the in-process clients of library mode, every
// step here is skipped: the caller is nil.

// reasonUnauthorized: the connection's key was revoked.
const reasonUnauthorized = "unauthorized"

// identify finds the caller of r on network n from the key it carries
// (pathKey: the key segment of its path, if any), or answers r with the
// refusal (401, 403, 503) and returns false.
func (s *Server) identify(w http.ResponseWriter, r *http.Request, n *gateway.Network, pathKey string) (*access.Caller, bool) {
	if s.access == nil || inProcess(r) {
		return nil, true
	}
	key, ref := access.Presented(r, pathKey)
	var caller *access.Caller
	if ref == nil {
		caller, ref = s.access.Identify(n.Name, key, s.clients.of(r))
	}
	if ref != nil {
		refuse(w, ref, nil)
		return nil, false
	}
	return caller, true
}

// inProcess reports whether r came over an in-memory pipe: the
// in-process clients of library mode (braid.Client), which belong to the
// program that embeds braid and need no key.
func inProcess(r *http.Request) bool {
	addr, _ := r.Context().Value(http.LocalAddrContextKey).(net.Addr)
	return addr != nil && addr.Network() == "pipe"
}

// refuse answers with ref's status, Retry-After and error: one error
// object, or for a batch msg one per call (each with its id).
func refuse(w http.ResponseWriter, ref *access.Refusal, msg *jsonrpc.Message) {
	ref.SetHeaders(w.Header())
	if ref.Whole {
		msg = nil
	}
	answers := refusalAnswers(msg, ref.Err)
	if msg == nil || !msg.Batch || len(answers) == 0 {
		var id []byte
		if msg != nil && !msg.Batch && len(answers) == 1 {
			id = answers[0].ID
		}
		writeJSON(w, ref.Status, jsonrpc.ErrorResponse(id, ref.Err).AppendJSON(nil))
		return
	}
	setJSONHeaders(w, jsonrpc.BatchSize(answers))
	w.WriteHeader(ref.Status)
	_, _ = jsonrpc.WriteBatch(w, answers)
}

// refusalAnswers answers every call of msg with e (a malformed member
// keeps its own error; a notification gets none).
func refusalAnswers(msg *jsonrpc.Message, e *jsonrpc.Error) []*jsonrpc.Response {
	if msg == nil {
		return nil
	}
	out := make([]*jsonrpc.Response, 0, len(msg.Members))
	for _, m := range msg.Members {
		switch {
		case m.Req == nil:
			out = append(out, m.Err)
		case !m.Req.IsNotification():
			out = append(out, jsonrpc.ErrorResponse(m.Req.ID, e))
		}
	}
	return out
}

// checkMessage applies the caller's batch cap and charges its calls. It
// returns the refusal to answer the whole message with, or nil.
func (s *Server) checkMessage(ctx context.Context, caller *access.Caller, msg *jsonrpc.Message) *access.Refusal {
	if caller == nil {
		return nil
	}
	if msg.Batch {
		if e := s.access.MaxBatch(caller, len(msg.Members)); e != nil {
			// As limits.max_batch: one error, HTTP 200.
			return &access.Refusal{Status: http.StatusOK, Err: e, Whole: true}
		}
	}
	methods := make([]string, 0, len(msg.Members))
	for _, m := range msg.Members {
		if m.Req != nil {
			methods = append(methods, m.Req.Method)
		}
	}
	return s.access.Charge(ctx, caller, methods)
}

// guard wraps call with the caller's method lists and the network's fair
// admission. A call waits for a slot up to limits.request_timeout, then
// has its own request_timeout to be answered: the wait is not taken from
// the time its upstreams get, so a call admitted late is not cut off
// while a provider works on it (which would waste the provider's
// capacity on an answer nobody reads). A refused call is answered with
// its error; refused, when set, hears of it (a single call over HTTP then
// gets 429).
func (s *Server) guard(caller *access.Caller, network string, call callFunc, refused func(*jsonrpc.Error)) callFunc {
	if caller == nil {
		return call
	}
	queued := s.access.Queues(caller, network)
	return func(ctx context.Context, req *jsonrpc.Request) *jsonrpc.Response {
		if e := s.access.Permit(caller, req.Method); e != nil {
			return jsonrpc.ErrorResponse(req.ID, e)
		}
		if !queued {
			return call(ctx, req)
		}
		wctx, cancel := context.WithTimeout(ctx, s.limits.RequestTimeout)
		release, e := s.access.Admit(wctx, caller, network)
		cancel()
		if e != nil {
			if refused != nil && e.Code == jsonrpc.CodeLimitExceeded {
				refused(e)
			}
			if req.IsNotification() {
				return nil
			}
			return jsonrpc.ErrorResponse(req.ID, e)
		}
		defer release()
		return call(ctx, req)
	}
}

// closeRevoked closes, with 1008, the WebSocket connections whose key is
// no longer accepted: their subscriptions must not outlive the key.
func (s *Server) closeRevoked() {
	s.wsConns.mu.Lock()
	conns := slices.Collect(maps.Keys(s.wsConns.conns))
	s.wsConns.mu.Unlock()
	for _, c := range conns {
		if c.caller != nil && c.caller.Key != nil && !s.access.Keyring().Active(c.caller.Key) {
			c.fail(websocket.StatusPolicyViolation, "API key revoked", reasonUnauthorized)
		}
	}
}

// twoSegments splits a path /{network}/{key} into its parts.
func twoSegments(path string) (network, key string, ok bool) {
	network, key, ok = strings.Cut(strings.TrimPrefix(path, "/"), "/")
	return network, key, ok && network != "" && key != "" && !strings.Contains(key, "/")
}

// redactPath is path with every segment that could be an API key (one of
// braid's, or any long one) replaced by "…", for error messages.
func redactPath(path string) string {
	parts := strings.Split(path, "/")
	for i, p := range parts {
		if access.LooksLikeKey(p) || len(p) >= 20 {
			parts[i] = "…"
		}
	}
	return strings.Join(parts, "/")
}

// check refuses a message on a connection whose key was revoked since
// the upgrade, or that its key's batch cap or limits refuse.
func (c *wsConn) check(m *jsonrpc.Message) *access.Refusal {
	if c.caller == nil {
		return nil
	}
	if ref := c.s.access.Recheck(c.caller); ref != nil {
		return ref
	}
	return c.s.checkMessage(c.ctx, c.caller, m)
}

// sendRefusal answers every call of m with ref's error (a batch cap: the
// message with one error), as the HTTP endpoint would, and leaves the
// connection open.
func (c *wsConn) sendRefusal(m *jsonrpc.Message, ref *access.Refusal, release func()) {
	if ref.Whole {
		c.send(jsonrpc.ErrorResponse(nil, ref.Err).AppendJSON(nil), release)
		return
	}
	answers := refusalAnswers(m, ref.Err)
	if len(answers) == 0 {
		release()
		return
	}
	c.sendAnswers(answers, m.Batch, release)
}
