package access

import (
	"context"
	"net/http"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"github.com/braidrpc/braid/internal/await"
	"github.com/braidrpc/braid/internal/clock"
	"github.com/braidrpc/braid/internal/config"
	"github.com/braidrpc/braid/internal/redistest"
)

// gaugeValue reads the gauge name's series with labels (0 when absent).
func gaugeValue(t *testing.T, reg *prometheus.Registry, name string, labels map[string]string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	series:
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if labels[l.GetName()] != l.GetValue() {
					continue series
				}
			}
			return m.GetGauge().GetValue()
		}
	}
	return 0
}

// reloadUntil lets the Keyring's reload loop run on the fake clock until
// cond holds, at most a second of reloads.
func reloadUntil(t *testing.T, fake *clock.Fake, what string, cond func() bool) {
	t.Helper()
	for step := 0; !cond(); step++ {
		if step == 4 {
			t.Fatalf("after a second of reloads: not %s", what)
		}
		await.Until(t, "the reload loop waiting", func() bool { return fake.Waiters() >= 1 })
		fake.Advance(reloadEvery)
		await.Until(t, "the reload loop done", func() bool { return fake.Waiters() >= 1 })
	}
}

// TestKeysLostWarned: stored keys that vanish from the store (a Redis
// restarted without its data, or evicting keys) are refused with one
// WARN naming them, and braid_api_keys shows the drop; a revocation is
// not a loss.
func TestKeysLostWarned(t *testing.T) {
	srv := redistest.Start(t)
	cfg := testConfig(t, config.Auth{Required: true, Store: config.KeyStoreRedis},
		config.APIKey{Name: "conf", Key: NewKey()})
	adminLink := newLink(t, srv.URL())
	admin := NewRedisStore(adminLink)
	a, keyA := record("app-a")
	b, _ := record("app-b")
	for _, r := range []Record{a, b} {
		if err := admin.Add(context.Background(), r); err != nil {
			t.Fatal(err)
		}
	}
	var logs logBuf
	reg := prometheus.NewRegistry()
	c, fake := newControl(t, cfg, Options{Link: newLink(t, srv.URL()), Logger: logs.logger(), Registry: reg})
	keys := func(source, state string) float64 {
		return gaugeValue(t, reg, "braid_api_keys", map[string]string{"source": source, "state": state})
	}
	if _, ref := c.Identify("mainnet", keyA, ""); ref != nil {
		t.Fatalf("a stored key is refused: %v", ref.Err)
	}
	if keys("redis", "active") != 2 || keys("config", "active") != 1 {
		t.Errorf("braid_api_keys: redis %v, config %v; want 2, 1", keys("redis", "active"), keys("config", "active"))
	}
	if _, err := admin.Revoke(context.Background(), "app-b", start); err != nil {
		t.Fatal(err)
	}
	reloadUntil(t, fake, "the revocation seen", func() bool { return keys("redis", "revoked") == 1 })
	if keys("redis", "active") != 1 || logs.count("vanished") != 0 {
		t.Errorf("after a revocation: %v active, log:\n%s", keys("redis", "active"), logs.String())
	}

	// Redis loses everything (what a restart without persistence does).
	if err := adminLink.Do(context.Background(), func(ctx context.Context, rc *redis.Client) error {
		return rc.FlushAll(ctx).Err()
	}); err != nil {
		t.Fatal(err)
	}
	reloadUntil(t, fake, "the lost key refused", func() bool {
		_, ref := c.Identify("mainnet", keyA, "")
		return ref != nil && ref.Status == http.StatusUnauthorized
	})
	if n := logs.count(`msg="stored API keys vanished from the key store`); n != 1 {
		t.Errorf("%d WARN lines about the lost keys, want 1:\n%s", n, logs.String())
	}
	if logs.count(`store=redis lost=2 names=app-a,app-b`) != 1 {
		t.Errorf("the WARN does not name the lost keys:\n%s", logs.String())
	}
	if keys("redis", "active") != 0 || keys("redis", "revoked") != 0 || keys("config", "active") != 1 {
		t.Errorf("braid_api_keys after the loss: redis %v/%v, config %v", keys("redis", "active"), keys("redis", "revoked"), keys("config", "active"))
	}
	// Keys added again after the loss do not make later reloads warn.
	again, keyAgain := record("app-a")
	if err := admin.Add(context.Background(), again); err != nil {
		t.Fatal(err)
	}
	reloadUntil(t, fake, "the key added again accepted", func() bool {
		_, ref := c.Identify("mainnet", keyAgain, "")
		return ref == nil
	})
	if n := logs.count("vanished"); n != 1 {
		t.Errorf("%d WARN lines after the keys were added again, want 1", n)
	}
}
