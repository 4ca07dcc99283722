package server

import (
	"bytes"
	"crypto/sha256"
	_ "embed"
	"encoding/base64"
	"encoding/json"
	"html/template"
	"net/http"
	"strconv"
	"strings"

	"github.com/braidrpc/braid/internal/gateway"
	"github.com/braidrpc/braid/internal/jsonrpc"
)

// The status page: GET / from a browser (a request that accepts
// text/html) is an HTML page of every network's tip, operators, upstreams,
// coefficients, disputes, lies, cache and peers; JSON-RPC stays on POST /
// and WebSocket upgrades on GET /. It is rendered on the server from the
// same documents its script then fetches every few seconds, and uses
// nothing from outside braid: no build step, no fonts, no CDN.

var (
	//go:embed page/page.html
	pageHTML string
	//go:embed page/page.css
	pageCSS string
	//go:embed page/page.js
	pageJS string

	pageTemplate = template.Must(template.New("page").Parse(pageHTML))

	// pagePolicy allows the page's own inline style and script (by hash)
	// and requests to braid itself, nothing else.
	pagePolicy = "default-src 'none'; style-src '" + cspHash(pageCSS) + "'; script-src '" + cspHash(pageJS) +
		"'; connect-src 'self'; img-src data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)

// pageRefresh is how often the page refreshes by default, in seconds;
// ?refresh=N (0 to pageMaxRefresh) changes it, 0 turning it off.
const (
	pageRefresh    = 5
	pageMaxRefresh = 3600
)

func cspHash(s string) string {
	sum := sha256.Sum256([]byte(s))
	return "sha256-" + base64.StdEncoding.EncodeToString(sum[:])
}

// pageData is what page.html renders.
type pageData struct {
	Style   template.CSS
	Script  template.JS
	Refresh int
	View    pageView
	Data    pageDocs // the documents View was built from, for the script
}

// wantsPage reports whether r comes from a browser asking for a page.
func wantsPage(r *http.Request) bool {
	for _, v := range r.Header.Values("Accept") {
		if strings.Contains(strings.ToLower(v), "text/html") {
			return true
		}
	}
	return false
}

// servePageOr serves the status page to a browser and hands any other
// request to next (the JSON-RPC 405).
func (s *Server) servePageOr(w http.ResponseWriter, r *http.Request, next http.HandlerFunc) {
	if !wantsPage(r) {
		next(w, r)
		return
	}
	refresh := pageRefresh
	if q := r.URL.Query().Get("refresh"); q != "" {
		v, err := strconv.Atoi(q)
		if err != nil || v < 0 || v > pageMaxRefresh {
			writeError(w, http.StatusBadRequest, jsonrpc.Errorf(jsonrpc.CodeInvalidRequest,
				"refresh must be a number of seconds from 0 to %d", pageMaxRefresh))
			return
		}
		refresh = v
	}
	body, err := s.renderPage(refresh)
	if err != nil {
		writeError(w, http.StatusInternalServerError, jsonrpc.Errorf(jsonrpc.CodeInternal, "status page: %v", err))
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	h.Set("Content-Security-Policy", pagePolicy)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(body)
}

// redirectToPage sends a browser asking for GET /{network} to that
// network's section of the page (relative, so that it works under a
// prefix too); other requests go to next.
func (s *Server) redirectToPage(w http.ResponseWriter, r *http.Request, next http.HandlerFunc) {
	if !wantsPage(r) {
		next(w, r)
		return
	}
	if n := s.network(w, r); n != nil {
		w.Header().Set("Location", "./#net-"+n.Name)
		w.WriteHeader(http.StatusSeeOther)
	}
}

// pageDocuments gathers what /status, /status/centralization and
// /status/disputes answer now.
func (s *Server) pageDocuments() (pageDocs, error) {
	var d pageDocs
	var err error
	if d.Status, err = json.Marshal(s.gw.Status()); err != nil {
		return d, err
	}
	if d.Centralization, err = json.Marshal(s.gw.Centralization()); err != nil {
		return d, err
	}
	d.Disputes, err = json.Marshal(struct {
		Disputes []gateway.Dispute `json:"disputes"`
	}{s.gw.Disputes()})
	return d, err
}

func (s *Server) renderPage(refresh int) ([]byte, error) {
	docs, err := s.pageDocuments()
	if err != nil {
		return nil, err
	}
	return renderDocs(docs, refresh)
}

// renderDocs renders the page for docs.
func renderDocs(docs pageDocs, refresh int) ([]byte, error) {
	v, err := buildView(docs)
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	err = pageTemplate.Execute(&b, pageData{Style: template.CSS(pageCSS), Script: template.JS(pageJS),
		Refresh: refresh, View: v, Data: docs})
	return b.Bytes(), err
}
