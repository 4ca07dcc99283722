package upstream

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/url"
	"time"
)

// target parses rawURL once, as http.NewRequest would for every call; nil
// when it does not parse (config validation refuses such a URL).
func target(rawURL string) *url.URL {
	req, err := http.NewRequest(http.MethodPost, rawURL, nil)
	if err != nil {
		return nil
	}
	return req.URL
}

// newPost is the POST of body to the upstream, from its URL parsed once
// (the transport and the client only read it, so every call shares it).
// Host is left empty: the request goes to the URL's host, and the client
// then has no Host to copy the URL for.
func (u *Upstream) newPost(ctx context.Context, body []byte) *http.Request {
	req := http.Request{
		Method:     http.MethodPost,
		URL:        u.target,
		Proto:      "HTTP/1.1",
		ProtoMajor: 1,
		ProtoMinor: 1,
		Header: http.Header{
			"Content-Type": jsonHeader, // shared: the transport only reads them
			"Accept":       jsonHeader,
		},
		// A *bytes.Reader under io.NopCloser is a body net/http knows is in
		// memory: it writes it with the headers in one write, where another
		// type would make it flush the headers first.
		Body: io.NopCloser(bytes.NewReader(body)),
		GetBody: func() (io.ReadCloser, error) { // a request retried on a fresh connection sends it again
			return io.NopCloser(bytes.NewReader(body)), nil
		},
		ContentLength: int64(len(body)),
	}
	return req.WithContext(ctx)
}

var jsonHeader = []string{"application/json"}

// callContext bounds one call by the upstream's timeout. When ctx already
// ends sooner (the request's own deadline, usually) that bound is ctx's,
// and no second timer is set. Deadlines are wall-clock times, as the
// context's own timer reads them.
func (u *Upstream) callContext(ctx context.Context) (context.Context, context.CancelFunc) {
	if dl, ok := ctx.Deadline(); ok && time.Until(dl) <= u.timeout {
		return ctx, func() {}
	}
	return context.WithTimeout(ctx, u.timeout)
}
