package upstream

import (
	"errors"
	"fmt"
	"time"
)

// Sentinel errors. Each attempt error wraps one of them, so callers can
// classify with errors.Is without parsing text.
var (
	// ErrTransport: the request did not complete (refused, reset, EOF, DNS).
	ErrTransport = errors.New("transport error")
	// ErrTimeout: the per-attempt timeout passed.
	ErrTimeout = errors.New("upstream timed out")
	// ErrHTTPStatus: the upstream answered with a non-200 HTTP status.
	ErrHTTPStatus = errors.New("upstream HTTP error")
	// ErrThrottled: the upstream said "too many requests" (HTTP 429 or a
	// JSON-RPC rate-limit error).
	ErrThrottled = errors.New("upstream throttled")
	// ErrBadResponse: the answer was not a JSON-RPC response.
	ErrBadResponse = errors.New("upstream sent a malformed response")
	// ErrTooLarge: the answer exceeded max_response_bytes.
	ErrTooLarge = errors.New("upstream response too large")
)

// AttemptError is the failure of one attempt on one upstream. Its text names
// the upstream, never its URL.
type AttemptError struct {
	Upstream   string
	Kind       error // one of the sentinels above
	Status     int   // HTTP status, when Kind is ErrHTTPStatus or ErrThrottled
	RetryAfter time.Duration
	Err        error // the underlying cause, if any
}

func (e *AttemptError) Error() string {
	msg := e.Upstream + ": " + e.Kind.Error()
	if e.Status != 0 {
		msg += fmt.Sprintf(" (HTTP %d)", e.Status)
	}
	if e.Err != nil {
		msg += ": " + e.Err.Error()
	}
	return msg
}

func (e *AttemptError) Unwrap() []error {
	if e.Err != nil {
		return []error{e.Kind, e.Err}
	}
	return []error{e.Kind}
}
