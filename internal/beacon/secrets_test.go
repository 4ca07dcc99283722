package beacon_test

import (
	"bytes"
	"encoding/json"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/prometheus/common/expfmt"

	"github.com/braidrpc/braid/internal/await"
	"github.com/braidrpc/braid/internal/beacon"
)

// recorder keeps the header values one beacon API received.
type recorder struct {
	mu     sync.Mutex
	values []string
}

func (r *recorder) wrap(next http.Handler, base, key string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		r.mu.Lock()
		for _, vs := range req.Header {
			r.values = append(r.values, vs...)
		}
		r.mu.Unlock()
		if !strings.HasPrefix(req.URL.Path, base) || req.URL.Query().Get("apikey") != key {
			http.Error(w, "no key", http.StatusUnauthorized)
			return
		}
		http.StripPrefix(base, next).ServeHTTP(w, req)
	})
}

func (r *recorder) saw(s string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, v := range r.values {
		if strings.Contains(v, s) {
			return true
		}
	}
	return false
}

// TestSecretsStayWithTheirEndpoint: each endpoint gets only its own
// headers, and no URL path, query, userinfo or header value shows in logs,
// status or metrics, even from an endpoint that cannot be reached.
func TestSecretsStayWithTheirEndpoint(t *testing.T) {
	recs := []*recorder{{}, {}}
	h := newHarness(t, options{apis: 2, wrap: func(i int, next http.Handler) http.Handler {
		return recs[i].wrap(next, "/v1/PATHSECRET"+string(rune('A'+i)), "QUERYSECRET"+string(rune('A'+i)))
	}})
	cfg := h.config()
	secrets := []string{"alice-user", "hunter2pass", "PATHSECRET", "QUERYSECRET", "HEADERSECRET-A", "TOKENSECRET-B", "DEADSECRET"}
	for i := range cfg.APIs {
		host := strings.TrimPrefix(h.urls[i], "http://")
		cfg.APIs[i].URL = "http://alice-user:hunter2pass@" + host + "/v1/PATHSECRET" + string(rune('A'+i)) + "?apikey=QUERYSECRET" + string(rune('A'+i))
	}
	cfg.APIs[0].Headers = map[string]string{"X-Api-Key": "HEADERSECRET-A"}
	cfg.APIs[1].Headers = map[string]string{"Authorization": "Bearer TOKENSECRET-B"}
	// A third endpoint nobody listens on: its errors carry its URL.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := ln.Addr().String()
	ln.Close()
	cfg.APIs = append(cfg.APIs, beacon.Endpoint{URL: "http://" + dead + "/DEADSECRET/x?apikey=DEADSECRET", Headers: map[string]string{"X-Key": "DEADSECRET"}})

	c := h.start(cfg)
	for range 3 {
		h.nextSlot()
		h.waitHead(c, h.feed())
	}
	await.Until(t, "the dead endpoint's error", func() bool { return c.Status().Endpoints[2].LastError != "" })
	if recs[0].saw("TOKENSECRET-B") || recs[1].saw("HEADERSECRET-A") {
		t.Fatal("one endpoint's header reached another")
	}
	if !recs[0].saw("HEADERSECRET-A") || !recs[1].saw("TOKENSECRET-B") {
		t.Fatal("an endpoint did not get its own header")
	}

	status, _ := json.Marshal(c.Status())
	var metrics bytes.Buffer
	mfs, _ := h.reg.Gather()
	for _, mf := range mfs {
		_, _ = expfmt.MetricFamilyToText(&metrics, mf)
	}
	for _, where := range []struct{ name, text string }{{"logs", h.logs.String()}, {"status", string(status)}, {"metrics", metrics.String()}} {
		for _, s := range secrets {
			if strings.Contains(where.text, s) {
				t.Errorf("%s contain %q", where.name, s)
			}
		}
	}
	if !strings.Contains(string(status), dead) {
		t.Errorf("status does not name the dead endpoint by host: %s", status)
	}
}
