package ledger

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/braidrpc/braid/internal/history"
	"github.com/braidrpc/braid/internal/peers"
)

// TestHandler: /status/peers lists balances best first with their flows
// by age bucket, audits and the rarity of held content; limit and peer
// select; bad input is a 4xx, other methods 405.
func TestHandler(t *testing.T) {
	e := newEnv(t, Config{})
	l := e.l
	e.give(id(1), 100)
	e.give(id(2), 900)
	e.take(id(3), 50)
	l.recordAudit(Audit{Peer: id(2), Outcome: Passed})
	l.recordAudit(Audit{Peer: id(3), Outcome: Missing})
	l.OnStored(history.Event{Hash: key(peers.Body, 7).Hash, Number: 7, Parts: history.AllParts})
	h := l.Handler()
	get := func(url string) (*httptest.ResponseRecorder, statusPage) {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, url, nil))
		var page statusPage
		if rec.Code == http.StatusOK {
			if err := json.Unmarshal(rec.Body.Bytes(), &page); err != nil {
				t.Fatalf("%s: %v", url, err)
			}
		}
		return rec, page
	}
	rec, page := get("/status/peers")
	if rec.Code != 200 || rec.Header().Get("Content-Type") != "application/json" {
		t.Fatalf("status %d %q", rec.Code, rec.Header())
	}
	if page.PeersTotal != 3 || len(page.Peers) != 3 || page.Peers[0].ID != id(2).String() || page.Peers[2].ID != id(3).String() {
		t.Fatalf("peers %+v", page.Peers)
	}
	if page.Peers[0].Received[1].Bytes != 900 || page.Peers[0].AuditsPassed != 1 || page.Peers[2].AuditsFailed != 1 {
		t.Fatalf("flows or audits %+v", page.Peers)
	}
	if page.Audits["passed"] != 1 || page.Audits["missing"] != 1 || page.Held.Buckets[3].Blocks != 1 || len(page.AgeBuckets) != 6 {
		t.Fatalf("page %+v", page)
	}
	if _, page := get("/status/peers?limit=1"); len(page.Peers) != 1 || page.PeersTotal != 3 {
		t.Fatalf("limit: %+v", page)
	}
	if _, page := get("/status/peers?peer=" + id(3).String()); len(page.Peers) != 1 || page.Peers[0].Balance >= 0 {
		t.Fatalf("one peer: %+v", page.Peers)
	}
	for url, code := range map[string]int{
		"/status/peers?limit=-1":                400,
		"/status/peers?limit=x":                 400,
		"/status/peers?peer=nope":               400,
		"/status/peers?peer=" + id(42).String(): 404,
	} {
		if rec, _ := get(url); rec.Code != code {
			t.Errorf("%s: %d, want %d", url, rec.Code, code)
		}
	}
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/status/peers", nil))
	if rec.Code != http.StatusMethodNotAllowed || rec.Header().Get("Allow") == "" {
		t.Fatalf("POST: %d", rec.Code)
	}
}
