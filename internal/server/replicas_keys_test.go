package server_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/braidrpc/braid/internal/access"
	"github.com/braidrpc/braid/internal/config"
	"github.com/braidrpc/braid/internal/redistest"
	"github.com/braidrpc/braid/internal/replica"
)

// redisLink connects to url; closed when the test ends.
func redisLink(t *testing.T, url string) *replica.Link {
	t.Helper()
	l, err := replica.NewLink(replica.LinkOptions{URL: url, Prefix: "braid", Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return l
}

// twoReplicas starts two braids sharing keys (auth.store redis) and
// limits through the Redis at url.
func twoReplicas(t *testing.T, url string, keys []config.APIKey) [2]*keyedBraid {
	t.Helper()
	var out [2]*keyedBraid
	for i := range out {
		spec := mainnet(newFake(t, "a", 1))
		cfg := keyedConfig(t, config.Auth{Required: true, Store: config.KeyStoreRedis}, keys, spec)
		cfg.Redis.URL = url
		cfg.Cache.Backend = config.CacheMemory
		out[i] = startKeyed(t, cfg, redisLink(t, url), spec)
	}
	return out
}

// TestReplicasShareKeysAndLimits: two replicas on one Redis enforce one
// rate between them, serve a key added to the shared store, and both
// refuse it within a second of reloads once it is revoked.
func TestReplicasShareKeysAndLimits(t *testing.T) {
	srv := redistest.Start(t)
	key := access.NewKey()
	rs := twoReplicas(t, srv.URL(), []config.APIKey{{Name: "app", Key: key, KeyLimits: config.KeyLimits{RPS: 1, Burst: 4}}})
	passed := 0
	for i := range 10 {
		if status, _, _ := send(t, rs[i%2].URL, blockNumberCall, bearer(key)); status == http.StatusOK {
			passed++
		}
	}
	if passed != 4 {
		t.Errorf("%d of 10 calls passed through two replicas, want one burst of 4", passed)
	}

	admin := access.NewRedisStore(redisLink(t, srv.URL()))
	stored := addStoredKey(t, admin, "stored")
	for _, r := range rs {
		reloadUntil(t, r, func() bool { s, _, _ := send(t, r.URL, blockNumberCall, apiKey(stored)); return s == http.StatusOK })
	}
	if _, err := admin.Revoke(t.Context(), "stored", keyedStart); err != nil {
		t.Fatal(err)
	}
	for _, r := range rs {
		reloadUntil(t, r, func() bool {
			s, _, _ := send(t, r.URL, blockNumberCall, apiKey(stored))
			return s == http.StatusUnauthorized
		})
	}
}

// TestLimitsRedisLoss: with Redis gone a replica still serves, counting
// limits in memory (the whole limit, on its own), with one WARN however
// many requests come; braid_limits_local says so.
func TestLimitsRedisLoss(t *testing.T) {
	srv := redistest.Start(t)
	key := access.NewKey()
	spec := mainnet(newFake(t, "a", 1))
	cfg := keyedConfig(t, config.Auth{}, []config.APIKey{{Name: "app", Key: key, KeyLimits: config.KeyLimits{RPS: 1, Burst: 3}}}, spec)
	b := startKeyed(t, cfg, redisLink(t, srv.URL()), spec)
	for range 2 {
		if status, _, _ := send(t, b.URL, blockNumberCall, bearer(key)); status != http.StatusOK {
			t.Fatal("refused within the burst")
		}
	}
	srv.Stop()
	statuses := map[int]int{}
	for range 10 {
		status, _, _ := send(t, b.URL, blockNumberCall, bearer(key))
		statuses[status]++
	}
	if statuses[http.StatusOK] != 3 || statuses[http.StatusTooManyRequests] != 7 {
		t.Errorf("with Redis gone: %v, want the whole burst of 3 served locally and 7 refused", statuses)
	}
	if n := strings.Count(b.logs.String(), `level=WARN msg="limits: redis unreachable`); n != 1 {
		t.Errorf("%d WARN lines about the limits for one outage, want 1:\n%s", n, b.logs.String())
	}
	_, metrics := doRequest(t, http.MethodGet, b.URL+"/metrics", "")
	if !strings.Contains(metrics, "\nbraid_limits_local 1\n") {
		t.Error("braid_limits_local is not 1 with Redis gone")
	}
}
