package head

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/braidrpc/braid/internal/await"
	"github.com/braidrpc/braid/internal/clock"
	"github.com/braidrpc/braid/internal/config"
	"github.com/braidrpc/braid/internal/upstream"
)

// TestStallIsWarnedReportedAndRecovers is the README's strict recipe gone
// wrong: two of four operators out of use, the other two far ahead, the
// served tip stuck. It must not be silent: a WARN naming why (once, then at
// a bounded rate), Progress and the metrics showing the tip's age and the
// highest head, every upstream's distance to that head; and an INFO once
// the tip moves again.
func TestStallIsWarnedReportedAndRecovers(t *testing.T) {
	ups := newUpstreams(t, "a", "b", "c", "d")
	fake := clock.NewFake(time.Unix(1000, 0))
	reg := prometheus.NewRegistry()
	var logs logBuffer
	tr := New("test", ups, Options{Clock: fake, Registry: reg, Logger: logs.logger(), StallAfter: 30 * time.Second})
	for _, u := range ups {
		tr.Observe(u, latest(blk(7, 0)))
	}
	for _, u := range ups[2:] {
		u.Suspend(time.Now().Add(time.Hour), "lost disputes")
	}
	tr.Observe(ups[0], latest(blk(43, 0)))
	tr.Observe(ups[1], latest(blk(43, 0)))
	if tip := tr.Tip(); tip.Latest != blk(7, 0) {
		t.Fatalf("tip %+v moved with two of four operators", tip)
	}

	fake.Advance(29 * time.Second)
	tr.checkStall()
	if p := tr.Progress(); p.Stalled || !p.HighestKnown || p.Highest != 43 || p.Behind != 29*time.Second {
		t.Fatalf("progress before the threshold %+v", p)
	}
	if n := logs.count("cannot advance"); n != 0 {
		t.Fatalf("stall logged before the threshold:\n%s", logs.String())
	}

	fake.Advance(time.Second)
	tr.checkStall()
	p := tr.Progress()
	const why = "2 of 4 operators usable, 3 needed"
	if !p.Stalled || p.Reason != why || p.TipAge != 30*time.Second || p.Highest != 43 {
		t.Fatalf("progress at the threshold %+v", p)
	}
	if n := logs.count("level=WARN", "served tip cannot advance", `reason="`+why+`"`, "tip=7", "highest_head=43"); n != 1 {
		t.Fatalf("%d stall warnings, want 1:\n%s", n, logs.String())
	}
	for name, want := range map[string]float64{"braid_tip_age_seconds": 30, "braid_highest_head_block": 43, "braid_tip_stalled": 1} {
		if got := metricValue(t, reg, name, map[string]string{"network": "test"}); got != want {
			t.Errorf("%s = %v, want %v", name, got, want)
		}
	}
	// Lag against the served tip says 0 for the upstreams at 43; against
	// the highest head, the out-of-use ones are 36 behind.
	for i, want := range []uint64{0, 0, 36, 36} {
		if lag, known := tr.Lag(ups[i]); !known || lag != 0 {
			t.Errorf("Lag(u%d) = %d, %v", i, lag, known)
		}
		if got, known := tr.BehindHighest(ups[i]); !known || got != want {
			t.Errorf("BehindHighest(u%d) = %d, %v; want %d", i, got, known, want)
		}
	}

	// Every poll round checks; the warning repeats once a minute, not
	// every round.
	for range 11 {
		fake.Advance(5 * time.Second)
		tr.checkStall()
	}
	if n := logs.count("level=WARN", "cannot advance"); n != 1 {
		t.Fatalf("%d warnings within a minute, want 1:\n%s", n, logs.String())
	}
	fake.Advance(5 * time.Second)
	tr.checkStall()
	if n := logs.count("level=WARN", "served tip still cannot advance", `reason="`+why+`"`); n != 1 {
		t.Fatalf("%d repeated warnings after a minute, want 1:\n%s", n, logs.String())
	}

	ups[2].Suspend(time.Now().Add(-time.Second), "over")
	tr.Observe(ups[2], latest(blk(43, 0)))
	tr.checkStall()
	if p := tr.Progress(); p.Stalled || p.TipAge != 0 || tr.Tip().Latest != blk(43, 0) {
		t.Fatalf("after a third operator caught up: progress %+v tip %+v", p, tr.Tip())
	}
	n, stalled := logs.count("level=INFO", "served tip no longer stalled", "tip=43"), metricValue(t, reg, "braid_tip_stalled", nil)
	if n != 1 || stalled != 0 {
		t.Fatalf("after recovery: %d recovery lines (want 1), braid_tip_stalled %v:\n%s", n, stalled, logs.String())
	}
}

// TestStallReasons: why a tip cannot advance is derived from the usable
// operators and their heads.
func TestStallReasons(t *testing.T) {
	for _, tc := range []struct {
		name      string
		operators []string
		steps     []step
		want      string
		silent    bool // no report during the wait
	}{
		{
			name:      "others lag",
			operators: []string{"a", "b", "c"},
			steps: []step{obsL(0, blk(10, 0)), obsL(1, blk(10, 0)), obsL(2, blk(10, 0)),
				obsL(0, blk(20, 0))},
			want: "1 of 3 usable operators report a block above the served tip, 2 needed (the others lag or do not answer)",
		},
		{
			name:      "no agreement above the tip",
			operators: []string{"a", "b", "c"},
			steps: []step{obsL(0, blk(10, 0)), obsL(1, blk(10, 0)), obsL(2, blk(10, 0)),
				obsL(0, blk(20, 0)), obsL(1, blk(20, 1))},
			want: "2 usable operators report blocks above the served tip but no 2 of them hold the same one",
		},
		{
			name:      "too few operators usable",
			operators: []string{"a", "b", "c"},
			steps: []step{obsL(0, blk(10, 0)), obsL(1, blk(10, 0)), obsL(2, blk(10, 0)),
				down(1), down(2), obsL(0, blk(20, 0))},
			want: "1 of 3 operators usable, 2 needed",
		},
		{
			name:      "no upstream answers",
			operators: []string{"a", "b", "c"},
			steps:     []step{obsL(0, blk(10, 0)), obsL(1, blk(10, 0)), obsL(2, blk(10, 0))},
			want:      "no usable upstream has reported its head for 10s",
			silent:    true,
		},
		{
			name:      "no tip yet",
			operators: []string{"a", "b", "c", "d"},
			steps:     []step{down(2), down(3), obsL(0, blk(5, 0)), obsL(1, blk(5, 0))},
			want:      "2 of 4 operators usable, 3 needed",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ups := newUpstreams(t, tc.operators...)
			fake := clock.NewFake(time.Unix(1000, 0))
			tr := New("test", ups, Options{Clock: fake, StallAfter: 10 * time.Second})
			last := map[int]Heads{}
			for _, s := range tc.steps {
				if s.down {
					ups[s.up].Quarantine("test")
					continue
				}
				tr.Observe(ups[s.up], s.h)
				last[s.up] = s.h
			}
			fake.Advance(10 * time.Second)
			if !tc.silent { // the pollers keep hearing the same heads
				for up, h := range last {
					tr.Observe(ups[up], h)
				}
			}
			p := tr.Progress()
			if !p.Stalled || !strings.HasPrefix(p.Reason, tc.want) {
				t.Fatalf("progress %+v, want stalled: %q", p, tc.want)
			}
		})
	}
}

// TestATipThatMovesIsNotStalled: an upstream always a block ahead of the
// others is normal; the tip moves, so it never counts as stalled however
// long that goes on.
func TestATipThatMovesIsNotStalled(t *testing.T) {
	ups := newUpstreams(t, "a", "b", "c")
	fake := clock.NewFake(time.Unix(1000, 0))
	tr := New("test", ups, Options{Clock: fake, StallAfter: 30 * time.Second})
	for n := uint64(1); n <= 20; n++ {
		tr.Observe(ups[0], latest(blk(n+1, 0)))
		tr.Observe(ups[1], latest(blk(n, 0)))
		tr.Observe(ups[2], latest(blk(n, 0)))
		fake.Advance(20 * time.Second)
		if p := tr.Progress(); p.Stalled || p.Highest != n+1 || p.TipAge != 20*time.Second {
			t.Fatalf("block %d: progress %+v", n, p)
		}
	}
	// The chain pauses with every operator at the tip, still answering:
	// not a stall either.
	tr.Observe(ups[1], latest(blk(21, 0)))
	fake.Advance(time.Hour)
	for _, u := range ups {
		tr.Observe(u, latest(blk(21, 0)))
	}
	if p := tr.Progress(); p.Stalled || p.Behind != 0 || p.Silent != 0 || p.TipAge != time.Hour {
		t.Fatalf("paused chain: progress %+v", p)
	}
}

func TestStallAfterDefault(t *testing.T) {
	for _, tc := range []struct{ configured, poll, want time.Duration }{
		{0, 2 * time.Second, DefaultStallAfter},
		{0, 12 * time.Second, time.Minute},
		{5 * time.Second, 12 * time.Second, 5 * time.Second},
	} {
		tr := New("test", nil, Options{StallAfter: tc.configured, PollInterval: tc.poll})
		if got := tr.StallAfter(); got != tc.want {
			t.Errorf("StallAfter(%v, poll %v) = %v, want %v", tc.configured, tc.poll, got, tc.want)
		}
	}
}

// TestPollersCheckForStalls: a running tracker notices a stall by itself,
// with no report arriving: its pollers check after every round.
func TestPollersCheckForStalls(t *testing.T) {
	fake := clock.NewFake(time.Unix(1000, 0))
	var logs logBuffer
	var ups []*upstream.Upstream
	var nodes []*fakeNode
	for _, name := range []string{"a", "b"} {
		node, srv := newFakeNode(t)
		node.set("latest", blockJSONText(blk(5, 0)))
		u := upstream.New(config.Upstream{Name: name, Operator: name, URL: srv.URL, Timeout: 5 * time.Second},
			upstream.Options{Network: "test", Clock: fake})
		t.Cleanup(u.Close)
		if err := u.Verify(context.Background(), testChainID); err != nil {
			t.Fatal(err)
		}
		ups, nodes = append(ups, u), append(nodes, node)
	}
	tr := New("test", ups, Options{Clock: fake, PollInterval: time.Second, StallAfter: 3 * time.Second, Logger: logs.logger()})
	t.Cleanup(tr.Close)
	tr.Start(context.Background())
	round := func() {
		t.Helper()
		await.Until(t, "both pollers to finish their round", func() bool { return fake.Waiters() == 2 })
	}
	round()
	if tip := tr.Tip(); tip.Latest != blk(5, 0) {
		t.Fatalf("tip %+v", tip)
	}
	nodes[0].set("latest", blockJSONText(blk(9, 0)))
	for range 5 {
		fake.Advance(time.Second)
		round()
	}
	if n := logs.count("level=WARN", "served tip cannot advance", "1 of 2 usable operators", "tip=5", "highest_head=9"); n != 1 {
		t.Fatalf("%d stall warnings, want 1:\n%s", n, logs.String())
	}
}
