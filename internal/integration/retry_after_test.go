package integration

import (
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/braidrpc/braid/internal/devnet"
)

// frontLog records the HTTP requests that reach one provider through a
// proxy in front of it: when each arrived, and when and with which status
// each was answered. The devnet's Requests() cannot show this: it does not
// count requests turned away with a status.
type frontLog struct {
	mu       sync.Mutex
	arrivals []time.Time
	answers  []frontAnswer
}

type frontAnswer struct {
	at     time.Time
	status int
}

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(code int) {
	if r.status == 0 {
		r.status = code
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *statusRecorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	return r.ResponseWriter.Write(b)
}

// front starts a recording proxy (on 127.0.0.1) in front of p and returns
// its URL.
func (f *frontLog) front(t testing.TB, p *devnet.Provider) string {
	t.Helper()
	target, err := url.Parse(p.URL)
	if err != nil {
		t.Fatal(err)
	}
	proxy := httputil.NewSingleHostReverseProxy(target)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		f.arrivals = append(f.arrivals, time.Now())
		f.mu.Unlock()
		rec := &statusRecorder{ResponseWriter: w}
		proxy.ServeHTTP(rec, r)
		f.mu.Lock()
		f.answers = append(f.answers, frontAnswer{at: time.Now(), status: rec.status})
		f.mu.Unlock()
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

// TestRetryAfterIsHonouredByHeadPolls: a provider answering 429 with
// Retry-After: 1 must not be sent another request for that second, by any
// part of braid. With no client load, the only traffic braid sends a
// provider is its head polls (every 100 ms here), so each request that
// arrives within a second of a 429 was sent against the provider's
// Retry-After.
func TestRetryAfterIsHonouredByHeadPolls(t *testing.T) {
	const (
		observe = 3 * time.Second
		// grace leaves out requests already on their way when the 429 was
		// written; slack allows for timer coarseness at the window's end.
		grace = 20 * time.Millisecond
		slack = 100 * time.Millisecond
	)
	var log frontLog
	s := newLiveStackWith(t, liveOptions{hedge: true, front: func(p *devnet.Provider) string {
		if p.Name != "p4" {
			return p.URL
		}
		return log.front(t, p)
	}})
	limited := s.dn.Provider("p4")
	limited.SetFaults(devnet.Faults{HTTPStatus: http.StatusTooManyRequests}) // the devnet adds Retry-After: 1
	time.Sleep(observe)
	limited.SetFaults(devnet.Faults{})

	log.mu.Lock()
	defer log.mu.Unlock()
	var limits []time.Time
	for _, a := range log.answers {
		if a.status == http.StatusTooManyRequests {
			limits = append(limits, a.at)
		}
	}
	if len(limits) == 0 {
		t.Fatalf("no request reached %s while it answered 429: the test proved nothing", limited.Name)
	}
	var early []string
	for _, arr := range log.arrivals {
		for _, l := range limits {
			if arr.After(l.Add(grace)) && arr.Before(l.Add(time.Second-slack)) {
				early = append(early, arr.Sub(l).Round(time.Millisecond).String()+" after a 429")
				break
			}
		}
	}
	t.Logf("%s answered %d requests with 429 (Retry-After: 1) in %s without client load; %d requests arrived within a second of a 429",
		limited.Name, len(limits), observe, len(early))
	if len(early) > 0 {
		if len(early) > exampleCap {
			early = early[:exampleCap]
		}
		t.Errorf("braid kept sending %s requests during its Retry-After (head polls: no client load ran); first ones: %v",
			limited.Name, early)
	}
}
