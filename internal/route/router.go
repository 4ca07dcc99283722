package route

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/braidrpc/braid/internal/clock"
	"github.com/braidrpc/braid/internal/config"
	"github.com/braidrpc/braid/internal/jsonrpc"
	"github.com/braidrpc/braid/internal/upstream"
)

const (
	// retryBase and retryCap bound the pause before another round over
	// upstreams that all failed transiently.
	retryBase = 25 * time.Millisecond
	retryCap  = 400 * time.Millisecond
	// defaultProbeShare is the share of calls that try a random
	// non-best upstream first, so a recovered one is measured again.
	defaultProbeShare = 0.05
)

// HeadView tells the router how far each upstream's chain reaches.
type HeadView interface {
	// Head returns the upstream's latest block number, if known.
	Head(u *upstream.Upstream) (uint64, bool)
}

// HedgeConfig tunes hedged reads.
type HedgeConfig struct {
	Enabled    bool
	Percentile float64
	MinDelay   time.Duration
	MaxDelay   time.Duration
	MaxExtra   int
}

// Options configure a Router.
type Options struct {
	Network     string
	MaxAttempts int
	Hedge       HedgeConfig
	Heads       HeadView // nil: heads unknown, no head or depth filtering
	// ProbeShare is the share of calls whose first try goes to a random
	// non-best upstream (default 5%; negative disables probing).
	ProbeShare float64
	Rand       func() float64 // nil: math/rand/v2
	Clock      clock.Clock
	Logger     *slog.Logger
	Route      *Metrics
}

// Router sends calls for one network to its upstreams.
type Router struct {
	network     string
	upstreams   []*upstream.Upstream
	maxAttempts int
	hedge       HedgeConfig
	heads       HeadView
	probeShare  float64
	rand        func() float64
	clock       clock.Clock
	log         *slog.Logger
	rmetrics    *Metrics
	latency     *classRing
	// doubts holds error answers that count against their upstream only
	// once another operator could answer the same request (see doubt.go);
	// nil when the network has a single operator.
	doubts *doubts
}

// NewNetwork returns the router over network nc's upstreams as
// configured (defaults applied): maxAttempts (limits.max_attempts) and
// nc's hedge section; opts gives the rest.
func NewNetwork(nc config.Network, maxAttempts int, ups []*upstream.Upstream, opts Options) *Router {
	opts.Network, opts.MaxAttempts = nc.Name, maxAttempts
	opts.Hedge = HedgeConfig{Enabled: nc.Hedge.On(), Percentile: nc.Hedge.Percentile, MinDelay: nc.Hedge.MinDelay,
		MaxDelay: nc.Hedge.MaxDelay, MaxExtra: nc.Hedge.MaxExtra}
	return New(ups, opts)
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
	if opts.ProbeShare == 0 {
		opts.ProbeShare = defaultProbeShare
	}
	if opts.Rand == nil {
		opts.Rand = rand.Float64
	}
	var ops []string
	for _, u := range ups {
		if !slices.Contains(ops, u.Operator) {
			ops = append(ops, u.Operator)
		}
	}
	var dbt *doubts
	if len(ops) > 1 {
		dbt = newDoubts(opts.Clock)
	}
	return &Router{
		doubts:      dbt,
		network:     opts.Network,
		upstreams:   ups,
		maxAttempts: opts.MaxAttempts,
		hedge:       opts.Hedge,
		heads:       opts.Heads,
		probeShare:  max(opts.ProbeShare, 0),
		rand:        opts.Rand,
		clock:       opts.Clock,
		log:         opts.Logger,
		rmetrics:    opts.Route,
		latency:     newClassRing(),
	}
}

// Upstreams returns every upstream of the network, usable or not.
func (r *Router) Upstreams() []*upstream.Upstream { return r.upstreams }

// Call is one call to route.
type Call struct {
	Method string
	Params json.RawMessage
	// Class groups methods of similar cost for latency scoring and the
	// hedge delay ("state", "block", "logs", …).
	Class string
	// Hedge allows a second attempt while the first is still running. Only
	// reads are hedged.
	Hedge bool
	// MinHead excludes upstreams whose latest block is below it (or
	// unknown): they lack the block the call is pinned to.
	MinHead uint64
	// Block, when HasBlock, is the block the call reads; upstreams that
	// have shown they no longer hold Data that deep are tried last.
	Block    uint64
	HasBlock bool
	Data     upstream.Data
	// Accept, when set, may turn an error answer into success; it is how a
	// write recognises "already known". It gets the attempt number.
	Accept func(attempt int, e *jsonrpc.Error) (json.RawMessage, bool)
	// Only, when set, restricts the call to that upstream (sticky state).
	Only *upstream.Upstream
	// Operator, when set, restricts the call to that operator's upstreams
	// (a quorum read or a broadcast asks each operator on its own).
	Operator string
	// Exclude keeps the call away from these operators' upstreams (ones
	// whose answers already failed verification).
	Exclude []string
	// Ahead: the call names a block above the served tip, whose number is
	// Floor. When no usable upstream has reached MinHead, the upstreams
	// that hold Floor take the call instead, highest head first, and what
	// they say about a block they do not have yet (null, "header not
	// found", a log range beyond their head) is the answer, as a node's
	// would be, not an outage: no upstream is marked for it.
	Ahead bool
	Floor uint64
	// Batch, when set, is sent instead of Method and Params as one
	// JSON-RPC batch to one upstream (Method still names the call's kind
	// for logs and doubts). Its answers are Result.Batch; an upstream that
	// refuses batches is skipped as one that cannot serve the call.
	Batch []upstream.BatchCall

	// beyond: Ahead applies (no upstream reached MinHead when the call
	// started); set by Do.
	beyond bool
}

// Result is the answer a call got and who gave it.
type Result struct {
	Response *jsonrpc.Response
	// Batch are the answers to Call.Batch, in its order (each a result or
	// the node's error answer); Response is then a placeholder.
	Batch    []*jsonrpc.Response
	Upstream *upstream.Upstream
	Attempts int
	// Unserved: no upstream could serve the call; Response is the most
	// specific error one of them gave (e.g. the method does not exist),
	// not an answer about the chain.
	Unserved bool
	// Rejected (with Unserved): two operators gave Response, the same
	// error, to this very request: the request is at fault, no other
	// upstream would answer it otherwise, and nobody was marked for it.
	Rejected bool
}

// outcome is one finished attempt, already recorded in the upstream's
// health, breaker and depth.
type outcome struct {
	u       *upstream.Upstream
	resp    *jsonrpc.Response
	batch   []*jsonrpc.Response
	err     error
	verdict verdict
	good    bool // the call's answer: a result, an accepted or final error
	hedge   bool
}

// batchAnswered is the Response of an attempt whose batch was answered:
// its members are in the outcome's batch.
var batchAnswered = &jsonrpc.Response{Result: json.RawMessage("true")}

// rejected: a second operator answered the request with the same error
// (see doubt.go); it is passed on as the request's fault.
const rejected verdict = -1

// Do routes c: the best upstream first; the next one on failure, or
// alongside a slow first one (hedging), until an answer that is the call's
// result, the attempt budget, or the deadline. Between rounds over
// upstreams that all failed transiently it backs off briefly. The error,
// when not nil, is a *Failure and maps to a JSON-RPC error through
// jsonrpc.FromError.
func (r *Router) Do(ctx context.Context, c Call) (*Result, error) {
	c = r.prepare(c)
	d := &doing{r: r, c: c, ctx: ctx,
		// Attempts run in their own goroutine only when a hedge may race
		// them; otherwise inline, which spares a goroutine hand-off, a
		// channel and a cancellable context on the hot path.
		concurrent: c.Hedge && r.hedge.Enabled && r.hedge.MaxExtra > 0 && c.Only == nil && r.Usable() > 1,
	}
	d.tried, d.excluded = d.buf[:0:2], d.buf[2:2:4]
	if !d.concurrent {
		return d.inline()
	}
	ctx, cancelAll := context.WithCancelCause(ctx)
	defer cancelAll(nil)
	// results has room for every attempt: a loser's send never blocks.
	d.ctx, d.results = ctx, make(chan outcome, r.maxAttempts)
	for {
		if d.inflight == 0 {
			if done, res, err := d.launchOrWait(); done {
				return res, err
			}
			if d.inflight == 0 {
				continue
			}
		}
		select {
		case <-ctx.Done():
			return nil, r.deadline(ctx, d.attempts)
		case <-d.hedgeTimer():
			if ok, _ := d.next(true); ok {
				d.hedges++
			} else {
				d.hedges = r.hedge.MaxExtra // nobody to hedge to
			}
		case o := <-d.results:
			d.inflight--
			if res := r.result(o, d.launched, d.hedges); res != nil {
				if o.good {
					cancelAll(errAnswered) // the attempts still out lost to this one
				}
				return res, nil
			}
			if ctx.Err() != nil {
				return nil, r.deadline(ctx, d.attempts)
			}
			d.failed(o)
		}
	}
}

// inline is Do when nothing can race an attempt: one at a time, each run
// in the caller's goroutine, so no attempt is ever left out to cancel.
func (d *doing) inline() (*Result, error) {
	r := d.r
	for {
		if done, res, err := d.launchOrWait(); done {
			return res, err
		}
		if d.inflight == 0 {
			continue
		}
		o := d.done
		d.inflight--
		if res := r.result(o, d.launched, d.hedges); res != nil {
			return res, nil
		}
		if d.ctx.Err() != nil {
			return nil, r.deadline(d.ctx, d.attempts)
		}
		d.failed(o)
	}
}

// prepare readies c for Do: whether it names a block nobody has yet, and
// the failures whose doubt ran out are counted.
func (r *Router) prepare(c Call) Call {
	c.beyond = r.beyondHeads(c)
	if r.doubts != nil {
		r.count(r.doubts.expired())
	}
	return c
}

// result is the call's result when attempt o ends it (an answer, or an
// error that is the request's fault), nil when the call goes on.
func (r *Router) result(o outcome, launched, hedges int) *Result {
	switch {
	case o.verdict == rejected:
		return &Result{Response: o.resp, Upstream: o.u, Attempts: launched, Unserved: true, Rejected: true}
	case !o.good:
		return nil
	case o.hedge:
		r.rmetrics.hedge(r.network, "won")
	case hedges > 0:
		r.rmetrics.hedge(r.network, "lost")
	}
	return &Result{Response: o.resp, Batch: o.batch, Upstream: o.u, Attempts: launched}
}

// attempt describes a failed attempt for the client's error data.
func (o *outcome) attempt() Attempt {
	a := Attempt{Upstream: o.u.Name, Operator: o.u.Operator, BatchRefused: errors.Is(o.err, upstream.ErrBatchRefused)}
	if o.err != nil {
		a.Error = o.err.Error()
	} else {
		a.Error = o.verdict.String() + ": " + o.resp.Error.Message
	}
	return a
}

// Usable counts the upstreams that may be sent requests.
func (r *Router) Usable() int {
	n := 0
	for _, u := range r.upstreams {
		if u.Usable() {
			n++
		}
	}
	return n
}

// Upstream is the upstream called name, or nil.
func (r *Router) Upstream(name string) *upstream.Upstream {
	for _, u := range r.upstreams {
		if u.Name == name {
			return u
		}
	}
	return nil
}

// anyLeft reports whether a retry round has someone to go to.
func (r *Router) anyLeft(c Call, excluded upstreams) bool {
	if c.Only != nil {
		return !excluded.has(c.Only) && c.Only.Usable()
	}
	for _, u := range r.upstreams {
		if u.Usable() && !excluded.has(u) && (c.Operator == "" || u.Operator == c.Operator) && !slices.Contains(c.Exclude, u.Operator) {
			return true
		}
	}
	return false
}

func (r *Router) finish(c Call, lastRPC *outcome, attempts []Attempt, launched int) (*Result, error) {
	if lastRPC != nil {
		// The nodes that answered could not serve it: their own error is
		// the most specific thing to say (e.g. the method does not exist).
		return &Result{Response: lastRPC.resp, Upstream: lastRPC.u, Attempts: launched, Unserved: true}, nil
	}
	if launched == 0 {
		if c.Operator != "" {
			return nil, &Failure{Code: jsonrpc.CodeUnavailable, Message: fmt.Sprintf(
				"no usable upstream of operator %s can serve this call", c.Operator)}
		}
		if c.MinHead > 0 {
			return nil, &Failure{Code: jsonrpc.CodeUnavailable, Message: fmt.Sprintf(
				"no usable upstream of network %s holds block %d yet", r.network, c.MinHead)}
		}
		return nil, &Failure{Code: jsonrpc.CodeUnavailable, Message: "no usable upstream for network " + r.network}
	}
	return nil, &Failure{Code: jsonrpc.CodeUpstreamsFailed, Message: "every upstream tried failed", Attempts: attempts}
}

// HedgeDelay is how long a read of class is given before another
// upstream is asked too: the configured percentile of the network's
// recent latency for the class, clamped to the hedge bounds.
func (r *Router) HedgeDelay(class string) time.Duration { return r.hedgeDelay(class) }

func (r *Router) hedgeDelay(class string) time.Duration {
	d, ok := r.latency.percentile(class, r.hedge.Percentile)
	if !ok {
		// A class seen too rarely borrows the network's latency over all
		// classes, so a cold start is hedged too.
		d, ok = r.latency.percentile(allClasses, r.hedge.Percentile)
	}
	if !ok {
		return r.hedge.MaxDelay
	}
	return min(max(d, r.hedge.MinDelay), r.hedge.MaxDelay)
}

// errAnswered ends the attempts of a call still out when another attempt
// answered it.
var errAnswered = errors.New("another attempt answered")

// attempt runs one try and records what it says about the upstream
// (upstream.Record): health, breaker, depth, throttling and metrics. An
// attempt cancelled because the call ended (another attempt won, or the
// deadline) is neither a success nor a failure; when it lost to another
// attempt's answer, its elapsed time is a lower bound of the upstream's
// latency.
func (r *Router) attempt(ctx context.Context, u *upstream.Upstream, c Call, n int, hedge bool) outcome {
	start := r.clock.Now()
	var (
		resp  *jsonrpc.Response
		batch []*jsonrpc.Response
		err   error
	)
	if len(c.Batch) > 0 {
		if batch, err = u.CallBatch(ctx, c.Batch); err == nil {
			resp = batchAnswered
		}
	} else {
		resp, err = u.Call(ctx, c.Method, c.Params)
	}
	latency := r.clock.Now().Sub(start)
	o := outcome{u: u, resp: resp, batch: batch, err: err, hedge: hedge}
	if errors.Is(err, upstream.ErrBatchRefused) && ctx.Err() == nil {
		// Not a failure: this node takes no batches.
		u.Record(upstream.Outcome{Kind: upstream.Unsupported, Class: c.Class, Latency: latency})
		o.verdict = unsupported
		return o
	}
	if err != nil {
		if ctx.Err() != nil {
			rec := upstream.Outcome{Kind: upstream.Cancelled, Class: c.Class}
			if errors.Is(context.Cause(ctx), errAnswered) {
				// It lost to an answer: it takes at least this long.
				rec.Latency = latency
			}
			u.Record(rec)
			return o
		}
		f := upstream.FailureOf(err, c.Class, latency)
		u.Record(f)
		r.log.Debug("upstream attempt failed", "network", r.network, "upstream", u.Name, "outcome", f.Label, "err", err)
		o.verdict = failed
		return o
	}
	if resp.Error == nil {
		r.succeeded(u, c, latency, "")
		o.good = true
		return o
	}
	if c.Accept != nil {
		if result, ok := c.Accept(n, resp.Error); ok {
			r.succeeded(u, c, latency, "")
			o.resp, o.good = jsonrpc.ResultResponse(nil, result), true
			return o
		}
	}
	o.verdict = classify(resp.Error)
	if c.beyond && o.verdict == unsupported {
		// Asked about a block no upstream has yet: "header not found" or
		// "beyond the head" is the node's answer, as it would be from any.
		o.verdict = final
	}
	switch o.verdict {
	case final:
		r.succeeded(u, c, latency, "rpc_error")
		o.good = true
	case throttled:
		u.Record(upstream.Outcome{Kind: upstream.RateLimited, Class: c.Class, Latency: latency})
	case failed:
		o.verdict = r.failedAnswer(u, c, resp.Error, latency)
	case unsupported:
		rec := upstream.Outcome{Kind: upstream.Unsupported, Class: c.Class, Latency: latency}
		if kind, missing := missingData(resp.Error); missing && c.HasBlock {
			rec.Data = kind
			rec.Depth, rec.HasDepth = r.depthOf(u, c.Block)
		}
		u.Record(rec)
	}
	return o
}

// succeeded records an answer (label "" is "ok"; "rpc_error" an error
// answer that is the request's own).
func (r *Router) succeeded(u *upstream.Upstream, c Call, latency time.Duration, label string) {
	if r.doubts != nil {
		r.count(r.doubts.answered(c))
	}
	r.latency.add(c.Class, latency)
	rec := upstream.Outcome{Kind: upstream.Success, Class: c.Class, Latency: latency, Label: label, Data: c.Data}
	if c.HasBlock {
		rec.Depth, rec.HasDepth = r.depthOf(u, c.Block)
	}
	u.Record(rec)
}

func (r *Router) depthOf(u *upstream.Upstream, block uint64) (uint64, bool) {
	if r.heads == nil {
		return 0, false
	}
	h, ok := r.heads.Head(u)
	if !ok || h < block {
		return 0, false
	}
	return h - block, true
}

func (r *Router) deadline(ctx context.Context, attempts []Attempt) error {
	msg := "request timed out before any upstream answered"
	if errors.Is(context.Cause(ctx), context.Canceled) && !errors.Is(ctx.Err(), context.DeadlineExceeded) {
		msg = "request cancelled"
	}
	return &Failure{Code: jsonrpc.CodeTimeout, Message: msg, Attempts: attempts}
}
