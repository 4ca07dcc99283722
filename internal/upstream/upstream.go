package upstream

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/braidrpc/braid/internal/clock"
	"github.com/braidrpc/braid/internal/config"
	"github.com/braidrpc/braid/internal/h1"
	"github.com/braidrpc/braid/internal/jsonrpc"
)

// State is whether an upstream may be used.
type State int32

const (
	// Unverified: its chain id has not been confirmed yet; not used.
	Unverified State = iota
	// Ready: chain id confirmed; used.
	Ready
	// Quarantined: it serves another chain (or was excluded); never used.
	Quarantined
)

func (s State) String() string {
	switch s {
	case Ready:
		return "ready"
	case Quarantined:
		return "quarantined"
	}
	return "unverified"
}

// Options configure an Upstream beyond its config entry.
type Options struct {
	Network          string
	MaxResponseBytes int64
	Clock            clock.Clock
	Logger           *slog.Logger
	Metrics          *Metrics
	Breaker          BreakerConfig
}

// Upstream is one provider endpoint.
type Upstream struct {
	Name     string
	Operator string
	Network  string
	// WSURL is the provider's WebSocket endpoint ("" if none). Like the
	// URL it may hold a key: never log it.
	WSURL string
	// Archive: configured as holding all historical state.
	Archive bool

	url      string   // secret: may embed an API key; never logged
	target   *url.URL // url parsed; nil if it does not parse
	endpoint string   // Endpoint()
	redacted string
	secrets  []string // parts of url and WSURL that Redact takes out
	timeout  time.Duration
	maxResp  int64
	client   *http.Client
	plain    *h1.Client // for a plain http:// URL without a proxy; else nil

	clock   clock.Clock
	log     *slog.Logger
	metrics *Metrics
	// answered: metrics' collectors for this upstream's answers, resolved
	// once (nil without metrics).
	answered answered
	health   *Health
	budget   *Budget
	breaker  *Breaker
	depth    *depth
	nextID   atomic.Uint64

	// suspendedUntil (unix nanoseconds, 0: not suspended) takes a
	// Ready upstream out of use for a while: its operator was caught
	// giving wrong answers.
	suspendedUntil atomic.Int64

	mu            sync.Mutex
	suspendReason string
	state         State
	reason        string
	condition     Condition
}

// NewNetwork builds network nc's upstreams as configured (defaults
// applied), each with the network's breaker; opts gives the rest.
func NewNetwork(nc config.Network, opts Options) []*Upstream {
	opts.Network, opts.Breaker = nc.Name, nc.Breaker
	ups := make([]*Upstream, 0, len(nc.Upstreams))
	for _, uc := range nc.Upstreams {
		ups = append(ups, New(uc, opts))
	}
	return ups
}

// New builds an Upstream from its config entry (defaults already applied).
func New(cfg config.Upstream, opts Options) *Upstream {
	if opts.Clock == nil {
		opts.Clock = clock.Real{}
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.MaxResponseBytes <= 0 {
		opts.MaxResponseBytes = config.DefaultMaxResponseBytes
	}
	timeout := cfg.Timeout
	if timeout <= 0 {
		timeout = config.DefaultUpstreamTimeout
	}
	idle := cfg.MaxIdleConns
	if idle <= 0 {
		idle = config.DefaultMaxIdleConns
	}
	transport := &http.Transport{
		Proxy: http.ProxyFromEnvironment,
		DialContext: (&net.Dialer{
			Timeout:   5 * time.Second,
			KeepAlive: 30 * time.Second,
		}).DialContext,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          idle,
		MaxIdleConnsPerHost:   idle,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   5 * time.Second,
		ExpectContinueTimeout: time.Second,
	}
	u := &Upstream{
		Name:      cfg.Name,
		Operator:  cfg.Operator,
		Network:   opts.Network,
		WSURL:     cfg.WSURL,
		Archive:   cfg.Archive,
		url:       cfg.URL,
		target:    target(cfg.URL),
		redacted:  config.Redact(cfg.URL),
		endpoint:  endpointID(cfg.Name, cfg.URL),
		secrets:   secretsOf(cfg.URL, cfg.WSURL),
		timeout:   timeout,
		maxResp:   opts.MaxResponseBytes,
		client:    &http.Client{Transport: transport},
		clock:     opts.Clock,
		metrics:   opts.Metrics,
		health:    newHealth(opts.Clock),
		budget:    NewBudget(opts.Clock, cfg.RPS, cfg.Burst),
		breaker:   NewBreaker(opts.Clock, opts.Breaker),
		depth:     newDepth(cfg.Archive),
		condition: Pending,
	}
	u.plain = plainClient(u.target, idle, opts.Clock, transport.Proxy)
	u.log = opts.Logger.With("network", opts.Network, "upstream", cfg.Name, "operator", cfg.Operator)
	u.answered = u.metrics.answered(u)
	u.metrics.setState(u, Unverified)
	return u
}

// RedactedURL is the URL as it may be shown: scheme and host only.
func (u *Upstream) RedactedURL() string { return u.redacted }

// Endpoint identifies the endpoint the upstream sends to without
// revealing its URL: upstreams configured with the same URL (however
// written, see config.EndpointKey) have the same Endpoint, so one
// endpoint named under two operators is not counted as two.
func (u *Upstream) Endpoint() string { return u.endpoint }

func endpointID(name, rawURL string) string {
	key := config.EndpointKey(rawURL)
	if key == "" {
		return "upstream " + name // unparsed: only itself
	}
	sum := sha256.Sum256([]byte(key))
	return hex.EncodeToString(sum[:8])
}

// Health returns the upstream's health record.
func (u *Upstream) Health() *Health { return u.health }

// Budget returns the upstream's rate budget (nil: unlimited).
func (u *Upstream) Budget() *Budget { return u.budget }

// Breaker returns the upstream's circuit breaker.
func (u *Upstream) Breaker() *Breaker { return u.breaker }

// State returns whether the upstream may be used, and why not.
func (u *Upstream) State() (State, string) {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.state, u.reason
}

// Usable reports whether the upstream may be sent requests at all.
func (u *Upstream) Usable() bool {
	s, _ := u.State()
	return s == Ready && !u.suspended()
}

func (u *Upstream) suspended() bool {
	until := u.suspendedUntil.Load()
	return until != 0 && u.clock.Now().UnixNano() < until
}

// Suspend takes the upstream out of use until the given time, for
// reason (its operator lost too many disputes). A later Suspend
// replaces an earlier one.
func (u *Upstream) Suspend(until time.Time, reason string) {
	u.mu.Lock()
	u.suspendReason = reason
	u.mu.Unlock()
	u.suspendedUntil.Store(until.UnixNano())
	u.log.Error("upstream suspended", "until", until.UTC().Format(time.RFC3339), "reason", reason)
}

// Suspended returns until when, and why, the upstream is out of use; ok
// is false when it is not suspended now.
func (u *Upstream) Suspended() (until time.Time, reason string, ok bool) {
	if !u.suspended() {
		return time.Time{}, "", false
	}
	u.mu.Lock()
	defer u.mu.Unlock()
	return time.Unix(0, u.suspendedUntil.Load()), u.suspendReason, true
}

func (u *Upstream) setState(s State, reason string) {
	u.mu.Lock()
	old := u.state
	u.state, u.reason = s, reason
	u.mu.Unlock()
	if old == s {
		return
	}
	u.metrics.setState(u, s)
	level := slog.LevelInfo
	if s == Quarantined {
		level = slog.LevelError
	}
	u.log.Log(context.Background(), level, "upstream state changed", "from", old.String(), "to", s.String(), "reason", reason)
}

// Quarantine takes the upstream out of use for good.
func (u *Upstream) Quarantine(reason string) { u.setState(Quarantined, reason) }

// Verify asks the upstream for its chain id. A match makes it Ready; a
// mismatch quarantines it (it serves another chain: every answer would be
// wrong). A failure to ask leaves it Unverified and is returned, so the
// caller can try again later.
func (u *Upstream) Verify(ctx context.Context, chainID uint64) error {
	if s, _ := u.State(); s == Quarantined {
		return nil
	}
	resp, err := u.Call(ctx, "eth_chainId", nil)
	if err != nil {
		return err
	}
	if resp.Error != nil {
		return fmt.Errorf("%s: eth_chainId: %w", u.Name, resp.Error)
	}
	var hex string
	if err := json.Unmarshal(resp.Result, &hex); err != nil {
		return fmt.Errorf("%s: eth_chainId answer %s is not a hex string", u.Name, u.Redact(truncate(resp.Result)))
	}
	got, err := parseQuantity(hex)
	if err != nil {
		return fmt.Errorf("%s: eth_chainId answer %q: %w", u.Name, u.Redact(hex), err)
	}
	if got != chainID {
		u.Quarantine(fmt.Sprintf("chain id mismatch: upstream serves chain %d, network is configured for chain %d", got, chainID))
		return nil
	}
	u.setState(Ready, "chain id verified")
	return nil
}

// Call sends one JSON-RPC call and returns the upstream's answer. A non-nil
// error is an *AttemptError: no JSON-RPC answer was obtained. A JSON-RPC
// error answer is returned as a Response, not as an error: whether it is the
// request's result or a failure of this node is for the caller to decide.
// Call does not record health; the caller knows whether the attempt counts.
func (u *Upstream) Call(ctx context.Context, method string, params json.RawMessage) (*jsonrpc.Response, error) {
	body := jsonrpc.AppendRequest(make([]byte, 0, 64+len(method)+len(params)), u.nextID.Add(1), method, params)
	raw, err := u.post(ctx, body)
	if err != nil {
		return nil, err
	}
	resp, err := jsonrpc.DecodeResponse(raw)
	if err != nil {
		return nil, &AttemptError{Upstream: u.Name, Kind: ErrBadResponse, Err: u.redactErr(err)}
	}
	u.redactError(resp.Error)
	return resp, nil
}

func (u *Upstream) post(ctx context.Context, body []byte) ([]byte, error) {
	if u.target == nil {
		// The URL was validated at load; do not echo it (it may hold a key).
		return nil, &AttemptError{Upstream: u.Name, Kind: ErrTransport, Err: errors.New("cannot build request")}
	}
	ctx, cancel := u.callContext(ctx)
	defer cancel()
	if u.plain != nil {
		return u.postPlain(ctx, body)
	}
	res, err := u.client.Do(u.newPost(ctx, body))
	if err != nil {
		return nil, u.transportError(ctx, err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		// Drain a little so the connection can be reused.
		_, _ = io.CopyN(io.Discard, res.Body, 4<<10)
		return nil, u.statusError(res.StatusCode, res.Header.Get("Retry-After"))
	}
	raw, err := readLimited(res.Body, res.ContentLength, u.maxResp)
	if err != nil {
		if errors.Is(err, ErrTooLarge) {
			return nil, &AttemptError{Upstream: u.Name, Kind: ErrTooLarge}
		}
		return nil, u.transportError(ctx, err)
	}
	return raw, nil
}

// transportError classifies a failed round trip, stripping the URL that
// net/http puts into its errors.
func (u *Upstream) transportError(ctx context.Context, err error) error {
	var ue interface{ Unwrap() error }
	if errors.As(err, &ue) {
		if inner := ue.Unwrap(); inner != nil {
			err = inner // *url.Error → its cause, without the URL
		}
	}
	switch {
	case errors.Is(ctx.Err(), context.DeadlineExceeded):
		return &AttemptError{Upstream: u.Name, Kind: ErrTimeout}
	case errors.Is(ctx.Err(), context.Canceled):
		return &AttemptError{Upstream: u.Name, Kind: ErrTransport, Err: context.Canceled}
	}
	return &AttemptError{Upstream: u.Name, Kind: ErrTransport, Err: u.redactErr(err)}
}

// readLimited reads a whole body of at most limit bytes. With a known
// length it reads into one buffer of that size; without one (a chunked
// answer: go-ethereum sends any answer over 2 kB so) through h1's pooled
// reader, which keeps an exact copy.
func readLimited(r io.Reader, length, limit int64) ([]byte, error) {
	if length > limit {
		return nil, ErrTooLarge
	}
	if length >= 0 {
		buf := make([]byte, length)
		if _, err := io.ReadFull(r, buf); err != nil {
			return nil, err
		}
		return buf, nil
	}
	buf, err := h1.ReadToEnd(r, limit)
	if errors.Is(err, h1.ErrTooLarge) {
		return nil, ErrTooLarge
	}
	return buf, err
}

// parseRetryAfter reads delta-seconds or an HTTP date; unknown → 0.
func parseRetryAfter(v string, now time.Time) time.Duration {
	if v == "" {
		return 0
	}
	if secs, err := strconv.Atoi(v); err == nil && secs >= 0 {
		return time.Duration(secs) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}

func parseQuantity(s string) (uint64, error) {
	if len(s) < 3 || s[0] != '0' || (s[1] != 'x' && s[1] != 'X') {
		return 0, errors.New("not a 0x-prefixed hex number")
	}
	return strconv.ParseUint(s[2:], 16, 64)
}

func truncate(b []byte) string {
	if len(b) > 40 {
		return string(b[:40]) + "…"
	}
	return string(b)
}

// Close releases idle keep-alive connections.
func (u *Upstream) Close() {
	u.client.CloseIdleConnections()
	if u.plain != nil {
		u.plain.CloseIdle()
	}
}
