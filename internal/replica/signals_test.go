package replica

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/redis/go-redis/v9"

	"github.com/braidrpc/braid/internal/await"
	"github.com/braidrpc/braid/internal/block"
	"github.com/braidrpc/braid/internal/clock"
	"github.com/braidrpc/braid/internal/redistest"
)

// ms drops what Redis does not keep.
func ms(t time.Time) time.Time { return time.UnixMilli(t.UnixMilli()) }

func TestThrottlesKeepLowest(t *testing.T) {
	srv := redistest.Start(t)
	clk := clock.NewFake(time.Now())
	a := NewThrottles(newLink(t, srv.URL(), clk, nil), "eth")
	b := NewThrottles(newLink(t, srv.URL(), clk, nil), "eth")
	other := NewThrottles(newLink(t, srv.URL(), clk, nil), "base")
	ctx := context.Background()
	now := clk.Now()

	if got, err := b.Read(ctx); err != nil || len(got) != 0 {
		t.Fatalf("Read on nothing = %v, %v", got, err)
	}
	if err := a.Publish(ctx, "alchemy", Throttle{Rate: 10, Until: now.Add(20 * time.Second)}); err != nil {
		t.Fatal(err)
	}
	got, err := b.Read(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if th := got["alchemy"]; th.Rate != 10 || !th.Until.Equal(ms(now.Add(20*time.Second))) {
		t.Fatalf("Read = %+v", got)
	}
	if got, _ := other.Read(ctx); len(got) != 0 {
		t.Fatalf("another network sees %v", got)
	}

	// A lower rate wins, and so does the later end.
	if err := b.Publish(ctx, "alchemy", Throttle{Rate: 2.5, Until: now.Add(10 * time.Second)}); err != nil {
		t.Fatal(err)
	}
	got, _ = a.Read(ctx)
	if th := got["alchemy"]; th.Rate != 2.5 || !th.Until.Equal(ms(now.Add(20*time.Second))) {
		t.Fatalf("after a lower rate: %+v, want 2.5 until +20s", got)
	}
	// A higher rate never raises the limit in force.
	if err := a.Publish(ctx, "alchemy", Throttle{Rate: 50, Until: now.Add(30 * time.Second)}); err != nil {
		t.Fatal(err)
	}
	got, _ = b.Read(ctx)
	if th := got["alchemy"]; th.Rate != 2.5 || !th.Until.Equal(ms(now.Add(30*time.Second))) {
		t.Fatalf("after a higher rate: %+v, want 2.5 until +30s", got)
	}
	if err := a.Publish(ctx, "infura", Throttle{Rate: 1, Until: now.Add(5 * time.Second)}); err != nil {
		t.Fatal(err)
	}
	if got, _ := b.Read(ctx); len(got) != 2 {
		t.Fatalf("Read = %v, want two upstreams", got)
	}

	// The hash outlives the latest end by a little.
	pttl := a.l.c.PTTL(ctx, "braid:throttle:eth").Val()
	if pttl <= 30*time.Second || pttl > 30*time.Second+expirySlack {
		t.Fatalf("PTTL = %v, want just over 30s", pttl)
	}

	// Once infura's throttle is over only alchemy's remains...
	clk.Advance(6 * time.Second)
	got, _ = b.Read(ctx)
	if _, ok := got["infura"]; ok || len(got) != 1 {
		t.Fatalf("after infura's end: %v", got)
	}
	// ...and a throttle that is over no longer holds a new one down.
	if err := b.Publish(ctx, "infura", Throttle{Rate: 7, Until: clk.Now().Add(time.Second)}); err != nil {
		t.Fatal(err)
	}
	got, _ = a.Read(ctx)
	if th := got["infura"]; th.Rate != 7 {
		t.Fatalf("after an ended throttle: %+v, want rate 7", got)
	}

	clk.Advance(time.Minute)
	if got, _ := a.Read(ctx); len(got) != 0 {
		t.Fatalf("throttles in force after their end: %v", got)
	}

	// One already over is not published; a bad rate is refused.
	if err := a.Publish(ctx, "quicknode", Throttle{Rate: 1, Until: clk.Now().Add(-time.Second)}); err != nil {
		t.Fatal(err)
	}
	if a.l.c.HExists(ctx, "braid:throttle:eth", "quicknode").Val() {
		t.Fatal("a throttle already over was published")
	}
	if err := a.Publish(ctx, "quicknode", Throttle{Rate: -1, Until: clk.Now().Add(time.Second)}); err == nil {
		t.Fatal("negative rate accepted")
	}
}

func TestThrottlesExpireInRedis(t *testing.T) {
	srv := redistest.Start(t)
	l := newLink(t, srv.URL(), nil, nil)
	th := NewThrottles(l, "eth")
	ctx := context.Background()
	if err := th.Publish(ctx, "x", Throttle{Rate: 1, Until: time.Now().Add(200 * time.Millisecond)}); err != nil {
		t.Fatal(err)
	}
	await.Within(t, 10*time.Second, "the throttle to end", func() bool { got, _ := th.Read(ctx); return len(got) == 0 })
	await.Within(t, 20*time.Second, "the throttle hash to expire", func() bool { return l.c.Exists(ctx, "braid:throttle:eth").Val() == 0 })
}

func TestStrikes(t *testing.T) {
	srv := redistest.Start(t)
	clk := clock.NewFake(time.Now())
	a := NewStrikes(newLink(t, srv.URL(), clk, nil), "eth")
	b := NewStrikes(newLink(t, srv.URL(), clk, nil), "eth")
	ctx := context.Background()
	const window = 10 * time.Second

	for i, s := range []*Strikes{a, b, a} {
		n, err := s.Add(ctx, "acme", window)
		if err != nil {
			t.Fatal(err)
		}
		if n != i+1 {
			t.Fatalf("strike %d counted %d", i+1, n)
		}
	}
	if n, _ := b.Add(ctx, "other", window); n != 1 {
		t.Fatalf("another operator's first strike counted %d", n)
	}
	clk.Advance(6 * time.Second)
	if n, _ := b.Add(ctx, "acme", window); n != 4 {
		t.Fatalf("strike within the window counted %d, want 4", n)
	}
	clk.Advance(5 * time.Second) // the first three are now older than the window
	if n, _ := a.Add(ctx, "acme", window); n != 2 {
		t.Fatalf("after the window moved: %d, want 2", n)
	}
	if pttl := a.l.c.PTTL(ctx, "braid:strikes:eth:acme").Val(); pttl <= 0 || pttl > window+expirySlack {
		t.Fatalf("strikes PTTL = %v", pttl)
	}

	if err := b.Reset(ctx, "acme"); err != nil {
		t.Fatal(err)
	}
	if n, _ := a.Add(ctx, "acme", window); n != 1 {
		t.Fatalf("after Reset: %d, want 1", n)
	}

	now := clk.Now()
	if err := a.Quarantine(ctx, "acme", now.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	q, err := b.Quarantines(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !q["acme"].Equal(ms(now.Add(time.Minute))) || len(q) != 1 {
		t.Fatalf("Quarantines = %v", q)
	}
	// An earlier end does not shorten it; a later one extends it.
	_ = b.Quarantine(ctx, "acme", now.Add(30*time.Second))
	if q, _ := a.Quarantines(ctx); !q["acme"].Equal(ms(now.Add(time.Minute))) {
		t.Fatalf("earlier end shortened the quarantine: %v", q)
	}
	_ = b.Quarantine(ctx, "acme", now.Add(2*time.Minute))
	_ = b.Quarantine(ctx, "zeta", now.Add(10*time.Second))
	if q, _ := a.Quarantines(ctx); !q["acme"].Equal(ms(now.Add(2*time.Minute))) || len(q) != 2 {
		t.Fatalf("Quarantines = %v, want acme until +2m and zeta", q)
	}
	if pttl := a.l.c.PTTL(ctx, "braid:quarantine:eth").Val(); pttl <= 2*time.Minute || pttl > 2*time.Minute+expirySlack {
		t.Fatalf("quarantine PTTL = %v, want just over 2m", pttl)
	}
	clk.Advance(time.Minute)
	if q, _ := a.Quarantines(ctx); len(q) != 1 || q["acme"].IsZero() {
		t.Fatalf("after zeta's end: %v", q)
	}
	clk.Advance(2 * time.Minute)
	if q, _ := a.Quarantines(ctx); len(q) != 0 {
		t.Fatalf("after every end: %v", q)
	}
}

func TestSignalsWhenDown(t *testing.T) {
	srv := redistest.Start(t)
	l := newLink(t, srv.URL(), nil, nil)
	srv.Stop()
	_ = l.Do(context.Background(), func(ctx context.Context, c *redis.Client) error { return c.Ping(ctx).Err() })
	if l.Up() {
		t.Fatal("link up after a failed PING")
	}
	ctx := context.Background()
	th, st, tp := NewThrottles(l, "eth"), NewStrikes(l, "eth"), NewTips(l, "eth")
	checks := map[string]error{}
	checks["throttle publish"] = th.Publish(ctx, "x", Throttle{Rate: 1, Until: time.Now().Add(time.Minute)})
	_, checks["throttle read"] = th.Read(ctx)
	_, checks["strike add"] = st.Add(ctx, "x", time.Minute)
	checks["quarantine"] = st.Quarantine(ctx, "x", time.Now().Add(time.Minute))
	_, checks["quarantines"] = st.Quarantines(ctx)
	checks["reset"] = st.Reset(ctx, "x")
	checks["tip publish"] = tp.Publish(ctx, tipAt(1, 1, 0))
	_, checks["tip read"] = tp.Read(ctx)
	for what, err := range checks {
		if !errors.Is(err, ErrDown) {
			t.Errorf("%s while down = %v, want ErrDown", what, err)
		}
	}
}

func TestTips(t *testing.T) {
	srv := redistest.Start(t)
	clk := clock.NewFake(time.Now())
	la := newLink(t, srv.URL(), clk, nil)
	lb := newLink(t, srv.URL(), clk, nil)
	a, b := NewTips(la, "eth"), NewTips(lb, "eth")
	ctx := context.Background()

	ta0, tb0 := tipAt(100, 0xaa, 64), tipAt(101, 0xbb, 64)
	if err := a.Publish(ctx, ta0); err != nil {
		t.Fatal(err)
	}
	tb0.Replica = "ignored"
	if err := b.Publish(ctx, tb0); err != nil {
		t.Fatal(err)
	}
	for _, r := range []*Tips{a, b} {
		tips, err := r.Read(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(tips) != 2 || tips[0].Replica > tips[1].Replica {
			t.Fatalf("Read = %+v, want two sorted by replica", tips)
		}
		byReplica := map[string]Tip{tips[0].Replica: tips[0], tips[1].Replica: tips[1]}
		ta, tb := byReplica[la.ID()], byReplica[lb.ID()]
		if ta.Tip != ta0.Tip || tb.Tip != tb0.Tip {
			t.Fatalf("Read = %+v", tips)
		}
		if !ta.At.Equal(clk.Now()) {
			t.Fatalf("At = %v, want the publish time %v", ta.At, clk.Now())
		}
	}
	// Stored as /status shows a tip: the block members in block.Tip's JSON.
	raw := la.c.HGet(ctx, "braid:served:eth", la.ID()).Val()
	var fields map[string]json.RawMessage
	if err := json.Unmarshal([]byte(raw), &fields); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"replica", "latest", "safe", "finalized", "known", "at"} {
		if _, ok := fields[k]; !ok {
			t.Fatalf("stored tip %s lacks %q", raw, k)
		}
	}
	if want, _ := json.Marshal(ta0.Latest); string(fields["latest"]) != string(want) {
		t.Fatalf("stored latest %s, want %s", fields["latest"], want)
	}
	if pttl := la.c.PTTL(ctx, "braid:served:eth").Val(); pttl <= 0 || pttl > tipKeep {
		t.Fatalf("tips PTTL = %v", pttl)
	}

	// b goes quiet; a keeps publishing.
	clk.Advance(8 * time.Second)
	_ = a.Publish(ctx, tipAt(102, 0xa2, 64))
	clk.Advance(3 * time.Second)
	tips, _ := b.Read(ctx)
	if len(tips) != 1 || tips[0].Replica != la.ID() || tips[0].Latest.Number != 102 {
		t.Fatalf("Read = %+v, want only a's fresh tip", tips)
	}
	// Long quiet tips are cleaned away.
	clk.Advance(25 * time.Second)
	_ = a.Publish(ctx, tipAt(103, 0xa3, 64))
	if tips, _ := a.Read(ctx); len(tips) != 1 {
		t.Fatalf("Read = %+v", tips)
	}
	if la.c.HExists(ctx, "braid:served:eth", lb.ID()).Val() {
		t.Fatal("a tip quiet for over 30s was kept")
	}
}

// tipAt is a known served tip with latest block number (hash tag) and
// finalized block finalized.
func tipAt(number uint64, tag byte, finalized uint64) Tip {
	ref := func(n uint64, b byte) block.Block {
		return block.Block{Number: n, Hash: common.Hash{b, byte(n)}, ParentHash: common.Hash{b, byte(n - 1)}}
	}
	return Tip{Tip: block.Tip{Latest: ref(number, tag), Safe: ref(finalized, 0x5a), Finalized: ref(finalized, 0xf1), Known: true}}
}
