package server

import (
	"net/http/httptest"
	"testing"

	"github.com/braidrpc/braid/internal/gateway"
	"github.com/braidrpc/braid/internal/jsonrpc"
)

func TestReportKeepsTheWeakestQuorumAndAllCached(t *testing.T) {
	var r report
	a, b, c := &jsonrpc.Response{}, &jsonrpc.Response{}, &jsonrpc.Response{}
	r.note(gateway.Result{Response: a, Cached: true, Agreed: 2, K: 3})
	r.note(gateway.Result{Response: b, Cached: true, Agreed: 1, K: 2}) // weaker: 1/2 < 2/3
	r.note(gateway.Result{Response: c, Agreed: 3, K: 4})
	w := httptest.NewRecorder()
	r.headers(w, a, b, c)
	if got := w.Header().Get("Braid-Quorum"); got != "1/2" {
		t.Fatalf("Braid-Quorum %q, want 1/2", got)
	}
	if got := w.Header().Get("Braid-Cache"); got != "miss" {
		t.Fatalf("Braid-Cache %q with one answer not from the cache", got)
	}
	w = httptest.NewRecorder()
	r.headers(w, a, b)
	if got := w.Header().Get("Braid-Cache"); got != "hit" {
		t.Fatalf("Braid-Cache %q with every answer from the cache", got)
	}
	var none report
	w = httptest.NewRecorder()
	none.headers(w)
	if w.Header().Get("Braid-Quorum") != "" || w.Header().Get("Braid-Cache") != "miss" {
		t.Fatalf("no answers: %v", w.Header())
	}
}
