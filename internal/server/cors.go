package server

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/braidrpc/braid/internal/config"
	"github.com/braidrpc/braid/internal/jsonrpc"
)

// exposedHeaders are braid's own response headers, which a page of another
// origin may read (Retry-After: when a limit refused it).
const exposedHeaders = "Braid-Cache, Braid-Quorum, Retry-After, Braid-Proof, Braid-Source"

// cors answers browsers' cross-origin checks for the origins configured
// (config.CORS). Requests of other origins get no CORS header, so the
// browser keeps their pages from reading the answers.
type cors struct {
	any      bool            // "*": every origin
	exact    map[string]bool // lowercased origins
	patterns [][2]string     // prefix and suffix around a "*"
	maxAge   string          // seconds
}

// newCORS returns nil when no origin is configured: CORS is off.
func newCORS(c config.CORS) *cors {
	if len(c.Origins) == 0 {
		return nil
	}
	out := &cors{exact: make(map[string]bool), maxAge: strconv.Itoa(int(c.MaxAge.Seconds()))}
	for _, o := range c.Origins {
		o = strings.ToLower(strings.TrimSpace(o))
		switch prefix, suffix, wild := strings.Cut(o, "*"); {
		case o == "*":
			out.any = true
		case wild:
			out.patterns = append(out.patterns, [2]string{prefix, suffix})
		default:
			out.exact[o] = true
		}
	}
	return out
}

func (c *cors) allows(origin string) bool {
	origin = strings.ToLower(origin)
	if c.any || c.exact[origin] {
		return true
	}
	for _, p := range c.patterns {
		if len(origin) > len(p[0])+len(p[1]) && strings.HasPrefix(origin, p[0]) && strings.HasSuffix(origin, p[1]) {
			return true
		}
	}
	return false
}

// handle adds the CORS headers r's origin earns and answers a preflight
// itself: true when r is answered.
func (c *cors) handle(w http.ResponseWriter, r *http.Request) bool {
	origin := r.Header.Get("Origin")
	if origin == "" {
		return false
	}
	h := w.Header()
	h.Add("Vary", "Origin")
	preflight := r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != ""
	if !c.allows(origin) {
		if preflight {
			writeError(w, http.StatusForbidden, jsonrpc.Errorf(jsonrpc.CodeInvalidRequest,
				"origin %q is not allowed by this endpoint's cors.origins", origin))
		}
		return preflight
	}
	if c.any {
		h.Set("Access-Control-Allow-Origin", "*")
	} else {
		h.Set("Access-Control-Allow-Origin", origin)
	}
	if !preflight {
		h.Set("Access-Control-Expose-Headers", exposedHeaders)
		return false
	}
	h.Add("Vary", "Access-Control-Request-Method")
	h.Add("Vary", "Access-Control-Request-Headers")
	h.Set("Access-Control-Allow-Methods", "GET, POST, OPTIONS")
	if want := headerTokens(r.Header.Get("Access-Control-Request-Headers")); want != "" {
		h.Set("Access-Control-Allow-Headers", want)
	}
	if r.Header.Get("Access-Control-Request-Private-Network") == "true" {
		// Chrome asks before a public page calls braid on a private
		// address (e.g. 127.0.0.1): the origin is allowed, so yes.
		h.Set("Access-Control-Allow-Private-Network", "true")
	}
	h.Set("Access-Control-Max-Age", c.maxAge)
	w.WriteHeader(http.StatusNoContent)
	return true
}

// headerTokens returns the header names of a comma-separated list that are
// valid tokens, joined again: the headers a preflight asks to send.
func headerTokens(list string) string {
	var out []string
	for name := range strings.SplitSeq(list, ",") {
		name = strings.TrimSpace(name)
		if name != "" && len(name) <= 64 && strings.Trim(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_") == "" {
			out = append(out, name)
		}
		if len(out) == 32 {
			break
		}
	}
	return strings.Join(out, ", ")
}
