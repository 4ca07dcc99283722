package integration

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
)

// batchCap is a proxy in front of a provider that takes JSON-RPC batches
// of at most max calls, as providers configure (Erigon's default
// rpc.batch.limit is 100, some hosted plans take 10 or none): a larger
// batch gets what the node answers, go-ethereum's single "batch too
// large" member (style "geth") or one error object (style "object").
type batchCap struct {
	max     int
	style   string
	refused atomic.Int64
}

func (c *batchCap) front(t testing.TB, target string) string {
	client := &http.Client{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		var batch []json.RawMessage
		if bytes.HasPrefix(bytes.TrimSpace(body), []byte("[")) && json.Unmarshal(body, &batch) == nil && len(batch) > c.max {
			c.refused.Add(1)
			var first struct {
				ID json.RawMessage `json:"id"`
			}
			_ = json.Unmarshal(batch[0], &first)
			w.Header().Set("Content-Type", "application/json")
			msg := fmt.Sprintf(`{"jsonrpc":"2.0","id":%s,"error":{"code":-32600,"message":"batch too large"}}`, first.ID)
			if c.style == "geth" {
				msg = "[" + msg + "]"
			} else {
				msg = fmt.Sprintf(`{"jsonrpc":"2.0","id":null,"error":{"code":-32600,"message":"batch limit %d exceeded"}}`, c.max)
			}
			_, _ = io.WriteString(w, msg)
			return
		}
		req, _ := http.NewRequestWithContext(r.Context(), r.Method, target, bytes.NewReader(body))
		req.Header = r.Header.Clone()
		resp, err := client.Do(req)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		defer resp.Body.Close()
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(resp.StatusCode)
		_, _ = io.Copy(w, resp.Body)
	}))
	t.Cleanup(srv.Close)
	t.Cleanup(client.CloseIdleConnections)
	return srv.URL
}

// TestLocalEVMUnderBatchCaps: every provider takes batches of at most a
// few calls (fewer than a 10-token multicall's proofs and code), or none
// at all, answering a larger one as go-ethereum does (one "batch too
// large" member) or as other nodes do (one error object). The local EVM
// still answers what the chain does, no provider is counted as failed for
// its batch limit, and once braid has learned the limit a multicall on a
// new block is proven in batches it takes, with nothing left to fetch on
// demand.
func TestLocalEVMUnderBatchCaps(t *testing.T) {
	for _, tc := range []struct {
		style string
		max   int
	}{{"geth", 4}, {"object", 4}, {"object", 0}} {
		t.Run(fmt.Sprintf("%s-%d", tc.style, tc.max), func(t *testing.T) {
			caps := &batchCap{max: tc.max, style: tc.style}
			e := newEVMEnvFront(t, 0, func(u string) string { return caps.front(t, u) })
			head := e.s.tip().Latest.Number
			for _, c := range evmCases(t, e, head) {
				for _, m := range []string{"eth_call", "eth_estimateGas"} {
					params := []any{c.call, "latest"}
					if c.state != nil {
						params = append(params, c.state)
					}
					if c.overrides != nil {
						params = append(params, c.overrides)
					}
					got := call(t, e.s.rpc, m, params...)
					want := call(t, e.s.dn.RPC(), m, params...)
					if got.String() != want.String() {
						t.Errorf("%s %s: braid answers\n%s\nthe chain says\n%s", c.name, m, got, want)
					}
				}
			}
			if caps.refused.Load() == 0 {
				t.Fatal("no batch over the cap was sent: the test tests nothing")
			}
			// A new block: the multicall's state is proven afresh.
			if _, err := e.s.dn.Step(context.Background()); err != nil {
				t.Fatal(err)
			}
			e.waitTip(t)
			multicall := map[string]any{"to": e.multicall, "data": e.multicallOf(t, e.s.user)}
			misses := evmMisses(t, e.s.reg)
			got, want := call(t, e.s.rpc, "eth_call", multicall, "latest"), call(t, e.s.dn.RPC(), "eth_call", multicall, "latest")
			if got.String() != want.String() {
				t.Errorf("multicall on a new block: braid answers %s, the chain %s", got, want)
			}
			if d := evmMisses(t, e.s.reg) - misses; d != 0 {
				t.Errorf("multicall on a new block fetched %v times on demand: its prefetch did not pass the batch limit", d)
			}
			for _, u := range e.s.gw.Status().Networks[0].Upstreams {
				if u.Failures > 0 {
					t.Errorf("upstream %s counted %d failures for its batch limit", u.Name, u.Failures)
				}
			}
		})
	}
}

// evmMisses is braid_evm_round_trips_total{kind="misses"}, summed: the
// local EVM's fetches on demand, after the prefetch.
func evmMisses(t testing.TB, reg *prometheus.Registry) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	sum := 0.0
	for _, mf := range mfs {
		if mf.GetName() != "braid_evm_round_trips_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "kind" && l.GetValue() == "misses" {
					sum += m.GetCounter().GetValue()
				}
			}
		}
	}
	return sum
}
