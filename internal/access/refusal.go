package access

import (
	"fmt"
	"math"
	"net/http"
	"strconv"
	"time"

	"github.com/braidrpc/braid/internal/config"
	"github.com/braidrpc/braid/internal/jsonrpc"
)

// Refusal is why a request is not served: the HTTP status to answer
// with, the JSON-RPC error for its body (and for each call over
// WebSocket), and for 429 and 503 how long to wait (Retry-After).
type Refusal struct {
	Status     int
	Err        *jsonrpc.Error
	RetryAfter time.Duration
	// Whole: the message is answered with this one error, not one per
	// call (a batch over the key's max_batch, as over limits.max_batch).
	Whole bool
	// Challenge is the WWW-Authenticate header of a 401 (RFC 9110
	// section 15.5.2 requires one): how to authenticate, and for a key
	// braid refuses, why (RFC 6750 section 3).
	Challenge string
}

// SetHeaders sets Retry-After, in whole seconds rounded up (at least 1),
// when the refusal has one, and a 401's WWW-Authenticate.
func (r *Refusal) SetHeaders(h http.Header) {
	if r.RetryAfter > 0 {
		h.Set("Retry-After", strconv.Itoa(retrySeconds(r.RetryAfter)))
	}
	if r.Challenge != "" {
		h.Set("WWW-Authenticate", r.Challenge)
	}
}

func retrySeconds(d time.Duration) int {
	return int(max(1, math.Ceil(d.Seconds())))
}

// How to send a key, for messages.
const keyHowTo = "put it in the path (/{network}/{key}), an Authorization: Bearer header or an X-Api-Key header"

// challenge is the WWW-Authenticate of a 401: the Bearer scheme (a key
// in the path or X-Api-Key is the same key), with RFC 6750's error code
// and a description when a key was given ("" when none was).
func challenge(code, description string) string {
	c := `Bearer realm="braid"`
	if code != "" {
		c += `, error="` + code + `", error_description="` + description + `"`
	}
	return c
}

func unauthorized(reason, challenge, format string, args ...any) *Refusal {
	return &Refusal{Status: http.StatusUnauthorized, Challenge: challenge,
		Err: jsonrpc.Errorf(jsonrpc.CodeUnauthorized, "unauthorized: "+format, args...).WithData(map[string]string{"reason": reason})}
}

var (
	refuseMissing = unauthorized(resultMissing, challenge("", ""), "this endpoint needs an API key: %s", keyHowTo)
	refuseUnknown = unauthorized(resultUnknown, challenge("invalid_token", "unknown API key"), "unknown API key")
	refuseRevoked = unauthorized(resultRevoked, challenge("invalid_token", "API key revoked"), "this API key was revoked")
	refuseTwoKeys = unauthorized("conflict", challenge("invalid_request", "two different API keys"),
		"the request carries two different API keys (path, Authorization, X-Api-Key): send one")
)

// refuseUnavailable: the key store has not been read yet, so a key braid
// does not know may be valid.
var refuseUnavailable = &Refusal{Status: http.StatusServiceUnavailable, RetryAfter: time.Second,
	Err: jsonrpc.Errorf(jsonrpc.CodeUnavailable, "cannot check API keys yet: the key store is unreachable; try again shortly").
		WithData(map[string]string{"reason": resultUnavailable})}

func refuseForbidden(network string) *Refusal {
	return &Refusal{Status: http.StatusForbidden,
		Err: jsonrpc.Errorf(jsonrpc.CodeUnauthorized, "forbidden: this API key is not valid for network %q", network).
			WithData(map[string]string{"reason": resultForbidden})}
}

// limitData is the data member of a -32005 refusal: which limit, and
// when it resets.
type limitData struct {
	Limit      string `json:"limit"`
	Scope      string `json:"scope"` // "key" or "client" (the address)
	RetryAfter int    `json:"retry_after"`
	Reset      string `json:"reset,omitempty"` // RFC 3339, UTC
}

// limited is the 429 of a refusing verdict.
func limited(v verdict, l Limits, c config.ClientLimits) *Refusal {
	scope, what := "key", "this API key's"
	if v.limit == LimitClientRPS || v.limit == LimitClientQuota {
		scope, what = "client", "your address's"
	}
	var msg string
	switch v.limit {
	case LimitRPS:
		msg = fmt.Sprintf("%s rate of %g calls per second (burst %d)", what, l.RPS, l.Burst)
	case LimitClientRPS:
		msg = fmt.Sprintf("%s rate of %g calls per second (burst %d)", what, c.RPS, c.Burst)
	case LimitQuota:
		msg = fmt.Sprintf("%s daily quota of %d credits is spent", what, l.DailyQuota)
	case LimitClientQuota:
		msg = fmt.Sprintf("%s daily quota of %d credits is spent", what, c.DailyQuota)
	}
	reset := ceilSecond(v.reset).UTC().Format(time.RFC3339)
	e := jsonrpc.Errorf(jsonrpc.CodeLimitExceeded, "limit exceeded: %s; retry after %s", msg, reset).WithData(limitData{
		Limit: v.limit, Scope: scope, RetryAfter: retrySeconds(v.retry), Reset: reset,
	})
	return &Refusal{Status: http.StatusTooManyRequests, Err: e, RetryAfter: v.retry}
}

// ceilSecond rounds t up to a whole second, as a reset is shown.
func ceilSecond(t time.Time) time.Time {
	if s := t.Truncate(time.Second); s.Before(t) {
		return s.Add(time.Second)
	}
	return t
}
