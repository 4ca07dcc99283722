package devnet

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/rpc"
)

const (
	// maxBody caps a request body a provider reads.
	maxBody = 5 << 20
	// rpcTimeout bounds the devnet's own bookkeeping calls to the chain.
	rpcTimeout = 10 * time.Second
	// shutdownGrace is how long Close waits for in-flight requests.
	shutdownGrace = 5 * time.Second
)

// Provider is one local JSON-RPC endpoint serving the chain through a
// fault-injecting front, over HTTP and WebSocket on the same listener.
// Name, Operator, URL and WSURL never change.
type Provider struct {
	Name     string // "p1", "p2", …
	Operator string // "operator-1", …: every provider is its own operator
	URL      string // http://127.0.0.1:PORT/
	WSURL    string // ws://127.0.0.1:PORT/: the same endpoint over WebSocket

	d        *Devnet
	srv      *http.Server
	served   chan struct{} // closed when Serve returns
	requests atomic.Uint64

	// ws counts WebSocket handlers running; close waits for it.
	ws sync.WaitGroup

	// mu guards faults and the WebSocket bookkeeping, so a connection is
	// either refused or seen by SetFaults when the provider goes down.
	mu        sync.Mutex
	faults    Faults
	conns     map[*wsConn]struct{}
	wsClosing bool // set by close: no new WebSocket handler starts
}

// ProviderInfo describes a provider and its current faults.
type ProviderInfo struct {
	Name     string `json:"name"`
	Operator string `json:"operator"`
	URL      string `json:"url"`
	WSURL    string `json:"ws_url,omitempty"`
	Faults   Faults `json:"faults"`
}

var _ http.Handler = (*Provider)(nil)

func startProvider(d *Devnet, name, operator string) (*Provider, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("devnet: provider %s: %w", name, err)
	}
	p := &Provider{
		Name:     name,
		Operator: operator,
		URL:      "http://" + ln.Addr().String() + "/",
		WSURL:    "ws://" + ln.Addr().String() + "/",
		d:        d,
		served:   make(chan struct{}),
		conns:    make(map[*wsConn]struct{}),
	}
	p.srv = &http.Server{
		Handler:           p,
		ReadHeaderTimeout: 10 * time.Second,
		// Requests derive from the devnet's context, so Close ends
		// injected latency and in-flight calls at once.
		BaseContext: func(net.Listener) context.Context { return d.ctx },
		ErrorLog:    slog.NewLogLogger(d.log.Handler(), slog.LevelDebug),
	}
	go func() {
		defer close(p.served)
		if err := p.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			d.log.Error("devnet: provider stopped", "provider", name, "err", err)
		}
	}()
	return p, nil
}

// close stops the server, closes every WebSocket connection (Shutdown
// does not see hijacked connections) and waits for all their goroutines.
func (p *Provider) close() error {
	ctx, cancel := context.WithTimeout(context.Background(), shutdownGrace)
	defer cancel()
	err := p.srv.Shutdown(ctx)
	if err != nil {
		err = errors.Join(fmt.Errorf("devnet: provider %s: %w", p.Name, err), p.srv.Close())
	}
	p.mu.Lock()
	p.wsClosing = true
	conns := p.wsConnsLocked()
	p.mu.Unlock()
	for _, c := range conns {
		c.conn.CloseNow()
	}
	p.ws.Wait()
	<-p.served
	return err
}

// SetFaults replaces the provider's faults; the zero Faults is honest.
// Going down drops every open WebSocket connection at once, without a
// close handshake, as a host that dies does.
func (p *Provider) SetFaults(f Faults) {
	p.mu.Lock()
	p.faults = f
	var dead []*wsConn
	if f.Down {
		dead = p.wsConnsLocked()
	}
	p.mu.Unlock()
	for _, c := range dead {
		c.conn.CloseNow()
	}
}

// Faults returns the provider's current faults.
func (p *Provider) Faults() Faults {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.faults
}

// Requests is the number of JSON-RPC calls the provider has answered (or
// failed by injection), over HTTP and WebSocket, batch members and
// notifications included. Requests turned away whole (down, http_status)
// are not counted.
func (p *Provider) Requests() uint64 { return p.requests.Load() }

// Info describes the provider and its current faults.
func (p *Provider) Info() ProviderInfo {
	return ProviderInfo{Name: p.Name, Operator: p.Operator, URL: p.URL, WSURL: p.WSURL, Faults: p.Faults()}
}

// ServeHTTP applies the request-wide faults, then answers the JSON-RPC
// request or batch in the body. A GET asking for a WebSocket upgrade is
// served as JSON-RPC over WebSocket (ws.go).
func (p *Provider) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f := p.Faults()
	if f.Down {
		hangUp(w)
		return
	}
	if isWebSocket(r) {
		p.serveWS(w, r, f)
		return
	}
	if f.LatencyMS > 0 {
		t := time.NewTimer(time.Duration(f.LatencyMS) * time.Millisecond)
		select {
		case <-t.C:
		case <-r.Context().Done():
			t.Stop()
			return
		}
	}
	if f.HTTPStatus != 0 {
		refuse(w, f.HTTPStatus)
		return
	}
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, "JSON-RPC needs POST", http.StatusMethodNotAllowed)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			http.Error(w, "request body too large", http.StatusRequestEntityTooLarge)
			return
		}
		http.Error(w, "reading request body: "+err.Error(), http.StatusBadRequest)
		return
	}
	out := p.serveBody(r.Context(), body, f, p.call)
	if r.Context().Err() != nil {
		return // the client left or the devnet is closing
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(out)))
	w.Write(out)
}

// refuse answers with an injected HTTP status; 429 comes with
// Retry-After: 1.
func refuse(w http.ResponseWriter, status int) {
	if status == http.StatusTooManyRequests {
		w.Header().Set("Retry-After", "1")
	}
	http.Error(w, http.StatusText(status)+" (injected)", status)
}

// hangUp behaves like a dead host: the connection is closed unanswered.
func hangUp(w http.ResponseWriter) {
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		// Not hijackable (HTTP/2): abort the handler, which resets the
		// stream without an answer.
		panic(http.ErrAbortHandler)
	}
	conn.Close()
}

// request is one JSON-RPC call as sent. ID is nil for a notification and
// the raw bytes otherwise, so it is echoed exactly.
type request struct {
	Version string          `json:"jsonrpc"`
	ID      json.RawMessage `json:"id"`
	Method  string          `json:"method"`
	Params  json.RawMessage `json:"params"`
}

// rpcError is a JSON-RPC error object.
type rpcError struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
	Data    any    `json:"data,omitempty"`
}

func (e *rpcError) Error() string { return fmt.Sprintf("%s (code %d)", e.Message, e.Code) }

var (
	errParse        = &rpcError{Code: -32700, Message: "parse error"}
	errInvalid      = &rpcError{Code: -32600, Message: "invalid request"}
	errEmptyBatch   = &rpcError{Code: -32600, Message: "empty batch"}
	errNonArrayArgs = &rpcError{Code: -32602, Message: "non-array args"}
	errNoNotify     = &rpcError{Code: -32601, Message: "notifications not supported"}
	errInjected     = &rpcError{Code: -32603, Message: "internal error (injected)"}
	errNoHeader     = &rpcError{Code: -32000, Message: "header not found"}
	errUnknownBlock = &rpcError{Code: -32000, Message: "unknown block"}
)

var nullJSON = json.RawMessage("null")

// callFunc answers one call under the given faults: Provider.call over
// HTTP, wsConn.call (which adds subscriptions) over WebSocket.
type callFunc func(ctx context.Context, f Faults, req request) (json.RawMessage, *rpcError)

// serveBody answers a single request or a batch, each call through call.
// Notifications are executed but not answered; a body of only
// notifications gets an empty answer.
func (p *Provider) serveBody(ctx context.Context, body []byte, f Faults, call callFunc) []byte {
	body = bytes.TrimSpace(body)
	if !json.Valid(body) {
		return encode(nullJSON, nil, errParse)
	}
	if body[0] != '[' {
		req, ok := decodeRequest(body)
		if !ok {
			return encode(nullJSON, nil, errInvalid)
		}
		result, err := call(ctx, f, req)
		if req.ID == nil {
			return nil
		}
		return encode(req.ID, result, err)
	}
	var elems []json.RawMessage
	if err := json.Unmarshal(body, &elems); err != nil {
		return encode(nullJSON, nil, errParse)
	}
	if len(elems) == 0 {
		return encode(nullJSON, nil, errEmptyBatch)
	}
	var out bytes.Buffer
	for _, elem := range elems {
		req, ok := decodeRequest(elem)
		var answer []byte
		if !ok {
			answer = encode(nullJSON, nil, errInvalid)
		} else {
			result, err := call(ctx, f, req)
			if req.ID == nil {
				continue // a notification
			}
			answer = encode(req.ID, result, err)
		}
		if out.Len() == 0 {
			out.WriteByte('[')
		} else {
			out.WriteByte(',')
		}
		out.Write(answer)
	}
	if out.Len() == 0 {
		return nil
	}
	out.WriteByte(']')
	return out.Bytes()
}

func decodeRequest(raw []byte) (request, bool) {
	var req request
	if len(raw) == 0 || raw[0] != '{' || json.Unmarshal(raw, &req) != nil {
		return request{}, false
	}
	if req.Version != "2.0" || req.Method == "" {
		return request{}, false
	}
	if len(req.ID) > 0 && (req.ID[0] == '{' || req.ID[0] == '[') {
		return request{}, false
	}
	return req, true
}

// encode writes one response with id echoed byte for byte and result as
// the chain encoded it.
func encode(id, result json.RawMessage, e *rpcError) []byte {
	var b bytes.Buffer
	b.WriteString(`{"jsonrpc":"2.0","id":`)
	b.Write(id)
	if e != nil {
		enc, err := json.Marshal(e)
		if err != nil { // data that cannot be encoded: drop it
			enc, _ = json.Marshal(&rpcError{Code: e.Code, Message: e.Message})
		}
		b.WriteString(`,"error":`)
		b.Write(enc)
	} else {
		b.WriteString(`,"result":`)
		b.Write(result)
	}
	b.WriteByte('}')
	return b.Bytes()
}

// call answers one JSON-RPC call: injected errors, then lag (which may
// rewrite the call or answer it), then the chain, then lies.
func (p *Provider) call(ctx context.Context, f Faults, req request) (json.RawMessage, *rpcError) {
	p.requests.Add(1)
	if f.fail() {
		return nil, errInjected
	}
	args, err := splitParams(req.Params)
	if err != nil {
		return nil, err
	}
	if err := p.allowed(req.Method); err != nil {
		return nil, err
	}
	if f.PoolBlind {
		args = withoutPending(args)
	}
	var lag *lagView
	if f.LagBlocks > 0 {
		if lag, err = p.d.newLagView(ctx, f.LagBlocks); err != nil {
			return nil, err
		}
		var result json.RawMessage
		var done bool
		if args, result, done, err = lag.rewrite(ctx, req.Method, args); done || err != nil {
			return p.maybeLie(f, req.Method, result, err)
		}
	}
	prune, err := p.d.newPruneView(ctx, f, func(ctx context.Context) (uint64, *rpcError) {
		if lag != nil {
			return lag.view, nil
		}
		return p.d.headNumber(ctx)
	})
	if err != nil {
		return nil, err
	}
	if prune != nil {
		var result json.RawMessage
		var done bool
		if args, result, done, err = prune.rewrite(ctx, req.Method, args); done || err != nil {
			return p.maybeLie(f, req.Method, result, err)
		}
	}
	result, err := p.d.forward(ctx, req.Method, args)
	if err == nil && lag != nil {
		result = lag.filter(req.Method, result)
	}
	if err == nil && prune != nil {
		result = prune.filter(ctx, req.Method, args, result)
	}
	return p.maybeLie(f, req.Method, result, err)
}

func (p *Provider) maybeLie(f Faults, method string, result json.RawMessage, err *rpcError) (json.RawMessage, *rpcError) {
	if err != nil || !f.Lie || (f.LieMethod != "" && f.LieMethod != method) {
		return result, err
	}
	if f.LieBelow > 0 {
		var b struct {
			Number *hexutil.Uint64 `json:"number"`
		}
		if json.Unmarshal(result, &b) != nil || b.Number == nil || uint64(*b.Number) >= f.LieBelow {
			return result, nil
		}
	}
	return lie(method, result, f.LieVariant, f.LieKind), nil
}

// allowed turns away methods a public HTTP endpoint of geth would not
// serve: subscriptions need a connection that can carry notifications (the
// WebSocket front answers them before they get here), and the admin,
// engine, miner and personal namespaces are never public.
func (p *Provider) allowed(method string) *rpcError {
	switch method {
	case "eth_subscribe", "eth_unsubscribe":
		return errNoNotify
	}
	ns, _, _ := strings.Cut(method, "_")
	switch ns {
	case "admin", "engine", "miner", "personal":
		return &rpcError{Code: -32601, Message: fmt.Sprintf("the method %s does not exist/is not available", method)}
	}
	return nil
}

// splitParams returns the positional parameters; absent or null params
// are none.
// withoutPending is args with every "pending" block tag read as
// "latest" (a copy when one is replaced).
func withoutPending(args []json.RawMessage) []json.RawMessage {
	out, copied := args, false
	for i, a := range args {
		if string(bytes.TrimSpace(a)) == `"pending"` {
			if !copied {
				out, copied = append([]json.RawMessage(nil), args...), true
			}
			out[i] = json.RawMessage(`"latest"`)
		}
	}
	return out
}

func splitParams(params json.RawMessage) ([]json.RawMessage, *rpcError) {
	params = bytes.TrimSpace(params)
	if len(params) == 0 || bytes.Equal(params, nullJSON) {
		return nil, nil
	}
	if params[0] != '[' {
		return nil, errNonArrayArgs
	}
	var args []json.RawMessage
	if err := json.Unmarshal(params, &args); err != nil {
		return nil, errNonArrayArgs
	}
	return args, nil
}

// forward sends one call to the chain and returns its answer as encoded
// by geth, or its error with code, message and data kept.
func (d *Devnet) forward(ctx context.Context, method string, args []json.RawMessage) (json.RawMessage, *rpcError) {
	in := make([]any, len(args))
	for i, a := range args {
		in[i] = a
	}
	var result json.RawMessage
	if err := d.rpc.CallContext(ctx, &result, method, in...); err != nil {
		return nil, toRPCError(err)
	}
	if len(result) == 0 {
		result = nullJSON
	}
	return result, nil
}

// toRPCError keeps a geth error's code, message and data.
func toRPCError(err error) *rpcError {
	var re rpc.Error
	if !errors.As(err, &re) {
		return &rpcError{Code: -32603, Message: err.Error()}
	}
	e := &rpcError{Code: re.ErrorCode(), Message: re.Error()}
	var de rpc.DataError
	if errors.As(err, &de) {
		e.Data = de.ErrorData()
	}
	return e
}
