package upstream

import (
	"context"
	"errors"
	"net/http"
	"net/url"

	"github.com/braidrpc/braid/internal/clock"
	"github.com/braidrpc/braid/internal/h1"
)

// plainClient is the h1 client for an http:// URL that proxyOf gives no
// proxy for (http.ProxyFromEnvironment, as the net/http transport asks),
// or nil: https, proxied and unusual URLs keep net/http's
// client (TLS, HTTP/2, proxies).
func plainClient(target *url.URL, maxIdle int, clk clock.Clock, proxyOf func(*http.Request) (*url.URL, error)) *h1.Client {
	if target == nil || target.Scheme != "http" {
		return nil
	}
	if proxy, err := proxyOf(&http.Request{URL: target}); err != nil || proxy != nil {
		return nil
	}
	c, err := h1.New(target, h1.Config{MaxIdle: maxIdle, Clock: clk})
	if err != nil {
		return nil
	}
	return c
}

// postPlain is post over the h1 client: the same answers and the same
// error kinds as over net/http's, except that a redirect is a status
// error rather than followed.
func (u *Upstream) postPlain(ctx context.Context, body []byte) ([]byte, error) {
	res, err := u.plain.Post(ctx, body, u.maxResp)
	switch {
	case errors.Is(err, h1.ErrTooLarge):
		return nil, &AttemptError{Upstream: u.Name, Kind: ErrTooLarge}
	case errors.Is(err, h1.ErrEncoding):
		return nil, &AttemptError{Upstream: u.Name, Kind: ErrBadResponse, Err: u.redactErr(err)}
	case err != nil:
		return nil, u.transportError(ctx, err)
	}
	if res.StatusCode != http.StatusOK {
		return nil, u.statusError(res.StatusCode, res.RetryAfter)
	}
	return res.Body, nil
}

// statusError is the attempt error for a non-200 answer.
func (u *Upstream) statusError(status int, retryAfter string) *AttemptError {
	ae := &AttemptError{Upstream: u.Name, Kind: ErrHTTPStatus, Status: status}
	if status == http.StatusTooManyRequests {
		ae.Kind = ErrThrottled
		ae.RetryAfter = parseRetryAfter(retryAfter, u.clock.Now())
	}
	return ae
}
