package head

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/braidrpc/braid/internal/await"
	"github.com/braidrpc/braid/internal/clock"
	"github.com/braidrpc/braid/internal/config"
	"github.com/braidrpc/braid/internal/upstream"
)

// newPolled makes one tracked upstream in front of a fake node, verified
// unless noVerify.
func newPolled(t *testing.T, mod func(*config.Upstream), opts Options) (*Tracker, *upstream.Upstream, *fakeNode) {
	t.Helper()
	node, srv := newFakeNode(t)
	node.set("latest", blockJSONText(blk(100, 0)))
	node.set("safe", blockJSONText(blk(68, 0)))
	node.set("finalized", blockJSONText(blk(36, 0)))
	cfg := config.Upstream{Name: "p0", Operator: "op", URL: srv.URL + "/v3/SECRETKEY", Timeout: 5 * time.Second}
	if mod != nil {
		mod(&cfg)
	}
	u := upstream.New(cfg, upstream.Options{Network: "test", Clock: opts.Clock})
	t.Cleanup(u.Close)
	if err := u.Verify(context.Background(), testChainID); err != nil {
		t.Fatal(err)
	}
	tr := New("test", []*upstream.Upstream{u}, opts)
	t.Cleanup(tr.Close)
	return tr, u, node
}

func TestPollOnceBatch(t *testing.T) {
	reg := prometheus.NewRegistry()
	tr, u, node := newPolled(t, nil, Options{Registry: reg})
	if err := tr.PollOnce(context.Background(), u); err != nil {
		t.Fatal(err)
	}
	if got := node.log(); !slices.Equal(got, []string{"batch"}) {
		t.Fatalf("requests %v, want one batch", got)
	}
	h, _ := tr.Heads(u)
	if h.Latest != blk(100, 0) || h.Safe != blk(68, 0) || h.Finalized != blk(36, 0) {
		t.Fatalf("heads %+v", h)
	}
	if tip := tr.Tip(); !tip.Known || tip.Latest != blk(100, 0) || tip.Finalized != blk(36, 0) {
		t.Fatalf("tip %+v", tip)
	}
	if got := metricValue(t, reg, "braid_head_polls_total", map[string]string{"upstream": "p0", "outcome": "ok"}); got != 1 {
		t.Fatalf("ok polls = %v", got)
	}
}

func TestPollOnceWithoutSafeAndFinalized(t *testing.T) {
	tr, u, node := newPolled(t, nil, Options{})
	node.set("safe", "error")
	node.set("finalized", "null")
	if err := tr.PollOnce(context.Background(), u); err != nil {
		t.Fatal(err)
	}
	h, _ := tr.Heads(u)
	if h.Latest != blk(100, 0) || !h.Safe.IsZero() || !h.Finalized.IsZero() {
		t.Fatalf("heads %+v, want latest only", h)
	}
}

func TestPollOnceBatchRefused(t *testing.T) {
	tr, u, node := newPolled(t, nil, Options{})
	node.mu.Lock()
	node.refuseBatch = true
	node.mu.Unlock()
	want := []string{"batch", "latest", "safe", "finalized"} // round 0: the refused batch, then single calls
	for round := range 9 {
		node.set("latest", blockJSONText(blk(100+uint64(round), 0)))
		node.set("safe", blockJSONText(blk(60+uint64(round), 0)))
		if err := tr.PollOnce(context.Background(), u); err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
		if round > 0 {
			want = append(want, "latest")
			if round%4 == 0 {
				want = append(want, "safe", "finalized")
			}
		}
		h, _ := tr.Heads(u)
		wantSafe := blk(60+uint64(round-round%4), 0) // kept between fetches
		if h.Latest != blk(100+uint64(round), 0) || h.Safe != wantSafe || h.Finalized != blk(36, 0) {
			t.Fatalf("round %d: heads %+v, want safe %d", round, h, wantSafe.Number)
		}
	}
	if got := node.log(); !slices.Equal(got, want) {
		t.Fatalf("requests\n%v\nwant\n%v", got, want)
	}
}

func TestPollOnceRespectsTheRateBudget(t *testing.T) {
	fake := clock.NewFake(time.Unix(1000, 0))
	reg := prometheus.NewRegistry()
	tr, u, node := newPolled(t, func(c *config.Upstream) { c.RPS, c.Burst = 1, 1 }, Options{Clock: fake, Registry: reg})
	if err := tr.PollOnce(context.Background(), u); err != nil {
		t.Fatal(err)
	}
	if err := tr.PollOnce(context.Background(), u); !errors.Is(err, ErrBudget) {
		t.Fatalf("second poll: %v, want ErrBudget", err)
	}
	if got := node.log(); len(got) != 1 {
		t.Fatalf("requests %v, want one", got)
	}
	if got := metricValue(t, reg, "braid_head_polls_total", map[string]string{"outcome": "skipped_budget"}); got != 1 {
		t.Fatalf("skipped polls = %v", got)
	}
	fake.Advance(time.Second)
	if err := tr.PollOnce(context.Background(), u); err != nil {
		t.Fatalf("after refill: %v", err)
	}
}

func TestPollFailuresAreLoggedOnStateChanges(t *testing.T) {
	var logs logBuffer
	reg := prometheus.NewRegistry()
	tr, u, node := newPolled(t, nil, Options{Logger: logs.logger(), Registry: reg})
	node.set("latest", "null")
	for range 3 {
		if err := tr.PollOnce(context.Background(), u); err == nil {
			t.Fatal("a null latest block is not a failure")
		}
	}
	node.set("latest", blockJSONText(blk(100, 0)))
	for range 2 {
		if err := tr.PollOnce(context.Background(), u); err != nil {
			t.Fatal(err)
		}
	}
	if n := logs.count("level=WARN", "head poll failed", "upstream=p0", "operator=op"); n != 1 {
		t.Errorf("%d warnings, want 1:\n%s", n, logs.String())
	}
	if n := logs.count("head poll recovered", "upstream=p0"); n != 1 {
		t.Errorf("%d recoveries, want 1:\n%s", n, logs.String())
	}
	if got := metricValue(t, reg, "braid_head_polls_total", map[string]string{"outcome": "error"}); got != 3 {
		t.Errorf("error polls = %v", got)
	}
	if strings.Contains(logs.String(), "SECRETKEY") {
		t.Errorf("logs show the URL's key:\n%s", logs.String())
	}
}

func TestPollOnceSkipsUnusableUpstreams(t *testing.T) {
	tr, u, node := newPolled(t, nil, Options{})
	u.Quarantine("test")
	if err := tr.PollOnce(context.Background(), u); !errors.Is(err, ErrNotUsable) {
		t.Fatalf("err %v, want ErrNotUsable", err)
	}
	if got := node.log(); len(got) != 0 {
		t.Fatalf("requests %v to an unusable upstream", got)
	}
	other := newUpstreams(t, "x")[0]
	if err := tr.PollOnce(context.Background(), other); !errors.Is(err, ErrUnknownUpstream) {
		t.Fatalf("err %v, want ErrUnknownUpstream", err)
	}
}

func TestPollerLoopFollowsTheClock(t *testing.T) {
	fake := clock.NewFake(time.Unix(1000, 0))
	tr, _, node := newPolled(t, nil, Options{Clock: fake, PollInterval: 3 * time.Second})
	tr.Start(context.Background())
	for i := 1; i <= 3; i++ {
		await.Until(t, "the poller to wait for its interval", func() bool { return len(node.log()) == i && fake.Waiters() == 1 })
		fake.Advance(2 * time.Second) // not yet due
		if got := len(node.log()); got != i {
			t.Fatalf("polled %d times before the interval, want %d", got, i)
		}
		fake.Advance(time.Second)
	}
	await.Until(t, "the fourth poll", func() bool { return len(node.log()) == 4 })
	tr.Close()
}

func TestCloseCancelsABlockedPoll(t *testing.T) {
	tr, _, node := newPolled(t, nil, Options{Clock: clock.NewFake(time.Unix(1000, 0))})
	node.mu.Lock()
	node.block, node.entered = make(chan struct{}), make(chan struct{}, 1)
	node.mu.Unlock()
	tr.Start(context.Background())
	<-node.entered // the poll is in flight and will not be answered
	done := make(chan struct{})
	go func() {
		tr.Close()
		tr.Close() // idempotent
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Close did not return while a poll was blocked")
	}
	tr.Start(context.Background()) // after Close: nothing happens
	tr.Close()
}

// TestPollNowPollsAtOnce: an upstream whose chain id is confirmed after
// the poller started is polled at once when asked, not an interval later,
// so the served tip is known as soon as it can be.
func TestPollNowPollsAtOnce(t *testing.T) {
	fake := clock.NewFake(time.Unix(1000, 0))
	node, srv := newFakeNode(t)
	node.set("latest", blockJSONText(blk(100, 0)))
	u := upstream.New(config.Upstream{Name: "p0", Operator: "op", URL: srv.URL, Timeout: 5 * time.Second},
		upstream.Options{Network: "test", Clock: fake})
	t.Cleanup(u.Close)
	tr := New("test", []*upstream.Upstream{u}, Options{Clock: fake, PollInterval: time.Hour})
	t.Cleanup(tr.Close)
	tr.Start(context.Background())
	await.Until(t, "the poller to wait, its upstream not usable yet", func() bool { return fake.Waiters() == 1 })
	if got := node.log(); len(got) != 0 {
		t.Fatalf("polled an unverified upstream: %v", got)
	}
	if err := u.Verify(context.Background(), testChainID); err != nil {
		t.Fatal(err)
	}
	tr.PollNow(u)
	await.Until(t, "the served tip, with the clock standing still", func() bool { return tr.Tip().Known })
	if got := node.log(); len(got) != 1 {
		t.Fatalf("requests %v, want one poll", got)
	}
	tr.PollNow(nil) // not tracked: nothing
}

// TestAPollOvertakenByAFresherReportKeepsTheFresherHead: a poll sent before
// the upstream's WebSocket announced block 101 answers 100 after it. The
// upstream has shown 101, so its head stays 101: a slow poll must not make
// the upstream look behind the tip it helped to serve (the router would
// find no upstream holding the served tip).
func TestAPollOvertakenByAFresherReportKeepsTheFresherHead(t *testing.T) {
	tr, u, node := newPolled(t, nil, Options{})
	gate := make(chan struct{})
	node.mu.Lock()
	node.block, node.entered = gate, make(chan struct{}, 1)
	node.mu.Unlock()
	done := make(chan error, 1)
	go func() { done <- tr.PollOnce(context.Background(), u) }()
	<-node.entered // the poll is in flight; the node is at 100
	tr.observeLatest(u, blk(101, 0))
	close(gate)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	h, _ := tr.Heads(u)
	if h.Latest != blk(101, 0) {
		t.Fatalf("latest = %d after a stale poll, want 101 (announced while the poll was out)", h.Latest.Number)
	}
	if h.Safe != blk(68, 0) || h.Finalized != blk(36, 0) {
		t.Fatalf("safe/finalized from the poll lost: %+v", h)
	}
	if tip := tr.Tip(); tip.Latest != blk(101, 0) {
		t.Fatalf("tip %d, want 101", tip.Latest.Number)
	}
	// A later poll that the node answers with 100 again is not stale: the
	// node really went back (or reorged), and that is recorded.
	if err := tr.PollOnce(context.Background(), u); err != nil {
		t.Fatal(err)
	}
	if h, _ := tr.Heads(u); h.Latest != blk(100, 0) {
		t.Fatalf("latest = %d after a fresh poll, want 100", h.Latest.Number)
	}
}
