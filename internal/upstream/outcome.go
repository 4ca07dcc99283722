package upstream

import (
	"errors"
	"time"
)

// Kind is how a finished attempt ended, as far as its upstream is
// concerned.
type Kind int

const (
	// Success: the upstream answered (a result, an error answer that is
	// the request's own, or one the caller accepted).
	Success Kind = iota
	// Failure: no answer (transport, timeout, HTTP status, malformed or
	// oversized), or an error answer that says the node failed.
	Failure
	// RateLimited: the provider rate-limited braid (RetryAfter, if it said).
	RateLimited
	// Cancelled: the call ended before the attempt did (another attempt
	// won, the client left, the deadline passed). It is neither a success
	// nor a failure. Its Latency, when set (it lost to another attempt's
	// answer), is a lower bound of the upstream's latency: a slow upstream
	// whose attempts always lose must not stay unmeasured, and so asked
	// first, for ever.
	Cancelled
	// Unsupported: the node does not offer the method or the data.
	Unsupported
	// Deferred: an error answer whose meaning is not known yet (held in
	// doubt until another operator answers the same request); it frees
	// the breaker's probe slot and counts nothing.
	Deferred
	// Rejected: an error answer that turned out to be the request's fault;
	// it counts against nobody.
	Rejected
	// Lie: an answer shown wrong (it lost a quorum dispute, or failed a
	// proof). The upstream's score drops; strikes and quarantine are the
	// operator's business (package operator).
	Lie
)

// Outcome is one finished attempt (or head poll) on an upstream.
type Outcome struct {
	Kind Kind
	// Class is the method class, for latency ("state", "block", …).
	Class   string
	Latency time.Duration
	// RetryAfter is how long a RateLimited provider asked to be left alone
	// (0: it did not say; a second).
	RetryAfter time.Duration
	// Label names the outcome in braid_upstream_requests_total ("" : the
	// kind's own name).
	Label string
	// Poll: a background head poll. It was not admitted by the breaker and
	// is not a request: no breaker, no request metrics, latency in
	// PollClass.
	Poll bool
	// Data, Depth and HasDepth say how deep below its head the attempt
	// read: a Success shows the upstream holds Data that deep, an
	// Unsupported that said the data is missing shows it does not.
	Data     Data
	Depth    uint64
	HasDepth bool
}

const (
	// defaultBackoff is how long a provider that rate-limited braid
	// without a Retry-After is left alone.
	defaultBackoff = time.Second
	maxBackoff     = time.Minute
)

// Record is the one place a finished attempt changes the upstream's
// health, breaker, rate budget, learned depth and request metrics. Every
// attempt the breaker admitted ends in exactly one Record (a Lie comes on
// top of the Success that delivered the answer).
func (u *Upstream) Record(o Outcome) {
	switch o.Kind {
	case Success:
		class := o.Class
		if o.Poll {
			class = PollClass
		}
		u.health.Success(class, o.Latency)
		if o.HasDepth {
			u.depth.holds(o.Data, o.Depth)
		}
	case Failure:
		u.health.Failure()
	case RateLimited:
		backoff := o.RetryAfter
		if backoff <= 0 {
			backoff = defaultBackoff
		}
		backoff = min(backoff, maxBackoff)
		u.health.Throttle(u.clock.Now().Add(backoff))
		u.budget.Lower(backoff)
	case Cancelled:
		if o.Latency > 0 {
			u.health.AtLeast(o.Class, o.Latency)
		}
	case Unsupported:
		if o.HasDepth {
			u.depth.lacks(o.Data, o.Depth)
		}
	case Lie:
		u.health.Failure()
		return // the answer was already recorded when it arrived
	}
	if o.Poll {
		return
	}
	switch o.Kind {
	case Success:
		u.breaker.Success()
	case Failure:
		u.breaker.Failure()
	case Rejected:
		// Its attempt was already released when it was deferred.
	default:
		u.breaker.Release()
	}
	if o.Kind != Deferred {
		u.metrics.Observe(u, o.label(), o.Latency)
	}
}

func (o Outcome) label() string {
	if o.Label != "" {
		return o.Label
	}
	switch o.Kind {
	case Success:
		return "ok"
	case Failure:
		return "failed"
	case RateLimited:
		return "throttled"
	case Cancelled:
		return "cancelled"
	case Unsupported:
		return "unsupported"
	case Rejected:
		return "rejected"
	}
	return "deferred"
}

// FailureOf is the outcome of an attempt that got no JSON-RPC answer
// (err from Call): throttled with the provider's Retry-After, or a failure
// labelled by its kind (transport, timeout, http_status, bad_response,
// too_large).
func FailureOf(err error, class string, latency time.Duration) Outcome {
	o := Outcome{Kind: Failure, Class: class, Latency: latency, Label: "transport"}
	var ae *AttemptError
	if !errors.As(err, &ae) {
		return o
	}
	switch ae.Kind {
	case ErrThrottled:
		o.Kind, o.Label, o.RetryAfter = RateLimited, "throttled", ae.RetryAfter
	case ErrTimeout:
		o.Label = "timeout"
	case ErrHTTPStatus:
		o.Label = "http_status"
	case ErrBadResponse:
		o.Label = "bad_response"
	case ErrTooLarge:
		o.Label = "too_large"
	}
	return o
}
