package braid

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/ethereum/go-ethereum/rpc"
)

// defaultFailoverCooldown is how long a failed endpoint is passed over when
// FailoverOptions.Cooldown is not set.
const defaultFailoverCooldown = 5 * time.Second

// failoverIdleConnsPerHost sizes the keep-alive pool of the default HTTP
// client per endpoint. net/http keeps only 2 idle connections per host by
// default, which makes a busy client open and close connections all the time.
const failoverIdleConnsPerHost = 64

// failedBodySnippet is how much of a failed attempt's response body is kept
// for the error message; failedBodyDrain is how much more is read so the
// connection can be reused.
const (
	failedBodySnippet = 256
	failedBodyDrain   = 256 << 10
)

// FailoverOptions tune DialFailover. The zero value is ready to use.
type FailoverOptions struct {
	// HTTPClient carries the requests to the endpoints. Nil means a client
	// with a keep-alive pool per endpoint and no overall Timeout: deadlines
	// come from the context of each call. A client's Timeout, if set, bounds
	// each attempt, not the call as a whole.
	HTTPClient *http.Client

	// Cooldown is how long an endpoint that failed is passed over (zero or
	// negative: 5s). When every endpoint is cooling down they are tried
	// anyway, in order of the least recent failure, so a call never fails
	// just because of bookkeeping.
	Cooldown time.Duration

	// Header is sent with every request, e.g. an auth token for the gateway.
	Header http.Header
}

// DialFailover returns a go-ethereum *rpc.Client whose calls go to one of
// several braid endpoints (http:// or https:// URLs) and move to the next
// when one fails. The endpoints are normally replicas of the same braid
// deployment; each URL keeps its own path and query, so
// "http://braid-a:8545/mainnet" and "https://braid-b.example/mainnet" both
// work. User info in a URL (https://user:pass@host/...) is sent to that
// endpoint as basic auth, unless the request already has an Authorization
// header. DialFailover checks the URLs but does not contact the endpoints.
//
//	c, err := braid.DialFailover(ctx, []string{
//		"http://braid-a:8545/mainnet",
//		"http://braid-b:8545/mainnet",
//	}, braid.FailoverOptions{
//		Header: http.Header{"Authorization": {"Bearer " + token}},
//	})
//	if err != nil {
//		return err
//	}
//	defer c.Close()
//	eth := ethclient.NewClient(c)
//	head, err := eth.BlockNumber(ctx)
//
// Calls stick to the endpoint that answered last, so its caches and sessions
// stay warm; the first endpoint is used until something fails. A call moves
// to the next endpoint when the current one cannot be reached or drops the
// connection (refused, reset, EOF, dial timeout and other transport errors)
// or answers HTTP 502, 503, 504 or 429. A failed endpoint is passed over for
// FailoverOptions.Cooldown. Each endpoint is tried at most once per call;
// when all fail, the error names every endpoint tried and why, with URLs cut
// down to scheme://host because paths and queries often hold API keys.
//
// Everything else is an answer and is returned as is: a JSON-RPC error in a
// 200 response (braid has already failed over between its providers, so the
// error is the chain's answer, e.g. "execution reverted" or "nonce too
// low"), and any other HTTP status such as 400 (the request is wrong and
// would be wrong everywhere). A call whose context is done stops at once,
// without trying further endpoints, and its error wraps the context's error.
//
// Failover resends a request that may already have reached an endpoint that
// then died before answering. That is safe for Ethereum JSON-RPC: reads have
// no side effects, and eth_sendRawTransaction of the same signed transaction
// is idempotent. The transaction is identified by its hash, fixed by its
// signature, and its nonce lets it be included only once; braid treats a
// node's "already known" as acceptance and answers with the hash, so a
// resent transaction gets the same answer as the first send. (Once it is
// mined, nodes answer "nonce too low", as they would to any client that
// sends it twice.) Filters (eth_newFilter and friends) live on one replica
// and do not move between replicas, with or without failover.
//
// WebSocket endpoints (ws://, wss://) are not supported: a subscription
// lives on one connection to one replica and cannot move. For eth_subscribe
// use an ordinary rpc.Dial to one replica, or run braid in-process.
func DialFailover(ctx context.Context, endpoints []string, opts FailoverOptions) (*rpc.Client, error) {
	ft, err := newFailoverTransport(endpoints, opts)
	if err != nil {
		return nil, err
	}
	return dialFailoverTransport(ctx, ft, opts)
}

// dialFailoverTransport builds the rpc.Client on top of ft. It is separate
// from DialFailover so tests can adjust ft (its clock) first.
func dialFailoverTransport(ctx context.Context, ft *failoverTransport, opts FailoverOptions) (*rpc.Client, error) {
	hc := &http.Client{
		Transport: ft,
		// Redirects, if any, are followed (or not) by the client that
		// carries each attempt; a Location is relative to the endpoint
		// that sent it and must not be routed through failover again.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	options := []rpc.ClientOption{rpc.WithHTTPClient(hc)}
	if len(opts.Header) > 0 {
		options = append(options, rpc.WithHeaders(opts.Header.Clone()))
	}
	// The rpc.Client is given a redacted URL: it never reaches the network
	// as is (every request is rewritten to the chosen endpoint), but it
	// shows up in the errors net/http wraps around ours, and the path or
	// user info of the real URL may hold keys.
	c, err := rpc.DialOptions(ctx, ft.endpoints[0].redacted, options...)
	if err != nil {
		return nil, fmt.Errorf("braid: dial failover: %w", err)
	}
	return c, nil
}

// failoverEndpoint is one parsed endpoint.
type failoverEndpoint struct {
	url      *url.URL // without user info
	user     *url.Userinfo
	redacted string // scheme://host, safe to show
}

// failoverTransport is an http.RoundTripper that sends each request to one
// of several endpoints, moving on to the next when one fails.
type failoverTransport struct {
	endpoints []failoverEndpoint
	client    *http.Client  // carries each attempt
	cooldown  time.Duration // how long a failed endpoint is passed over
	now       func() time.Time

	mu        sync.Mutex
	preferred int         // the endpoint that answered last
	failedAt  []time.Time // the last failure of each endpoint; zero when it answered since
}

func newFailoverTransport(endpoints []string, opts FailoverOptions) (*failoverTransport, error) {
	if len(endpoints) == 0 {
		return nil, errors.New("braid: dial failover: no endpoints")
	}
	ft := &failoverTransport{
		endpoints: make([]failoverEndpoint, 0, len(endpoints)),
		client:    opts.HTTPClient,
		cooldown:  opts.Cooldown,
		now:       time.Now,
		failedAt:  make([]time.Time, len(endpoints)),
	}
	for i, raw := range endpoints {
		ep, err := parseFailoverEndpoint(raw)
		if err != nil {
			return nil, fmt.Errorf("braid: dial failover: endpoint %d: %w", i, err)
		}
		ft.endpoints = append(ft.endpoints, ep)
	}
	if ft.cooldown <= 0 {
		ft.cooldown = defaultFailoverCooldown
	}
	if ft.client == nil {
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.MaxIdleConnsPerHost = failoverIdleConnsPerHost
		tr.MaxIdleConns = failoverIdleConnsPerHost * len(endpoints)
		ft.client = &http.Client{Transport: tr}
	}
	return ft, nil
}

// parseFailoverEndpoint checks one endpoint URL. Its errors never quote the
// URL beyond scheme and host.
func parseFailoverEndpoint(raw string) (failoverEndpoint, error) {
	u, err := url.Parse(raw)
	if err != nil {
		// url.Error quotes the whole URL; keep only the reason.
		var uerr *url.Error
		if errors.As(err, &uerr) {
			err = uerr.Err
		}
		return failoverEndpoint{}, fmt.Errorf("not a URL: %w", err)
	}
	switch u.Scheme {
	case "http", "https":
	case "ws", "wss":
		return failoverEndpoint{}, fmt.Errorf("%s://%s: WebSocket endpoints are not supported by failover (use rpc.Dial to one replica for subscriptions)", u.Scheme, u.Host)
	case "":
		return failoverEndpoint{}, errors.New("no scheme: want an http:// or https:// URL")
	default:
		return failoverEndpoint{}, fmt.Errorf("scheme %q: want http or https", u.Scheme)
	}
	if u.Host == "" {
		return failoverEndpoint{}, fmt.Errorf("%s URL without a host", u.Scheme)
	}
	ep := failoverEndpoint{user: u.User, redacted: u.Scheme + "://" + u.Host}
	u.User = nil
	u.Fragment, u.RawFragment = "", ""
	ep.url = u
	return ep, nil
}

// order returns the endpoints to try for one request: those not cooling
// down first, the preferred one ahead of the others in configured order,
// then those cooling down, least recent failure first.
func (ft *failoverTransport) order() []int {
	now := ft.now()
	ft.mu.Lock()
	defer ft.mu.Unlock()
	order := make([]int, 0, len(ft.endpoints))
	var cooling []int
	ready := func(i int) bool {
		t := ft.failedAt[i]
		return t.IsZero() || now.Sub(t) >= ft.cooldown
	}
	if ready(ft.preferred) {
		order = append(order, ft.preferred)
	}
	for i := range ft.endpoints {
		switch {
		case !ready(i):
			cooling = append(cooling, i)
		case i != ft.preferred:
			order = append(order, i)
		}
	}
	slices.SortStableFunc(cooling, func(a, b int) int {
		return ft.failedAt[a].Compare(ft.failedAt[b])
	})
	return append(order, cooling...)
}

func (ft *failoverTransport) succeeded(i int) {
	ft.mu.Lock()
	ft.preferred = i
	ft.failedAt[i] = time.Time{}
	ft.mu.Unlock()
}

func (ft *failoverTransport) failed(i int) {
	now := ft.now()
	ft.mu.Lock()
	ft.failedAt[i] = now
	ft.mu.Unlock()
}

// RoundTrip sends req to the endpoints in turn until one answers.
func (ft *failoverTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	getBody, err := replayableBody(req)
	if err != nil {
		return nil, fmt.Errorf("braid failover: reading request body: %w", err)
	}
	ctx := req.Context()
	var attempts []failoverAttempt
	for _, i := range ft.order() {
		ep := &ft.endpoints[i]
		if ctx.Err() != nil {
			return nil, &failoverError{ctxErr: ctx.Err(), attempts: attempts}
		}
		resp, err := ft.attempt(ctx, req, ep, getBody)
		if err == nil && !failoverStatus(resp.StatusCode) {
			ft.succeeded(i)
			return resp, nil
		}
		if err == nil {
			err = statusError(resp)
		}
		if ctx.Err() != nil {
			// The caller gave up; the endpoint is not to blame.
			attempts = append(attempts, failoverAttempt{ep.redacted, err})
			return nil, &failoverError{ctxErr: ctx.Err(), attempts: attempts}
		}
		ft.failed(i)
		attempts = append(attempts, failoverAttempt{ep.redacted, err})
	}
	return nil, &failoverError{attempts: attempts}
}

// attempt sends one copy of req to ep.
func (ft *failoverTransport) attempt(ctx context.Context, req *http.Request, ep *failoverEndpoint, getBody func() (io.ReadCloser, error)) (*http.Response, error) {
	out := req.Clone(ctx)
	u := *ep.url
	out.URL = &u
	out.Host = "" // from out.URL
	if getBody != nil {
		body, err := getBody()
		if err != nil {
			return nil, err
		}
		out.Body = body
		out.GetBody = getBody
	}
	if ep.user != nil && out.Header.Get("Authorization") == "" {
		pass, _ := ep.user.Password()
		out.SetBasicAuth(ep.user.Username(), pass)
	}
	resp, err := ft.client.Do(out)
	if err != nil {
		// url.Error quotes the full URL, which may hold a key.
		var uerr *url.Error
		if errors.As(err, &uerr) {
			err = uerr.Err
		}
		return nil, err
	}
	return resp, nil
}

// replayableBody closes req.Body and returns a function giving a fresh copy
// of it for each attempt, or nil when there is no body.
func replayableBody(req *http.Request) (func() (io.ReadCloser, error), error) {
	if req.Body == nil || req.Body == http.NoBody {
		return nil, nil
	}
	if req.GetBody != nil {
		// go-ethereum sets GetBody over its in-memory buffer: no copy.
		req.Body.Close()
		return req.GetBody, nil
	}
	b, err := io.ReadAll(req.Body)
	req.Body.Close()
	if err != nil {
		return nil, err
	}
	return func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil }, nil
}

// failoverStatus reports whether an HTTP status means "try another
// endpoint" rather than an answer.
func failoverStatus(code int) bool {
	switch code {
	case http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout, http.StatusTooManyRequests:
		return true
	}
	return false
}

// statusError drains and closes the body of a response that is failed over
// and describes it as an rpc.HTTPError, keeping the start of the body.
func statusError(resp *http.Response) error {
	snippet, _ := io.ReadAll(io.LimitReader(resp.Body, failedBodySnippet))
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, failedBodyDrain))
	resp.Body.Close()
	snippet = bytes.Join(bytes.Fields(snippet), []byte(" "))
	return rpc.HTTPError{Status: resp.Status, StatusCode: resp.StatusCode, Body: snippet}
}

// failoverAttempt is one endpoint tried for a request, and why it failed.
type failoverAttempt struct {
	endpoint string // redacted
	err      error
}

// failoverError is returned when no endpoint answered a request. It unwraps
// to the context's error, if the context ended the request, and to the error
// of each attempt (an rpc.HTTPError for a failed-over status).
type failoverError struct {
	ctxErr   error
	attempts []failoverAttempt
}

func (e *failoverError) Error() string {
	var b strings.Builder
	b.WriteString("braid failover: ")
	if e.ctxErr != nil {
		b.WriteString(e.ctxErr.Error())
		if len(e.attempts) == 0 {
			return b.String()
		}
		b.WriteString("; tried ")
	} else {
		fmt.Fprintf(&b, "all %d endpoints failed: ", len(e.attempts))
	}
	for i, a := range e.attempts {
		if i > 0 {
			b.WriteString("; ")
		}
		fmt.Fprintf(&b, "%s: %v", a.endpoint, a.err)
	}
	return b.String()
}

func (e *failoverError) Unwrap() []error {
	errs := make([]error, 0, 1+len(e.attempts))
	if e.ctxErr != nil {
		errs = append(errs, e.ctxErr)
	}
	for _, a := range e.attempts {
		errs = append(errs, a.err)
	}
	return errs
}

// Timeout reports whether the request ended because its deadline passed,
// for net.Error-style checks through url.Error.
func (e *failoverError) Timeout() bool {
	return errors.Is(e.ctxErr, context.DeadlineExceeded)
}
