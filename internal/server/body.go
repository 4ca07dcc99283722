package server

import (
	"io"
	"net/http"
	"time"

	"github.com/braidrpc/braid/internal/jsonrpc"
)

// bodyDrainTimeout bounds how long braid reads on after refusing a body
// that is too large.
const bodyDrainTimeout = 10 * time.Second

// refuseBody answers a body over limits.max_body_bytes with 413, then
// reads on and discards up to twice the limit more, within
// bodyDrainTimeout, before the connection is closed. A client that writes
// its whole body before it reads (Python's http.client, many scripts)
// is otherwise cut off while it still writes: closing a connection with
// unread data resets it, and the 413 is lost with it. A client that asked
// to be told before it sends (Expect: 100-continue) and was refused on its
// Content-Length alone has sent nothing, and nothing is read.
func (s *Server) refuseBody(w http.ResponseWriter, r *http.Request) {
	rc := http.NewResponseController(w)
	// Go's server otherwise reads (a little of) the body before the
	// answer and gives up on the rest.
	_ = rc.EnableFullDuplex()
	w.Header().Set("Connection", "close")
	writeError(w, http.StatusRequestEntityTooLarge, jsonrpc.Errorf(jsonrpc.CodeInvalidRequest,
		"invalid request: body exceeds the limit of %d bytes", s.limits.MaxBodyBytes))
	if r.Header.Get("Expect") != "" && r.ContentLength > s.limits.MaxBodyBytes {
		return // refused before reading: no 100 Continue went out
	}
	_ = rc.Flush()
	_ = rc.SetReadDeadline(time.Now().Add(bodyDrainTimeout))
	_, _ = io.CopyN(io.Discard, r.Body, 2*s.limits.MaxBodyBytes)
}
