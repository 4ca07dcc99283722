package server

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/braidrpc/braid/internal/access"
	"github.com/braidrpc/braid/internal/config"
	"github.com/braidrpc/braid/internal/gateway"
	"github.com/braidrpc/braid/internal/jsonrpc"
	"github.com/braidrpc/braid/internal/strict"
)

const (
	// batchConcurrency bounds how many members of one batch run at once,
	// so one large batch cannot occupy every upstream connection.
	batchConcurrency = 32
	// bodyReadTimeout bounds how long a request body may take to arrive.
	bodyReadTimeout = 30 * time.Second
	// initialBodyBuffer caps the first allocation for a body of announced
	// length; larger bodies grow as their bytes arrive.
	initialBodyBuffer = 64 << 10
)

// Options configure a Server.
type Options struct {
	Limits config.Limits
	// WebSocket bounds the WebSocket endpoint: a whole section as config
	// loads it (defaults applied, validated); nil takes config.Default()'s.
	// The server fills in nothing itself: defaults live in config.
	WebSocket *config.WebSocket
	Logger    *slog.Logger
	Gatherer  prometheus.Gatherer   // for /metrics; nil serves no metrics
	Registry  prometheus.Registerer // for the braid_ws_* collectors; nil records none
	// TrustedProxies are config.Config.TrustedProxies: proxies whose
	// X-Forwarded-For names the client the per-client caps count.
	TrustedProxies []string
	// CORS lets pages of the origins it lists call braid (off when it
	// lists none).
	CORS config.CORS
	// Access checks API keys and limits callers (nil: anyone may call,
	// uncounted). It is the caller's to Start and Close.
	Access *access.Control
}

// subscribeFunc starts a subscription on n: Network.Subscribe, or a fake
// feed in tests.
type subscribeFunc func(n *gateway.Network, params json.RawMessage, deliver func(result json.RawMessage)) (unsubscribe func(), err error)

// Server is the HTTP and WebSocket front of a Gateway.
type Server struct {
	gw     *gateway.Gateway
	limits config.Limits
	log    *slog.Logger
	mux    *http.ServeMux

	ws        config.WebSocket
	wsm       *wsMetrics
	wsConns   wsRegistry
	clients   clients
	cors      *cors           // nil: off
	access    *access.Control // nil: off
	subscribe subscribeFunc
	onWSClose func(reason string) // tests: called when a connection is over
}

var _ http.Handler = (*Server)(nil)

// New returns the HTTP front for gw.
func New(gw *gateway.Gateway, opts Options) *Server {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	ws := config.Default().WebSocket
	if opts.WebSocket != nil {
		ws = *opts.WebSocket
	}
	s := &Server{
		gw: gw, limits: opts.Limits, log: opts.Logger, mux: http.NewServeMux(),
		ws:  ws,
		wsm: newWSMetrics(opts.Registry),
		subscribe: func(n *gateway.Network, params json.RawMessage, deliver func(json.RawMessage)) (func(), error) {
			return n.Subscribe(params, deliver)
		},
	}
	s.wsConns.init(ws)
	s.clients.trusted = trustedProxies(opts.TrustedProxies, opts.Logger)
	s.cors = newCORS(opts.CORS)
	if s.access = opts.Access; s.access != nil {
		s.access.OnKeysChange(s.closeRevoked)
	}
	s.mux.HandleFunc("POST /{$}", s.serveDefault)
	s.mux.HandleFunc("POST /{network}", s.serveNetwork)
	// A GET on the same paths is a WebSocket upgrade (or, without one, the
	// fallback's 405). The status paths below are more specific.
	s.mux.HandleFunc("GET /{$}", s.serveWSDefault)
	s.mux.HandleFunc("GET /{network}", s.serveWSNetwork)
	s.mux.HandleFunc("GET /healthz", s.serveHealth)
	s.mux.HandleFunc("GET /readyz", s.serveReady)
	s.mux.HandleFunc("GET /status", s.serveStatus)
	s.mux.HandleFunc("GET /status/disputes", s.serveDisputes)
	s.mux.HandleFunc("GET /status/centralization", s.serveCentralization)
	s.mux.HandleFunc("GET /status/peers", s.serveStatusPeers)
	if opts.Gatherer != nil {
		s.mux.Handle("GET /metrics", promhttp.HandlerFor(opts.Gatherer, promhttp.HandlerOpts{}))
	}
	s.mux.HandleFunc("/", s.serveFallback)
	return s
}

// Handle mounts an extra handler (the demo's /demo/ endpoints) on the same
// listener.
func (s *Server) Handle(pattern string, h http.Handler) { s.mux.Handle(pattern, h) }

func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if s.cors != nil && s.cors.handle(w, r) {
		return // a preflight, answered
	}
	s.mux.ServeHTTP(w, r)
}

func (s *Server) serveDefault(w http.ResponseWriter, r *http.Request) {
	s.serveRPC(w, r, s.gw.Networks()[0], "")
}

// serveNetwork serves /{network}, and, with API keys on, /{key} for the
// first network (a key's prefix is one no network name has).
func (s *Server) serveNetwork(w http.ResponseWriter, r *http.Request) {
	if key := r.PathValue("network"); s.access != nil && access.LooksLikeKey(key) {
		s.serveRPC(w, r, s.gw.Networks()[0], key)
		return
	}
	if n := s.network(w, r); n != nil {
		s.serveRPC(w, r, n, "")
	}
}

// network returns the network the path names, or answers 404 and returns
// nil.
func (s *Server) network(w http.ResponseWriter, r *http.Request) *gateway.Network {
	return s.networkNamed(w, r.PathValue("network"))
}

// networkNamed returns the network called name, or answers 404 (never
// showing a name that could be an API key) and returns nil.
func (s *Server) networkNamed(w http.ResponseWriter, name string) *gateway.Network {
	n := s.gw.Network(name)
	if n == nil {
		writeError(w, http.StatusNotFound, jsonrpc.Errorf(jsonrpc.CodeMethodNotFound,
			"unknown network %q: this endpoint serves %s", redactPath(name), s.networkNames()))
	}
	return n
}

func (s *Server) networkNames() string {
	out := ""
	for i, n := range s.gw.Networks() {
		if i > 0 {
			out += ", "
		}
		out += "/" + n.Name
	}
	return out
}

func (s *Server) serveFallback(w http.ResponseWriter, r *http.Request) {
	if network, key, ok := twoSegments(r.URL.Path); ok && s.access != nil && (r.Method == http.MethodPost || isWebSocketUpgrade(r)) {
		// /{network}/{key}: not a mux pattern, which would clash with
		// mounted prefixes such as the demo's /demo/.
		if n := s.networkNamed(w, network); n != nil {
			if r.Method == http.MethodPost {
				s.serveRPC(w, r, n, key)
			} else {
				s.serveWebSocket(w, r, n, key)
			}
		}
		return
	}
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		writeError(w, http.StatusMethodNotAllowed, jsonrpc.Errorf(jsonrpc.CodeInvalidRequest,
			"JSON-RPC requests are sent with POST"))
		return
	}
	writeError(w, http.StatusNotFound, jsonrpc.Errorf(jsonrpc.CodeMethodNotFound,
		"no such path %q: this endpoint serves %s", redactPath(r.URL.Path), s.networkNames()))
}

func (s *Server) serveRPC(w http.ResponseWriter, r *http.Request, n *gateway.Network, pathKey string) {
	caller, ok := s.identify(w, r, n, pathKey)
	if !ok {
		return
	}
	buf := bodyPool.Get().(*bytes.Buffer)
	defer putBody(buf) // the message's params point into it
	msg, ok := s.readMessage(w, r, buf)
	if !ok {
		return
	}
	var rep report
	call := func(ctx context.Context, req *jsonrpc.Request) *jsonrpc.Response {
		return rep.note(n.Execute(ctx, req))
	}
	ctx := r.Context()
	if ref := s.checkMessage(ctx, caller, msg); ref != nil {
		refuse(w, ref, msg)
		return
	}
	var refused *jsonrpc.Error
	handle := s.guard(caller, n.Name, call, func(e *jsonrpc.Error) { refused = e })
	if !msg.Batch {
		m := msg.Members[0]
		resp := m.Err
		if m.Req != nil {
			resp = handle(ctx, m.Req)
		}
		if refused != nil { // over auth.max_queue
			refuse(w, &access.Refusal{Status: http.StatusTooManyRequests, Err: refused, RetryAfter: time.Second}, msg)
			return
		}
		if resp == nil { // a notification
			w.WriteHeader(http.StatusNoContent)
			return
		}
		rep.headers(w, resp)
		writeAnswer(w, resp)
		return
	}
	answers := s.runBatch(ctx, msg.Members, s.guard(caller, n.Name, call, nil))
	rep.headers(w, answers...)
	if len(answers) == 0 { // only notifications: nothing is returned
		w.WriteHeader(http.StatusNoContent)
		return
	}
	writeBatch(w, answers)
}

// readMessage reads r's body into buf and decodes it, each call marked
// with the client's address. When it cannot, it answers (413, 400, or a
// JSON-RPC error for a body that is no message) and returns false.
func (s *Server) readMessage(w http.ResponseWriter, r *http.Request, buf *bytes.Buffer) (*jsonrpc.Message, bool) {
	body, err := readBody(w, r, s.limits.MaxBodyBytes, buf)
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			s.refuseBody(w, r)
			return nil, false
		}
		writeError(w, http.StatusBadRequest, jsonrpc.Errorf(jsonrpc.CodeParseError, "cannot read request body"))
		return nil, false
	}
	msg, bad := jsonrpc.Decode(body, s.limits.MaxBatch)
	if bad != nil {
		writeJSON(w, http.StatusOK, bad.AppendJSON(nil))
		return nil, false
	}
	client := s.clients.of(r)
	for _, m := range msg.Members {
		if m.Req != nil {
			m.Req.Client = client
		}
	}
	return msg, true
}

// report gathers what the answers of one request (a batch's members)
// say beyond JSON-RPC, for its response headers.
type report struct {
	mu            sync.Mutex
	cached        map[*jsonrpc.Response]bool // answers braid's cache gave
	agreed, quota int                        // the weakest quorum shortfall (quota 0: none)
	proof         string                     // the weakest proof ("": all proven)
	reasons       []string
}

// note records one call's result and returns its response.
func (r *report) note(res gateway.Result) *jsonrpc.Response {
	if !res.Cached && res.K == 0 && res.Proof == "" {
		return res.Response
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if res.Cached && res.Response != nil {
		if r.cached == nil {
			r.cached = make(map[*jsonrpc.Response]bool)
		}
		r.cached[res.Response] = true
	}
	// A batch reports its weakest member, and every reason once.
	if res.K > 0 && (r.quota == 0 || res.Agreed*r.quota < r.agreed*res.K) {
		r.agreed, r.quota = res.Agreed, res.K
	}
	if res.Proof != "" {
		if r.proof != strict.ProofNone {
			r.proof = res.Proof
		}
		for _, why := range res.Reasons {
			if !slices.Contains(r.reasons, why) {
				r.reasons = append(r.reasons, why)
			}
		}
	}
	return res.Response
}

// headers sets Braid-Quorum, "agreed/k" (e.g. "1/2"), when an answer was
// backed by fewer operators than the quorum asks for, and Braid-Cache:
// "hit" when braid's cache gave every answer, "miss" otherwise.
func (r *report) headers(w http.ResponseWriter, answers ...*jsonrpc.Response) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.quota > 0 {
		w.Header().Set("Braid-Quorum", strconv.Itoa(r.agreed)+"/"+strconv.Itoa(r.quota))
	}
	if r.proof != "" {
		// In strict mode an answer not fully proven says how much is.
		w.Header().Set("Braid-Proof", r.proof+"; reason="+strconv.Quote(strings.Join(r.reasons, "; ")))
	}
	sourceHeader(w, answers...)
	v := "hit"
	for _, a := range answers {
		if !r.cached[a] {
			v = "miss"
			break
		}
	}
	if len(answers) == 0 {
		v = "miss"
	}
	w.Header()["Braid-Cache"] = cacheValues[v]
}

// Header values every answer carries, shared: net/http only reads them,
// and setting one costs no allocation. (An Add to one appends to a full
// slice, which copies it.)
var (
	cacheValues     = map[string][]string{"hit": {"hit"}, "miss": {"miss"}}
	sourceValues    = map[string][]string{"": {"provider"}, "provider": {"provider"}, "store": {"store"}, "peer": {"peer"}}
	jsonContentType = []string{"application/json"}
)

// sourceHeader says where the answers came from: "Braid-Source: store" or
// "peer" for history braid answered itself (every provider had pruned it),
// "provider" otherwise; a batch lists each source its answers came from
// ("provider, store").
func sourceHeader(w http.ResponseWriter, answers ...*jsonrpc.Response) {
	var seen [3]bool
	for _, a := range answers {
		switch a.Source {
		case "store":
			seen[1] = true
		case "peer":
			seen[2] = true
		default:
			seen[0] = true
		}
	}
	var parts []string
	for i, name := range []string{"provider", "store", "peer"} {
		if seen[i] {
			parts = append(parts, name)
		}
	}
	if len(parts) <= 1 {
		// The common case costs no allocation (see cacheValues).
		w.Header()["Braid-Source"] = sourceValues[strings.Join(parts, "")]
		return
	}
	w.Header().Set("Braid-Source", strings.Join(parts, ", "))
}

// readBody reads the whole body (braid never streams a client body to an
// upstream) within limit into buf, a pooled buffer: jsonrpc.Decode copies
// what it keeps, so the buffer serves the next request. Memory follows
// the bytes that arrive, not the length a client announces: the first
// growth is capped.
func readBody(w http.ResponseWriter, r *http.Request, limit int64, buf *bytes.Buffer) ([]byte, error) {
	if r.ContentLength > limit {
		return nil, &http.MaxBytesError{Limit: limit}
	}
	// A client that announces a body and then stalls must not hold a
	// connection (and its buffer) for ever.
	_ = http.NewResponseController(w).SetReadDeadline(time.Now().Add(bodyReadTimeout))
	buf.Reset()
	if r.ContentLength > 0 {
		buf.Grow(int(min(r.ContentLength, initialBodyBuffer)))
	}
	if _, err := buf.ReadFrom(http.MaxBytesReader(w, r.Body, limit)); err != nil {
		return nil, err
	}
	if r.ContentLength > 0 && int64(buf.Len()) != r.ContentLength {
		return nil, io.ErrUnexpectedEOF
	}
	return buf.Bytes(), nil
}

// bodyPool holds request body buffers; one grown past maxPooledBody by a
// large batch is left to the collector.
var bodyPool = sync.Pool{New: func() any { return new(bytes.Buffer) }}

const maxPooledBody = 64 << 10

func putBody(buf *bytes.Buffer) {
	if buf.Cap() <= maxPooledBody {
		buf.Reset()
		bodyPool.Put(buf)
	}
}

// serveHealth is the liveness view: 200 whenever the process can answer
// HTTP, since restarting braid brings no provider back. The body still
// says, per network, how many upstreams are usable and why none is; its
// status is "degraded" while some network has none. /readyz is the gate
// for traffic.
func (s *Server) serveHealth(w http.ResponseWriter, _ *http.Request) {
	ok, report := s.gw.Health()
	word := "ok"
	if !ok {
		word = "degraded"
	}
	b, _ := json.Marshal(struct {
		Status   string                           `json:"status"`
		Networks map[string]gateway.NetworkHealth `json:"networks"`
	}{word, report})
	writeJSON(w, http.StatusOK, b)
}

// serveReady answers load balancers and readiness probes: 200 only when
// every network has a usable upstream and a served tip that is not
// stalled; 503 with each network's problem otherwise. /healthz stays the
// liveness view. (Where a network's tip comes from a light client, its
// readiness is gateway.Ready's to decide: this handler only reports it.)
func (s *Server) serveReady(w http.ResponseWriter, _ *http.Request) {
	ok, report := s.gw.Ready()
	status, word := http.StatusOK, "ready"
	if !ok {
		status, word = http.StatusServiceUnavailable, "not ready"
	}
	b, _ := json.Marshal(struct {
		Status   string                              `json:"status"`
		Networks map[string]gateway.NetworkReadiness `json:"networks"`
	}{word, report})
	writeJSON(w, status, b)
}

func (s *Server) serveStatus(w http.ResponseWriter, _ *http.Request) {
	b, err := json.MarshalIndent(s.gw.Status(), "", "  ")
	if err != nil {
		writeError(w, http.StatusInternalServerError, jsonrpc.Errorf(jsonrpc.CodeInternal, "status: %v", err))
		return
	}
	writeJSON(w, http.StatusOK, b)
}

// serveDisputes lists recent quorum disputes, newest first; ?network=
// narrows it to one network.
func (s *Server) serveDisputes(w http.ResponseWriter, r *http.Request) {
	list := s.gw.Disputes()
	if name := r.URL.Query().Get("network"); name != "" {
		if s.gw.Network(name) == nil {
			writeError(w, http.StatusNotFound, jsonrpc.Errorf(jsonrpc.CodeInvalidParams, "no network %q: this endpoint serves %s", name, s.networkNames()))
			return
		}
		kept := list[:0]
		for _, d := range list {
			if d.Network == name {
				kept = append(kept, d)
			}
		}
		list = kept
	}
	b, err := json.MarshalIndent(struct {
		Disputes []gateway.Dispute `json:"disputes"`
	}{list}, "", "  ")
	if err != nil {
		writeError(w, http.StatusInternalServerError, jsonrpc.Errorf(jsonrpc.CodeInternal, "disputes: %v", err))
		return
	}
	writeJSON(w, http.StatusOK, b)
}

// serveCentralization shows how centralized each network's access still
// is: the same report as `braid check --json`, with live shares. ?format=text
// gives the terminal form.
func (s *Server) serveCentralization(w http.ResponseWriter, r *http.Request) {
	rep := s.gw.Centralization()
	if r.URL.Query().Get("format") == "text" {
		var b bytes.Buffer
		_ = rep.WriteText(&b)
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = w.Write(b.Bytes())
		return
	}
	b, err := json.MarshalIndent(rep, "", "  ")
	if err != nil {
		writeError(w, http.StatusInternalServerError, jsonrpc.Errorf(jsonrpc.CodeInternal, "centralization: %v", err))
		return
	}
	writeJSON(w, http.StatusOK, b)
}

func writeError(w http.ResponseWriter, status int, e *jsonrpc.Error) {
	writeJSON(w, status, jsonrpc.ErrorResponse(nil, e).AppendJSON(nil))
}

func writeJSON(w http.ResponseWriter, status int, b []byte) {
	h := w.Header()
	h["Content-Type"] = jsonContentType
	h.Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(status)
	_, _ = w.Write(b)
}
