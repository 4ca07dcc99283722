package access

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/braidrpc/braid/internal/await"
	"github.com/braidrpc/braid/internal/clock"
	"github.com/braidrpc/braid/internal/config"
	"github.com/braidrpc/braid/internal/redistest"
)

func TestIdentify(t *testing.T) {
	appKey, mainKey := NewKey(), NewKey()
	revokedRec, revokedKey := record("gone")
	path := t.TempDir() + "/keys.json"
	fs := NewFileStore(path)
	if err := fs.Add(context.Background(), revokedRec); err != nil {
		t.Fatal(err)
	}
	if _, err := fs.Revoke(context.Background(), "gone", start); err != nil {
		t.Fatal(err)
	}
	cfg := testConfig(t, config.Auth{Required: true, Networks: []string{"mainnet"}, Store: config.KeyStoreFile, File: path},
		config.APIKey{Name: "app", Key: appKey},
		config.APIKey{Name: "main-only", Hash: config.HashAPIKey(mainKey), Networks: []string{"mainnet"}})
	reg := prometheus.NewRegistry()
	c, _ := newControl(t, cfg, Options{Registry: reg})
	tests := []struct {
		network, key string
		status       int
		name         string
	}{
		{"mainnet", appKey, 0, "app"},
		{"sepolia", appKey, 0, "app"},
		{"mainnet", mainKey, 0, "main-only"},
		{"sepolia", mainKey, http.StatusForbidden, ""},
		{"mainnet", "", http.StatusUnauthorized, ""},
		{"sepolia", "", 0, ""}, // not required there: anonymous
		{"mainnet", NewKey(), http.StatusUnauthorized, ""},
		{"sepolia", NewKey(), http.StatusUnauthorized, ""}, // a wrong key is refused even where none is needed
		{"mainnet", revokedKey, http.StatusUnauthorized, ""},
	}
	for i, tt := range tests {
		caller, ref := c.Identify(tt.network, tt.key, "10.0.0.1")
		if tt.status == 0 {
			if ref != nil || caller.Name() != tt.name || caller.Client != "10.0.0.1" {
				t.Errorf("case %d: %+v, %+v; want caller %q", i, caller, ref, tt.name)
			}
			continue
		}
		if ref == nil || ref.Status != tt.status {
			t.Errorf("case %d: %+v, want status %d", i, ref, tt.status)
			continue
		}
		body := ref.Err.Message + string(ref.Err.Data)
		if tt.key != "" && strings.Contains(body, tt.key) {
			t.Errorf("case %d: the refusal shows the key: %s", i, body)
		}
	}
	for result, want := range map[string]float64{"ok": 3, "forbidden": 1, "missing": 1, "anonymous": 1, "unknown": 2, "revoked": 1} {
		if got := counterSum(t, reg, "braid_auth_requests_total", "result", result); got != want {
			t.Errorf("braid_auth_requests_total{result=%q} = %v, want %v", result, got, want)
		}
	}
}

// TestCharge: a key over its rate or quota gets 429 and -32005 with data
// naming the limit and its reset; the per-address limits apply to
// anonymous callers (and to keyed ones only with clients.keyed).
func TestCharge(t *testing.T) {
	key := NewKey()
	cfg := testConfig(t, config.Auth{Clients: config.ClientLimits{RPS: 1, Burst: 2}},
		config.APIKey{Name: "app", Key: key, KeyLimits: config.KeyLimits{RPS: 10, Burst: 3, DailyQuota: 100}})
	c, fake := newControl(t, cfg, Options{})
	ctx := context.Background()
	app, _ := c.Identify("mainnet", key, "10.0.0.1")
	anon, _ := c.Identify("mainnet", "", "10.0.0.1")

	if ref := c.Charge(ctx, app, []string{"eth_call", "eth_call", "eth_chainId"}); ref != nil {
		t.Fatalf("a batch within the burst: %+v", ref.Err)
	}
	ref := c.Charge(ctx, app, []string{"eth_call"})
	if ref == nil || ref.Status != http.StatusTooManyRequests || ref.Err.Code != -32005 || ref.RetryAfter != 100*time.Millisecond {
		t.Fatalf("over the burst: %+v", ref)
	}
	var data limitData
	if err := json.Unmarshal(ref.Err.Data, &data); err != nil {
		t.Fatal(err)
	}
	if data != (limitData{Limit: "rps", Scope: "key", RetryAfter: 1, Reset: "2026-03-04T12:00:01Z"}) {
		t.Errorf("data = %+v", data)
	}
	h := http.Header{}
	ref.SetHeaders(h)
	if h.Get("Retry-After") != "1" {
		t.Errorf("Retry-After %q", h.Get("Retry-After"))
	}
	// The keyed caller was not counted against the address: anonymous
	// calls from it still have their burst of 2.
	for i := range 2 {
		if ref := c.Charge(ctx, anon, []string{"eth_blockNumber"}); ref != nil {
			t.Fatalf("anonymous call %d: %v", i+1, ref.Err)
		}
	}
	if ref := c.Charge(ctx, anon, []string{"eth_blockNumber"}); ref == nil || !strings.Contains(string(ref.Err.Data), `"limit":"client_rps","scope":"client"`) {
		t.Fatalf("anonymous over the address's rate: %+v", ref)
	}
	// Quota: 100 credits; 40 spent (two eth_call); 75 more is too much.
	fake.Advance(time.Second)
	ref = c.Charge(ctx, app, []string{"eth_getLogs"})
	if ref == nil || !strings.Contains(string(ref.Err.Data), `"limit":"quota","scope":"key","retry_after":43199,"reset":"2026-03-05T00:00:00Z"`) {
		t.Fatalf("over the quota: %+v", ref)
	}
	if !strings.Contains(ref.Err.Message, "daily quota of 100 credits") {
		t.Errorf("message: %s", ref.Err.Message)
	}
}

// TestRevokeAcrossReplicas: two replicas sharing keys in Redis; a key
// revoked through one store stops working on both within a second of
// their clocks (four reloads).
func TestRevokeAcrossReplicas(t *testing.T) {
	srv := redistest.Start(t)
	cfg := testConfig(t, config.Auth{Required: true, Store: config.KeyStoreRedis})
	rec, key := record("app")
	admin := NewRedisStore(newLink(t, srv.URL()))
	if err := admin.Add(context.Background(), rec); err != nil {
		t.Fatal(err)
	}
	fake := clock.NewFake(start)
	var replicas []*Control
	for range 2 {
		c, _ := newControl(t, cfg, Options{Link: newLink(t, srv.URL()), Clock: fake})
		replicas = append(replicas, c)
	}
	for i, c := range replicas {
		if _, ref := c.Identify("mainnet", key, ""); ref != nil {
			t.Fatalf("replica %d refuses a stored key: %v", i, ref.Err)
		}
	}
	var changes atomic.Int64
	for _, c := range replicas {
		c.OnKeysChange(func() { changes.Add(1) })
	}
	if _, err := admin.Revoke(context.Background(), "app", start); err != nil {
		t.Fatal(err)
	}
	for step := 0; ; step++ {
		refused := 0
		for _, c := range replicas {
			if _, ref := c.Identify("mainnet", key, ""); ref != nil && ref.Status == http.StatusUnauthorized {
				refused++
			}
		}
		if refused == 2 {
			break
		}
		if step == 4 {
			t.Fatalf("after 1s of reloads %d of 2 replicas refuse the revoked key", refused)
		}
		// Both reload loops wait on the clock: a quarter second passes.
		await.Until(t, "the reload loops waiting", func() bool { return fake.Waiters() >= 2 })
		fake.Advance(reloadEvery)
		await.Until(t, "the reload loops finished", func() bool { return fake.Waiters() >= 2 })
	}
	if changes.Load() != 2 {
		t.Errorf("%d key changes seen, want one on each replica", changes.Load())
	}
}

// counterSum adds the values of the counter name's series whose label is
// value.
func counterSum(t *testing.T, reg *prometheus.Registry, name, label, value string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	sum := 0.0
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == label && l.GetValue() == value {
					sum += m.GetCounter().GetValue()
				}
			}
		}
	}
	return sum
}
