package upstream

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/braidrpc/braid/internal/config"
)

// The request built from the URL parsed once reaches the same place with
// the same headers as one built by http.NewRequest per call would.
func TestCallRequestFromParsedURL(t *testing.T) {
	type seen struct {
		uri, host, ctype, accept, user, pass string
		auth                                 bool
	}
	got := make(chan seen, 1)
	u := newTestUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		s := seen{uri: r.RequestURI, host: r.Host, ctype: r.Header.Get("Content-Type"), accept: r.Header.Get("Accept")}
		s.user, s.pass, s.auth = r.BasicAuth()
		got <- s
		io.WriteString(w, `{"jsonrpc":"2.0","id":1,"result":"0x1"}`)
	}, func(c *config.Upstream) {
		c.URL = strings.Replace(c.URL, "http://", "http://alice:s3cret@", 1)
	})
	for range 2 { // the second call shares the first one's parsed URL
		if _, err := u.Call(context.Background(), "eth_x", nil); err != nil {
			t.Fatal(err)
		}
		s := <-got
		if s.uri != "/v3/SECRETKEY?apikey=SECRETKEY" || s.host != u.target.Host {
			t.Fatalf("request went to %q on host %q", s.uri, s.host)
		}
		if s.ctype != "application/json" || s.accept != "application/json" {
			t.Fatalf("Content-Type %q, Accept %q", s.ctype, s.accept)
		}
		if !s.auth || s.user != "alice" || s.pass != "s3cret" {
			t.Fatalf("basic auth from the URL's user info: %v %q %q", s.auth, s.user, s.pass)
		}
	}
	if u.target.User.Username() != "alice" || u.target.Host == "" {
		t.Fatalf("the shared URL was changed: %s", u.RedactedURL())
	}
}

// A request the transport must send again (its reused connection was
// found closed before anything was written) gets its whole body again.
func TestPostBodyCanBeSentAgain(t *testing.T) {
	u := New(config.Upstream{Name: "u1", Operator: "op", URL: "http://127.0.0.1:1/x"}, Options{})
	body := []byte(`{"jsonrpc":"2.0","id":1,"method":"eth_x"}`)
	req := u.newPost(context.Background(), body)
	if req.ContentLength != int64(len(body)) {
		t.Fatalf("Content-Length %d", req.ContentLength)
	}
	first, _ := io.ReadAll(req.Body)
	if req.GetBody == nil {
		t.Fatal("no GetBody: the transport could not retry the request")
	}
	again, err := req.GetBody()
	if err != nil {
		t.Fatal(err)
	}
	second, _ := io.ReadAll(again)
	if string(first) != string(body) || string(second) != string(body) {
		t.Fatalf("bodies %q and %q, want %q", first, second, body)
	}
}

func TestUnparsableURLIsATransportError(t *testing.T) {
	u := New(config.Upstream{Name: "u1", Operator: "op", URL: "http://127.0.0.1:1/%zz-SECRET"}, Options{})
	if u.target != nil {
		t.Fatal("the URL parsed")
	}
	_, err := u.Call(context.Background(), "eth_x", nil)
	if !errors.Is(err, ErrTransport) || strings.Contains(err.Error(), "SECRET") {
		t.Fatalf("err %v", err)
	}
}

// One deadline per call: a context that already ends within the
// upstream's timeout is used as it is; otherwise the timeout bounds it.
func TestCallContextSetsOneDeadline(t *testing.T) {
	u := New(config.Upstream{Name: "u1", Operator: "op", URL: "http://127.0.0.1:1/x", Timeout: time.Minute}, Options{})
	soon, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	ctx, done := u.callContext(soon)
	done()
	if ctx != soon {
		t.Fatal("a context ending sooner than the timeout got a second deadline")
	}
	if soon.Err() != nil {
		t.Fatal("the no-op cancel ended the caller's context")
	}
	late, cancel2 := context.WithTimeout(context.Background(), time.Hour)
	defer cancel2()
	for _, parent := range []context.Context{context.Background(), late} {
		ctx, done := u.callContext(parent)
		dl, ok := ctx.Deadline()
		done()
		if !ok || time.Until(dl) > time.Minute {
			t.Fatalf("deadline %v (set: %v): the upstream's timeout does not bound the call", dl, ok)
		}
		if ctx.Err() == nil {
			t.Fatal("cancel did not end the call's own context")
		}
	}
}

// The upstream's timeout still ends a slow call when the caller's own
// deadline is later.
func TestTimeoutUnderALaterDeadline(t *testing.T) {
	release := make(chan struct{})
	u := newTestUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}, func(c *config.Upstream) { c.Timeout = 50 * time.Millisecond })
	defer close(release)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	_, err := u.Call(ctx, "eth_x", nil)
	if !errors.Is(err, ErrTimeout) {
		t.Fatalf("err %v, want a timeout", err)
	}
}
