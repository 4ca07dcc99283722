package beacon

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"sync"
	"time"

	"github.com/ethereum/go-ethereum/beacon/light/request"
	lsync "github.com/ethereum/go-ethereum/beacon/light/sync"
	"github.com/ethereum/go-ethereum/common"

	"github.com/braidrpc/braid/internal/clock"
)

// maxBody bounds one beacon API answer (8 committee updates with their
// committees are ~450 KB).
const maxBody = 4 << 20

// Quarantine of an endpoint that served a forged signature or a bad proof:
// it is unregistered for quarantineBase, doubling per repeat up to
// quarantineMax.
const (
	quarantineBase = time.Minute
	quarantineMax  = time.Hour
)

// endpoint is one beacon API: go-ethereum's request server interface
// (Name, Subscribe, SendRequest, Unsubscribe) over braid's own HTTP client,
// which sends only this endpoint's headers, bounds every answer and keeps
// secrets out of errors.
type endpoint struct {
	name    string
	base    *url.URL
	headers http.Header
	red     redactor
	client  *http.Client
	spec    *spec
	clock   clock.Clock
	log     *slog.Logger
	timeout time.Duration
	idle    time.Duration // no event for this long: reconnect the stream
	push    func(*endpoint, any)

	mu          sync.Mutex
	cb          func(request.Event)
	ctx         context.Context
	cancel      context.CancelFunc
	wg          sync.WaitGroup
	srv         request.Server // the registered wrapper; nil while dropped
	unregister  func()
	up          bool
	lastErr     string
	lastErrAt   time.Time
	lastEventAt time.Time
	lastRead    time.Time
	until       time.Time // quarantined until
	reason      string    // why quarantined
	strikes     int
}

func newEndpoint(e Endpoint, name string, s *spec, cfg *Config, log *slog.Logger, push func(*endpoint, any)) *endpoint {
	u, _ := parseEndpointURL(e.URL) // validated
	return &endpoint{
		name:    name,
		base:    u,
		headers: headerOf(e.Headers),
		red:     newRedactor(u, e.Headers),
		client: &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse // a redirect would carry this endpoint's headers elsewhere
		}},
		spec:    s,
		clock:   cfg.Clock,
		log:     log.With("beacon_api", name),
		timeout: cfg.RequestTimeout,
		idle:    cfg.MaxHeadAge,
		push:    push,
	}
}

// Name implements request.Server; it is the label, never the URL.
func (e *endpoint) Name() string { return e.name }

// Subscribe implements go-ethereum's request server: it starts the event
// stream, whose updates go to the gate (not through the scheduler's
// per-server event budget).
func (e *endpoint) Subscribe(cb func(request.Event)) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.cb = cb
	e.ctx, e.cancel = context.WithCancel(context.Background())
	e.wg.Add(1)
	go func(ctx context.Context) {
		defer e.wg.Done()
		e.run(ctx)
	}(e.ctx)
}

// Unsubscribe stops the stream and every request in flight.
func (e *endpoint) Unsubscribe() {
	e.mu.Lock()
	cancel := e.cancel
	e.cancel, e.cb, e.up = nil, nil, false
	e.mu.Unlock()
	if cancel != nil {
		cancel()
	}
	e.wg.Wait()
}

// SendRequest implements go-ethereum's request server.
func (e *endpoint) SendRequest(id request.ID, req request.Request) {
	e.mu.Lock()
	ctx, cb := e.ctx, e.cb
	if ctx == nil || ctx.Err() != nil || cb == nil {
		e.mu.Unlock()
		return
	}
	e.wg.Add(1)
	e.mu.Unlock()
	go func() {
		defer e.wg.Done()
		resp, err := e.answer(ctx, req)
		if err != nil {
			if ctx.Err() == nil {
				e.noteErr(fmt.Errorf("%s: %w", requestName(req), err))
			}
			cb(request.Event{Type: request.EvFail, Data: request.RequestResponse{ID: id, Request: req}})
			return
		}
		cb(request.Event{Type: request.EvResponse, Data: request.RequestResponse{ID: id, Request: req, Response: resp}})
	}()
}

func (e *endpoint) answer(ctx context.Context, req request.Request) (request.Response, error) {
	switch r := req.(type) {
	case lsync.ReqCheckpointData:
		root := common.Hash(r)
		body, err := e.get(ctx, "/eth/v1/beacon/light_client/bootstrap/"+root.Hex(), nil)
		if err != nil {
			return nil, err
		}
		return e.spec.decodeBootstrap(body, root)
	case lsync.ReqUpdates:
		q := url.Values{"start_period": {fmt.Sprint(r.FirstPeriod)}, "count": {fmt.Sprint(r.Count)}}
		body, err := e.get(ctx, "/eth/v1/beacon/light_client/updates", q)
		if err != nil {
			return nil, err
		}
		updates, committees, err := e.spec.decodeUpdates(body, r.FirstPeriod, r.Count)
		return lsync.RespUpdates{Updates: updates, Committees: committees}, err
	case lsync.ReqHeader:
		id := "head"
		if root := common.Hash(r); root != (common.Hash{}) {
			id = root.Hex()
		}
		body, err := e.get(ctx, "/eth/v1/beacon/headers/"+id, nil)
		if err != nil {
			return nil, err
		}
		var resp lsync.RespHeader
		resp.Header, resp.Canonical, resp.Finalized, err = decodeHeader(body, common.Hash(r))
		return resp, err
	case lsync.ReqFinality:
		body, err := e.get(ctx, "/eth/v1/beacon/light_client/finality_update", nil)
		if err != nil {
			return nil, err
		}
		return e.spec.decodeFinality(body)
	}
	return nil, fmt.Errorf("unsupported request %T", req)
}

func requestName(req request.Request) string {
	switch req.(type) {
	case lsync.ReqCheckpointData:
		return "bootstrap"
	case lsync.ReqUpdates:
		return "committee updates"
	case lsync.ReqHeader:
		return "beacon header"
	case lsync.ReqFinality:
		return "finality update"
	}
	return "request"
}

// statusError is a non-200 answer.
type statusError struct{ code int }

func (e statusError) Error() string { return fmt.Sprintf("HTTP %d", e.code) }

var errBodyTooLarge = errors.New("answer over 4 MiB")

// get fetches a path under the endpoint's base URL (keeping the base's own
// query, e.g. an API key) within the request timeout.
func (e *endpoint) get(ctx context.Context, path string, query url.Values) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, e.timeout)
	defer cancel()
	resp, err := e.do(ctx, path, query, "application/json")
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxBody+1))
	switch {
	case err != nil:
		return nil, err
	case len(body) > maxBody:
		return nil, errBodyTooLarge
	}
	return body, nil
}

// do sends a GET and returns a 200 answer; other statuses are errors.
func (e *endpoint) do(ctx context.Context, path string, query url.Values, accept string) (*http.Response, error) {
	u := e.base.JoinPath(path)
	q := e.base.Query()
	for k, vs := range query {
		q[k] = vs
	}
	u.RawQuery = q.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, err
	}
	req.Header = e.headers.Clone()
	req.Header.Set("Accept", accept)
	resp, err := e.client.Do(req)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		resp.Body.Close()
		return nil, statusError{resp.StatusCode}
	}
	return resp, nil
}

// noteErr records an error, redacted, for the status.
func (e *endpoint) noteErr(err error) {
	msg := e.red.describe(err)
	e.mu.Lock()
	e.lastErr, e.lastErrAt = msg, e.clock.Now()
	e.mu.Unlock()
	e.log.Debug("beacon API error", "err", msg)
}

func (e *endpoint) setUp(up bool) {
	e.mu.Lock()
	e.up = up
	e.mu.Unlock()
}

func (e *endpoint) touch(event bool) {
	now := e.clock.Now()
	e.mu.Lock()
	e.lastRead = now
	if event {
		e.lastEventAt = now
	}
	e.mu.Unlock()
}

// server returns the registered wrapper (nil while dropped).
func (e *endpoint) server() request.Server {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.srv
}

func (e *endpoint) setServer(srv request.Server, unregister func()) {
	e.mu.Lock()
	e.srv, e.unregister = srv, unregister
	e.mu.Unlock()
}

// quarantine marks the endpoint bad until a doubling delay has passed. It
// returns false if it already was.
func (e *endpoint) quarantine(reason string) (time.Time, bool) {
	now := e.clock.Now()
	e.mu.Lock()
	defer e.mu.Unlock()
	if now.Before(e.until) {
		return e.until, false
	}
	e.strikes++
	d := quarantineBase << min(e.strikes-1, 6)
	e.until, e.reason = now.Add(min(d, quarantineMax)), reason
	return e.until, true
}

func (e *endpoint) quarantined() bool {
	now := e.clock.Now()
	e.mu.Lock()
	defer e.mu.Unlock()
	return now.Before(e.until)
}

// EndpointStatus is one beacon API's state. It never holds a URL path,
// query, userinfo or header value.
type EndpointStatus struct {
	Name             string     `json:"name"`
	Up               bool       `json:"up"` // event stream open and not quarantined
	Quarantined      bool       `json:"quarantined"`
	QuarantineReason string     `json:"quarantine_reason,omitempty"`
	QuarantinedUntil *time.Time `json:"quarantined_until,omitempty"`
	LastError        string     `json:"last_error,omitempty"`
	LastErrorAt      *time.Time `json:"last_error_at,omitempty"`
	LastEventAt      *time.Time `json:"last_event_at,omitempty"`
}

func (e *endpoint) status() EndpointStatus {
	now := e.clock.Now()
	e.mu.Lock()
	defer e.mu.Unlock()
	s := EndpointStatus{Name: e.name, LastError: e.lastErr, Quarantined: now.Before(e.until)}
	s.Up = e.up && !s.Quarantined
	if s.Quarantined {
		s.QuarantineReason, s.QuarantinedUntil = e.reason, timePtr(e.until)
	}
	s.LastErrorAt, s.LastEventAt = timePtr(e.lastErrAt), timePtr(e.lastEventAt)
	return s
}

func timePtr(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

var _ interface {
	Name() string
	Subscribe(func(request.Event))
	SendRequest(request.ID, request.Request)
	Unsubscribe()
} = (*endpoint)(nil)
