package replica

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"

	"github.com/braidrpc/braid/internal/await"
	"github.com/braidrpc/braid/internal/block"
	"github.com/braidrpc/braid/internal/clock"
	"github.com/braidrpc/braid/internal/redistest"
)

// fakeBudget is an upstream's rate budget.
type fakeBudget struct {
	mu      sync.Mutex
	rate    float64
	until   time.Time
	lowered bool
	adopted []Throttle
}

func (b *fakeBudget) Lowered() (float64, time.Time, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.rate, b.until, b.lowered
}

func (b *fakeBudget) Adopt(rate float64, until time.Time) {
	b.mu.Lock()
	b.adopted = append(b.adopted, Throttle{Rate: rate, Until: until})
	b.mu.Unlock()
}

func (b *fakeBudget) SetShare(float64) {}

func (b *fakeBudget) lastAdopted() (Throttle, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.adopted) == 0 {
		return Throttle{}, false
	}
	return b.adopted[len(b.adopted)-1], true
}

// fakeStanding keeps the quarantines adopted.
type fakeStanding struct {
	mu      sync.Mutex
	adopted map[string]time.Time
}

func (s *fakeStanding) Adopt(op string, until time.Time) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.adopted == nil {
		s.adopted = map[string]time.Time{}
	}
	if old, ok := s.adopted[op]; ok && !until.After(old) {
		return false
	}
	s.adopted[op] = until
	return true
}

func (s *fakeStanding) Limits() (int, time.Duration, time.Duration) { return 3, time.Minute, time.Hour }

func (s *fakeStanding) quarantined(op string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ok := s.adopted[op]
	return ok
}

// syncReplica is one replica's Sync of network "eth" with its fakes.
type syncReplica struct {
	*Sync
	members  *Members
	budget   *fakeBudget
	standing *fakeStanding

	mu     sync.Mutex
	tip    block.Tip
	behind []uint64
}

func newSyncReplica(t *testing.T, url string, clk clock.Clock) *syncReplica {
	t.Helper()
	link := newLink(t, url, clk, nil)
	r := &syncReplica{members: NewMembers(link, SyncInterval), budget: &fakeBudget{}, standing: &fakeStanding{}}
	r.Sync = NewSync(link, r.members, SyncOptions{
		Network: "eth",
		Tip: func() block.Tip {
			r.mu.Lock()
			defer r.mu.Unlock()
			return r.tip
		},
		Budgets:  func() map[string]Budget { return map[string]Budget{"alchemy": r.budget} },
		Standing: r.standing,
		Clock:    clk,
		Behind: func(n uint64) {
			r.mu.Lock()
			r.behind = append(r.behind, n)
			r.mu.Unlock()
		},
	})
	return r
}

func (r *syncReplica) setTip(latest uint64) {
	r.mu.Lock()
	r.tip = block.Tip{Known: true, Latest: block.Block{Number: latest, Hash: common.Hash{byte(latest)}}}
	r.mu.Unlock()
}

func (r *syncReplica) lastBehind() uint64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.behind[len(r.behind)-1]
}

// TestSyncSharesTips: each replica publishes its served tip and reads
// everyone's; one behind the highest says by how much.
func TestSyncSharesTips(t *testing.T) {
	srv := redistest.Start(t)
	clk := clock.NewFake(time.Now())
	a, b := newSyncReplica(t, srv.URL(), clk), newSyncReplica(t, srv.URL(), clk)
	a.setTip(10)
	b.setTip(12)
	ctx := context.Background()
	a.Step(ctx)
	b.Step(ctx)
	a.Step(ctx)
	got := a.Tips()
	if len(got) != 2 {
		t.Fatalf("a sees tips %+v, want both replicas'", got)
	}
	for _, tip := range got {
		want := a.tip
		if tip.Replica == b.link.ID() {
			want = b.tip
		}
		if tip.Tip != want {
			t.Fatalf("a sees replica %s at %+v, it serves %+v", tip.Replica, tip.Tip, want)
		}
	}
	if got := a.lastBehind(); got != 2 {
		t.Fatalf("a is behind by %d, want 2", got)
	}
	if got := b.lastBehind(); got != 0 {
		t.Fatalf("b is behind by %d, want 0", got)
	}
}

// TestSyncSharesThrottles: a rate limit one replica met is published as
// the cluster's total (its rate times the replicas), and every replica
// adopts its share of it.
func TestSyncSharesThrottles(t *testing.T) {
	srv := redistest.Start(t)
	clk := clock.NewFake(time.Now())
	a, b := newSyncReplica(t, srv.URL(), clk), newSyncReplica(t, srv.URL(), clk)
	ctx := context.Background()
	a.members.round(ctx)
	b.members.round(ctx)
	a.members.round(ctx)
	if a.members.Count() != 2 || b.members.Count() != 2 {
		t.Fatalf("members %d and %d, want 2", a.members.Count(), b.members.Count())
	}
	until := clk.Now().Add(10 * time.Second)
	a.budget.mu.Lock()
	a.budget.rate, a.budget.until, a.budget.lowered = 5, until, true
	a.budget.mu.Unlock()
	a.Step(ctx)
	b.Step(ctx)
	th, ok := b.budget.lastAdopted()
	if !ok || th.Rate != 5 || !th.Until.Equal(ms(until)) {
		t.Fatalf("b adopted %+v (%v), want 5/s (its half of 10) until %v", th, ok, until)
	}
}

// TestSyncSharesStrikes: strikes the replicas count each reach the limit
// together and quarantine the operator on all of them; a quarantine one
// replica decided alone is adopted by the others.
func TestSyncSharesStrikes(t *testing.T) {
	srv := redistest.Start(t)
	clk := clock.NewFake(time.Now())
	a, b := newSyncReplica(t, srv.URL(), clk), newSyncReplica(t, srv.URL(), clk)
	watch := newLink(t, srv.URL(), clk, nil)
	key := watch.Key("strikes", "eth", "op-a")
	ctx := context.Background()

	a.Strike("op-a", time.Time{}, false)
	a.Strike("op-a", time.Time{}, false)
	await.Until(t, "a's strikes in redis", func() bool { return watch.c.ZCard(ctx, key).Val() == 2 })
	if a.standing.quarantined("op-a") || b.standing.quarantined("op-a") {
		t.Fatal("two strikes of three quarantined op-a")
	}
	b.Strike("op-a", time.Time{}, false)
	await.Until(t, "b quarantines op-a", func() bool { return b.standing.quarantined("op-a") })
	a.Step(ctx)
	if !a.standing.quarantined("op-a") {
		t.Fatal("a did not adopt the quarantine")
	}

	b.Strike("op-b", clk.Now().Add(time.Hour), true) // quarantined on b alone
	await.Until(t, "a adopts op-b's quarantine", func() bool {
		a.Step(ctx)
		return a.standing.quarantined("op-b")
	})
}
