package route

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"slices"
	"time"

	"github.com/braidrpc/braid/internal/clock"
	"github.com/braidrpc/braid/internal/jsonrpc"
	"github.com/braidrpc/braid/internal/upstream"
)

// Defaults for throttling when a provider gives no Retry-After.
const (
	defaultBackoff = time.Second
	maxBackoff     = time.Minute
)

// Router sends calls for one network to its upstreams.
type Router struct {
	network     string
	upstreams   []*upstream.Upstream
	maxAttempts int
	clock       clock.Clock
	log         *slog.Logger
	metrics     *upstream.Metrics
}

// Options configure a Router.
type Options struct {
	Network     string
	MaxAttempts int
	Clock       clock.Clock
	Logger      *slog.Logger
	Metrics     *upstream.Metrics
}

// New returns a router over ups.
func New(ups []*upstream.Upstream, opts Options) *Router {
	if opts.Clock == nil {
		opts.Clock = clock.Real{}
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.MaxAttempts <= 0 {
		opts.MaxAttempts = 1
	}
	return &Router{
		network:     opts.Network,
		upstreams:   ups,
		maxAttempts: opts.MaxAttempts,
		clock:       opts.Clock,
		log:         opts.Logger,
		metrics:     opts.Metrics,
	}
}

// Upstreams returns every upstream of the network, usable or not.
func (r *Router) Upstreams() []*upstream.Upstream { return r.upstreams }

// Call is one call to route.
type Call struct {
	Method string
	Params json.RawMessage
	// Accept, when set, may turn an error answer into success; it is how a
	// write recognises "already known" after a retry. It gets the attempt
	// number (0 for the first).
	Accept func(attempt int, e *jsonrpc.Error) (json.RawMessage, bool)
	// Only, when set, restricts the call to that upstream (sticky state).
	Only *upstream.Upstream
}

// Result is the answer a call got and who gave it.
type Result struct {
	Response *jsonrpc.Response
	Upstream *upstream.Upstream
	Attempts int
}

// Do routes c: best upstream first, then the next on failure, until an
// answer that is the call's result, the attempt budget, or the deadline.
// The returned error is a *Failure (or a context error) and maps to a
// JSON-RPC error through jsonrpc.FromError.
func (r *Router) Do(ctx context.Context, c Call) (*Result, error) {
	var (
		tried    []*upstream.Upstream
		attempts []Attempt
		lastRPC  *jsonrpc.Response
		lastUp   *upstream.Upstream
	)
	for len(attempts) < r.maxAttempts {
		u, wait := r.pick(c.Only, tried)
		if u == nil && wait > 0 {
			// Every remaining candidate is out of rate budget: wait for
			// the first token rather than fail, within the deadline.
			select {
			case <-ctx.Done():
				return nil, r.deadline(ctx, attempts)
			case <-r.clock.After(wait):
				continue
			}
		}
		if u == nil {
			break
		}
		tried = append(tried, u)
		start := r.clock.Now()
		resp, err := u.Call(ctx, c.Method, c.Params)
		latency := r.clock.Now().Sub(start)
		if err != nil {
			if ctx.Err() != nil {
				// The request as a whole is over: this attempt says
				// nothing about the upstream.
				r.metrics.Observe(u, "cancelled", latency)
				return nil, r.deadline(ctx, attempts)
			}
			attempts = append(attempts, r.failedAttempt(u, err, latency))
			continue
		}
		if resp.Error == nil {
			u.Health().Success(latency)
			r.metrics.Observe(u, "ok", latency)
			return &Result{Response: resp, Upstream: u, Attempts: len(attempts) + 1}, nil
		}
		if c.Accept != nil {
			if result, ok := c.Accept(len(attempts), resp.Error); ok {
				u.Health().Success(latency)
				r.metrics.Observe(u, "ok", latency)
				return &Result{Response: jsonrpc.ResultResponse(nil, result), Upstream: u, Attempts: len(attempts) + 1}, nil
			}
		}
		v := classify(resp.Error)
		switch v {
		case final:
			u.Health().Success(latency)
			r.metrics.Observe(u, "rpc_error", latency)
			return &Result{Response: resp, Upstream: u, Attempts: len(attempts) + 1}, nil
		case throttled:
			u.Health().Throttle(r.clock.Now().Add(defaultBackoff))
			r.metrics.Observe(u, "throttled", latency)
		case failed:
			u.Health().Failure()
			r.metrics.Observe(u, "failed", latency)
		case unsupported:
			r.metrics.Observe(u, "unsupported", latency)
		}
		lastRPC, lastUp = resp, u
		attempts = append(attempts, Attempt{Upstream: u.Name, Operator: u.Operator, Error: v.String() + ": " + resp.Error.Message})
	}
	if lastRPC != nil {
		// Every node that answered could not serve it: their own error is
		// the most specific thing to say (e.g. the method does not exist).
		return &Result{Response: lastRPC, Upstream: lastUp, Attempts: len(attempts)}, nil
	}
	if len(attempts) == 0 {
		return nil, &Failure{Code: jsonrpc.CodeUnavailable, Message: "no usable upstream for network " + r.network}
	}
	return nil, &Failure{Code: jsonrpc.CodeUpstreamsFailed, Message: "every upstream tried failed", Attempts: attempts}
}

func (r *Router) failedAttempt(u *upstream.Upstream, err error, latency time.Duration) Attempt {
	outcome := "transport"
	var ae *upstream.AttemptError
	if errors.As(err, &ae) {
		switch ae.Kind {
		case upstream.ErrThrottled:
			outcome = "throttled"
			backoff := ae.RetryAfter
			if backoff <= 0 {
				backoff = defaultBackoff
			}
			backoff = min(backoff, maxBackoff)
			u.Health().Throttle(r.clock.Now().Add(backoff))
		case upstream.ErrTimeout:
			outcome = "timeout"
		case upstream.ErrHTTPStatus:
			outcome = "http_status"
		case upstream.ErrBadResponse:
			outcome = "bad_response"
		case upstream.ErrTooLarge:
			outcome = "too_large"
		}
	}
	if outcome != "throttled" {
		u.Health().Failure()
	}
	r.metrics.Observe(u, outcome, latency)
	r.log.Debug("upstream attempt failed", "network", r.network, "upstream", u.Name, "outcome", outcome, "err", err)
	return Attempt{Upstream: u.Name, Operator: u.Operator, Error: err.Error()}
}

func (r *Router) deadline(ctx context.Context, attempts []Attempt) error {
	code, msg := jsonrpc.CodeTimeout, "request timed out before any upstream answered"
	if errors.Is(ctx.Err(), context.Canceled) {
		msg = "request cancelled"
	}
	return &Failure{Code: code, Message: msg, Attempts: attempts}
}

// pick returns the best untried usable upstream with rate budget, or, when
// only budget is lacking, how long until one will have some.
func (r *Router) pick(only *upstream.Upstream, tried []*upstream.Upstream) (*upstream.Upstream, time.Duration) {
	if only != nil {
		if slices.Contains(tried, only) || !only.Usable() {
			return nil, 0
		}
		if ok, wait := only.Budget().Take(); !ok {
			return nil, wait
		}
		return only, 0
	}
	type cand struct {
		u     *upstream.Upstream
		score float64
	}
	cands := make([]cand, 0, len(r.upstreams))
	var throttledOnly []cand
	for _, u := range r.upstreams {
		if !u.Usable() || slices.Contains(tried, u) {
			continue
		}
		snap := u.Health().Snapshot()
		if snap.Throttled {
			throttledOnly = append(throttledOnly, cand{u, snap.Score})
			continue
		}
		cands = append(cands, cand{u, snap.Score})
	}
	if len(cands) == 0 {
		// Every candidate asked braid to back off: still better to ask one
		// of them than to fail the client outright.
		cands = throttledOnly
	}
	slices.SortStableFunc(cands, func(a, b cand) int {
		switch {
		case a.score < b.score:
			return -1
		case a.score > b.score:
			return 1
		}
		return 0
	})
	var wait time.Duration
	for _, c := range cands {
		ok, w := c.u.Budget().Take()
		if ok {
			return c.u, 0
		}
		if wait == 0 || w < wait {
			wait = w
		}
	}
	return nil, wait
}
