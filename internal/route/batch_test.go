package route

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/braidrpc/braid/internal/clock"
	"github.com/braidrpc/braid/internal/config"
	"github.com/braidrpc/braid/internal/upstream"
)

// echoBatch answers every member of a batch with its method name; with
// refuse it answers a batch as a node that takes none does.
func echoBatch(refuse bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		var one struct {
			ID     json.RawMessage `json:"id"`
			Method string          `json:"method"`
		}
		if json.Unmarshal(b, &one) == nil {
			io.WriteString(w, `{"jsonrpc":"2.0","id":`+string(one.ID)+`,"result":"0x1"}`)
			return
		}
		if refuse {
			io.WriteString(w, `{"jsonrpc":"2.0","id":null,"error":{"code":-32600,"message":"batch requests are not supported"}}`)
			return
		}
		var reqs []struct {
			ID     json.RawMessage `json:"id"`
			Method string          `json:"method"`
		}
		_ = json.Unmarshal(b, &reqs)
		out := make([]map[string]any, len(reqs))
		for i, q := range reqs {
			out[len(reqs)-1-i] = map[string]any{"jsonrpc": "2.0", "id": q.ID, "result": q.Method} // out of order
		}
		_ = json.NewEncoder(w).Encode(out)
	}
}

// TestBatchCall: a Call with a Batch goes to one upstream as one batch,
// its answers come back in order, and an upstream that refuses batches
// is passed over without counting against it.
func TestBatchCall(t *testing.T) {
	c := clock.NewFake(time.Unix(1000, 0))
	var ups []*upstream.Upstream
	for i, refuse := range []bool{true, false} {
		srv := httptest.NewServer(echoBatch(refuse))
		t.Cleanup(srv.Close)
		u := upstream.New(config.Upstream{Name: "u" + string(rune('1'+i)), Operator: "op" + string(rune('1'+i)), URL: srv.URL, Timeout: 2 * time.Second},
			upstream.Options{Network: "test", Clock: c})
		if err := u.Verify(context.Background(), 1); err != nil {
			t.Fatal(err)
		}
		u.Health().Success("", time.Duration(i+1)*time.Millisecond) // u1 first
		ups = append(ups, u)
	}
	r := New(ups, Options{Network: "test", MaxAttempts: 4, Clock: c, ProbeShare: -1})
	res, err := r.Do(context.Background(), Call{Method: "eth_getProof", Batch: []upstream.BatchCall{
		{Method: "eth_getProof", Params: json.RawMessage(`[]`)}, {Method: "eth_getCode", Params: json.RawMessage(`[]`)}}})
	if err != nil {
		t.Fatal(err)
	}
	if res.Upstream != ups[1] || len(res.Batch) != 2 || string(res.Batch[0].Result) != `"eth_getProof"` || string(res.Batch[1].Result) != `"eth_getCode"` {
		t.Fatalf("answered by %s: %+v", res.Upstream.Name, res.Batch)
	}
	if s := ups[0].Health().Snapshot(""); s.Failures != 0 || ups[0].Breaker().State() != upstream.BreakerClosed {
		t.Errorf("the upstream that takes no batches was counted against: %+v", s)
	}
}

// TestBatchRefusedEverywhere: when every upstream refuses a batch, the
// Failure says so (a smaller batch or single calls may pass); a failure
// for another reason does not.
func TestBatchRefusedEverywhere(t *testing.T) {
	c := clock.NewFake(time.Unix(1000, 0))
	build := func(h http.HandlerFunc) *Router {
		var ups []*upstream.Upstream
		for i := range 2 {
			srv := httptest.NewServer(h)
			t.Cleanup(srv.Close)
			u := upstream.New(config.Upstream{Name: "u" + string(rune('1'+i)), Operator: "op" + string(rune('1'+i)), URL: srv.URL, Timeout: 2 * time.Second},
				upstream.Options{Network: "test", Clock: c})
			if err := u.Verify(context.Background(), 1); err != nil {
				t.Fatal(err)
			}
			ups = append(ups, u)
		}
		// Two attempts, one per upstream: no retry round waits on the clock.
		return New(ups, Options{Network: "test", MaxAttempts: 2, Clock: c, ProbeShare: -1})
	}
	batch := Call{Method: "eth_getProof", Batch: []upstream.BatchCall{
		{Method: "eth_getProof", Params: json.RawMessage(`[]`)}, {Method: "eth_getCode", Params: json.RawMessage(`[]`)}}}
	_, err := build(echoBatch(true)).Do(context.Background(), batch)
	var f *Failure
	if !errors.As(err, &f) || !f.BatchRefused() {
		t.Fatalf("every upstream refused the batch: err = %v", err)
	}
	_, err = build(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		if len(b) > 0 && b[0] == '[' {
			w.WriteHeader(http.StatusBadGateway)
			return
		}
		io.WriteString(w, `{"jsonrpc":"2.0","id":1,"result":"0x1"}`)
	}).Do(context.Background(), batch)
	if !errors.As(err, &f) || f.BatchRefused() {
		t.Fatalf("upstreams failing with 502 refused no batch: err = %v", err)
	}
}
