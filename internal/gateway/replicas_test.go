package gateway

import (
	"context"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/braidrpc/braid/internal/await"
	"github.com/braidrpc/braid/internal/config"
	"github.com/braidrpc/braid/internal/redistest"
	"github.com/braidrpc/braid/internal/replica"
)

// twoReplicas builds two gateways of one configuration sharing redisURL,
// started (their upstreams never answer: what they share does not need
// them).
func twoReplicas(t *testing.T, redisURL string) (a, b *Network) {
	t.Helper()
	build := func() *Network {
		cfg := config.Default()
		cfg.Redis = config.Redis{URL: redisURL, Prefix: "braid-gw-test", Timeout: 200 * time.Millisecond}
		cfg.Networks = []config.Network{{Name: "mainnet", ChainID: 1,
			Strikes: config.Strikes{Max: 3, Window: time.Minute, Quarantine: time.Hour},
			Upstreams: []config.Upstream{
				{Name: "a", Operator: "op-a", URL: "http://127.0.0.1:1", RPS: 100, Burst: 100},
				{Name: "b", Operator: "op-b", URL: "http://127.0.0.1:1"},
			}}}
		cfg.ApplyDefaults()
		if err := cfg.Validate(); err != nil {
			t.Fatal(err)
		}
		g, err := New(cfg, Options{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(g.Close)
		g.Start(t.Context(), 10*time.Millisecond)
		return g.Networks()[0]
	}
	return build(), build()
}

// TestReplicasShareBudgetsThrottlesAndQuarantines: two replicas each take
// half of a provider's rate budget; a rate limit one of them meets lowers
// the other's too; strikes counted on both quarantine the operator on both.
// (internal/replica tests the sync itself; this is the gateway's wiring of
// it to upstreams' budgets and operators' standing.)
func TestReplicasShareBudgetsThrottlesAndQuarantines(t *testing.T) {
	rs := redistest.Start(t)
	a, b := twoReplicas(t, rs.URL())
	ua, ub := a.router.Upstream("a"), b.router.Upstream("a")

	await.Until(t, "each replica takes half of the budget", func() bool {
		_, ea, _ := ua.Budget().Rate()
		_, eb, _ := ub.Budget().Rate()
		return ea == 50 && eb == 50
	})

	// The provider rate-limits replica a.
	ua.Budget().Lower(time.Second)
	lowered, _, ok := ua.Budget().Lowered()
	if !ok {
		t.Fatal("Lower did not lower")
	}
	ctx := context.Background()
	a.share.Step(ctx)
	b.share.Step(ctx)
	if _, eb, _ := ub.Budget().Rate(); eb > lowered+1e-9 {
		t.Fatalf("replica b sends %.2f/s to a provider that rate-limited replica a down to %.2f/s", eb, lowered)
	}

	// Two strikes on a, one on b: the cluster's third quarantines op-a.
	a.operators.Lie("op-a", nil, "test")
	a.operators.Lie("op-a", nil, "test")
	watch, err := replica.NewLink(replica.LinkOptions{URL: rs.URL(), Prefix: "braid-gw-test", Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer watch.Close()
	key := watch.Key("strikes", "mainnet", "op-a")
	await.Until(t, "a's strikes reach redis", func() bool {
		var n int64
		_ = watch.Do(ctx, func(ctx context.Context, c *redis.Client) error {
			n = c.ZCard(ctx, key).Val()
			return nil
		})
		return n == 2
	})
	if len(a.operators.Quarantined()) != 0 {
		t.Fatal("two strikes of three quarantined op-a")
	}
	b.operators.Lie("op-a", nil, "test")
	await.Until(t, "replica b quarantines op-a", func() bool { _, ok := b.operators.Quarantined()["op-a"]; return ok })
	a.share.Step(ctx)
	if _, ok := a.operators.Quarantined()["op-a"]; !ok {
		t.Fatal("replica a did not adopt the quarantine")
	}
	if _, _, suspended := ua.Suspended(); !suspended {
		t.Fatal("replica a still uses op-a's upstream")
	}
	if _, ok := a.operators.Quarantined()["op-b"]; ok {
		t.Fatal("op-b quarantined too")
	}
}
