package head

import (
	"github.com/braidrpc/braid/internal/block"

	"testing"

	"github.com/prometheus/client_golang/prometheus"
)

// step is one event: an upstream's report, or an upstream going out of use.
type step struct {
	up   int
	h    Heads
	down bool // quarantine upstream up instead of observing
}

func obs(up int, h Heads) step        { return step{up: up, h: h} }
func obsL(up int, b block.Block) step { return step{up: up, h: latest(b)} }
func down(up int) step                { return step{up: up, down: true} }

func withTags(l, s, f block.Block) Heads { return Heads{Latest: l, Safe: s, Finalized: f} }

func TestServedTip(t *testing.T) {
	none := block.Block{}
	tests := []struct {
		name      string
		operators []string // one upstream per entry
		k         int      // Options.MinOperators
		steps     []step
		wantK     int
		latest    block.Block // zero: no tip known
		safe      block.Block
		finalized block.Block
		advances  float64
		reorgs    float64
		logged    []string // substrings of one log line each
	}{
		{
			name:      "three operators agree",
			operators: []string{"a", "b", "c"},
			steps:     []step{obsL(0, blk(100, 0)), obsL(1, blk(100, 0)), obsL(2, blk(100, 0))},
			wantK:     2, latest: blk(100, 0), advances: 1,
			logged: []string{"served tip known"},
		},
		{
			name:      "two of four is not a majority",
			operators: []string{"a", "b", "c", "d"},
			steps:     []step{obsL(0, blk(100, 0)), obsL(1, blk(100, 0))},
			wantK:     3, latest: none,
		},
		{
			name:      "one upstream a block ahead: the tip is the common parent",
			operators: []string{"a", "b", "c"},
			k:         3,
			steps:     []step{obsL(0, blk(100, 0)), obsL(1, blk(100, 0)), obsL(2, blk(101, 0))},
			wantK:     3, latest: blk(100, 0), advances: 1,
		},
		{
			name:      "two upstreams of one operator count once",
			operators: []string{"a", "a", "b"},
			steps:     []step{obsL(0, blk(100, 0)), obsL(1, blk(100, 0))},
			wantK:     2, latest: none,
		},
		{
			name:      "the tip advances with the majority",
			operators: []string{"a", "b", "c"},
			steps: []step{
				obsL(0, blk(100, 0)), obsL(1, blk(100, 0)), obsL(2, blk(100, 0)),
				obsL(0, blk(101, 0)), obsL(1, blk(101, 0)),
			},
			wantK: 2, latest: blk(101, 0), advances: 2,
		},
		{
			name:      "operators going down do not move the tip back",
			operators: []string{"a", "b", "c"},
			steps: []step{
				obsL(0, blk(101, 0)), obsL(1, blk(101, 0)), obsL(2, blk(100, 0)),
				down(0), obsL(2, blk(100, 0)), obsL(1, blk(101, 0)),
			},
			wantK: 2, latest: blk(101, 0), advances: 1,
		},
		{
			name:      "most operators down: the tip neither advances nor moves back",
			operators: []string{"a", "b", "c", "d"},
			steps: []step{
				obsL(0, blk(100, 0)), obsL(1, blk(100, 0)), obsL(2, blk(100, 0)), obsL(3, blk(100, 0)),
				down(1), down(2), down(3), obsL(0, blk(105, 0)),
			},
			wantK: 3, latest: blk(100, 0), advances: 1,
		},
		{
			name:      "a stale report of a load-balanced provider does not move the tip back",
			operators: []string{"a", "b", "c"},
			steps: []step{
				obsL(0, blk(101, 0)), obsL(1, blk(101, 0)), obsL(2, blk(101, 0)),
				obsL(0, blk(99, 0)), obsL(1, blk(100, 0)), obsL(2, blk(99, 0)),
			},
			wantK: 2, latest: blk(101, 0), advances: 1,
		},
		{
			name:      "unusable upstreams do not vote",
			operators: []string{"a", "b", "c"},
			steps: []step{
				down(2), obsL(0, blk(101, 0)), obsL(2, blk(101, 0)), obsL(1, blk(100, 0)),
			},
			wantK: 2, latest: blk(100, 0), advances: 1,
		},
		{
			name:      "a majority reorg at the same height is followed",
			operators: []string{"a", "b", "c"},
			steps: []step{
				obsL(0, blk(100, 0)), obsL(1, blk(100, 0)), obsL(2, blk(100, 0)),
				obsL(0, child(100, 1, 0)), obsL(1, child(100, 1, 0)),
			},
			wantK: 2, latest: child(100, 1, 0), advances: 1, reorgs: 1,
			logged: []string{"served tip reorg", "old_number=100", "new_number=100", "operators=2"},
		},
		{
			name:      "a majority reorg to a lower height is followed",
			operators: []string{"a", "b", "c"},
			steps: []step{
				obsL(0, blk(100, 0)), obsL(1, blk(100, 0)), obsL(2, blk(100, 0)),
				obsL(0, child(99, 1, 0)), obsL(1, child(99, 1, 0)),
			},
			wantK: 2, latest: child(99, 1, 0), advances: 1, reorgs: 1,
			logged: []string{"served tip reorg", "old_number=100", "new_number=99"},
		},
		{
			name:      "a majority reorg onto a longer fork is a reorg",
			operators: []string{"a", "b", "c"},
			steps: []step{
				obsL(0, blk(100, 0)), obsL(1, blk(100, 0)), obsL(2, blk(100, 0)),
				obsL(0, blk(101, 1)), obsL(1, blk(101, 1)),
			},
			wantK: 2, latest: blk(101, 1), advances: 1, reorgs: 1,
			logged: []string{"served tip reorg", "old_number=100", "new_number=101"},
		},
		{
			name:      "a minority reorg at the same height is not followed",
			operators: []string{"a", "b", "c"},
			steps: []step{
				obsL(0, blk(100, 0)), obsL(1, blk(100, 0)), obsL(2, blk(100, 0)),
				obsL(0, child(100, 1, 0)),
			},
			wantK: 2, latest: blk(100, 0), advances: 1,
		},
		{
			name:      "a minority reorg to a lower height is not followed",
			operators: []string{"a", "b", "c", "d", "e"},
			steps: []step{
				obsL(0, blk(100, 0)), obsL(1, blk(100, 0)), obsL(2, blk(100, 0)), obsL(3, blk(100, 0)), obsL(4, blk(100, 0)),
				obsL(0, child(99, 1, 0)), obsL(1, child(99, 1, 0)),
			},
			wantK: 3, latest: blk(100, 0), advances: 1,
		},
		{
			name:      "one operator's two upstreams reorging are a minority",
			operators: []string{"a", "a", "b", "c"},
			steps: []step{
				obsL(0, blk(100, 0)), obsL(1, blk(100, 0)), obsL(2, blk(100, 0)), obsL(3, blk(100, 0)),
				obsL(0, child(100, 1, 0)), obsL(1, child(100, 1, 0)),
			},
			wantK: 2, latest: blk(100, 0), advances: 1,
		},
		{
			name:      "safe and finalized are agreed like latest",
			operators: []string{"a", "b", "c"},
			steps: []step{
				obs(0, withTags(blk(100, 0), blk(68, 0), blk(36, 0))),
				obs(1, withTags(blk(100, 0), blk(68, 0), blk(36, 0))),
				obs(2, withTags(blk(100, 0), blk(68, 2), blk(36, 2))),
			},
			wantK: 2, latest: blk(100, 0), safe: blk(68, 0), finalized: blk(36, 0), advances: 1,
		},
		{
			name:      "holding a block is not calling it safe",
			operators: []string{"a", "b", "c"},
			steps: []step{
				obsL(1, blk(90, 0)), obsL(2, blk(90, 0)),
				obs(0, withTags(blk(100, 0), blk(90, 0), blk(80, 0))),
				obs(1, withTags(blk(100, 0), blk(60, 0), blk(50, 0))),
				obs(2, withTags(blk(100, 0), blk(60, 0), blk(50, 0))),
			},
			wantK: 2, latest: blk(100, 0), safe: blk(60, 0), finalized: blk(50, 0), advances: 2,
		},
		{
			name:      "a chain without safe and finalized",
			operators: []string{"a", "b"},
			steps:     []step{obsL(0, blk(7, 0)), obsL(1, blk(7, 0))},
			wantK:     2, latest: blk(7, 0), advances: 1,
		},
		{
			name:      "finalized never moves back",
			operators: []string{"a", "b", "c"},
			steps: []step{
				obs(0, withTags(blk(100, 0), blk(95, 0), blk(90, 0))),
				obs(1, withTags(blk(100, 0), blk(95, 0), blk(90, 0))),
				obs(0, withTags(blk(100, 0), blk(85, 0), blk(80, 0))),
				obs(1, withTags(blk(100, 0), blk(85, 0), blk(80, 0))),
				obs(2, withTags(blk(100, 0), blk(85, 0), blk(80, 0))),
			},
			wantK: 2, latest: blk(100, 0), safe: blk(95, 0), finalized: blk(90, 0), advances: 1,
		},
		{
			name:      "a majority contradicting the finalized block is logged, not followed",
			operators: []string{"a", "b", "c"},
			steps: []step{
				obs(0, withTags(blk(100, 0), blk(90, 0), blk(90, 0))),
				obs(1, withTags(blk(100, 0), blk(90, 0), blk(90, 0))),
				obs(0, withTags(blk(100, 1), blk(90, 1), blk(90, 1))),
				obs(1, withTags(blk(100, 1), blk(90, 1), blk(90, 1))),
			},
			wantK: 2, latest: blk(100, 1), safe: blk(90, 1), finalized: blk(90, 0), advances: 1, reorgs: 1,
			logged: []string{"different finalized block", "number=90"},
		},
		{
			name:      "a majority reorg moves safe back",
			operators: []string{"a", "b", "c"},
			steps: []step{
				obs(0, withTags(blk(100, 0), blk(96, 0), none)),
				obs(1, withTags(blk(100, 0), blk(96, 0), none)),
				obs(2, withTags(blk(100, 0), blk(96, 0), none)),
				obs(0, withTags(child(96, 1, 0), blk(94, 0), none)),
				obs(1, withTags(child(96, 1, 0), blk(94, 0), none)),
			},
			wantK: 2, latest: child(96, 1, 0), safe: blk(94, 0), advances: 1, reorgs: 1,
		},
		{
			name:      "a lagging majority does not move safe back",
			operators: []string{"a", "b", "c"},
			steps: []step{
				obs(0, withTags(blk(100, 0), blk(96, 0), none)),
				obs(1, withTags(blk(100, 0), blk(96, 0), none)),
				obs(0, withTags(blk(100, 0), blk(94, 0), none)),
				obs(1, withTags(blk(100, 0), blk(94, 0), none)),
			},
			wantK: 2, latest: blk(100, 0), safe: blk(96, 0), advances: 1,
		},
		{
			name:      "explicit MinOperators below the majority",
			operators: []string{"a", "b", "c", "d"},
			k:         2,
			steps:     []step{obsL(0, blk(100, 0)), obsL(1, blk(100, 0))},
			wantK:     2, latest: blk(100, 0), advances: 1,
		},
		{
			name:      "explicit MinOperators above the majority",
			operators: []string{"a", "b", "c", "d"},
			k:         4,
			steps:     []step{obsL(0, blk(100, 0)), obsL(1, blk(100, 0)), obsL(2, blk(100, 0))},
			wantK:     4, latest: none,
		},
		{
			name:      "reports of upstreams not tracked are ignored",
			operators: []string{"a", "b", "c"},
			steps:     []step{obsL(0, blk(100, 0)), obsL(-1, blk(100, 0))},
			wantK:     2, latest: none,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ups := newUpstreams(t, tc.operators...)
			stranger := newUpstreams(t, "z")[0]
			reg := prometheus.NewRegistry()
			var logs logBuffer
			tr := New("test", ups, Options{MinOperators: tc.k, Registry: reg, Logger: logs.logger()})
			if got := tr.MinOperators(); got != tc.wantK {
				t.Fatalf("MinOperators() = %d, want %d", got, tc.wantK)
			}
			for _, s := range tc.steps {
				u := stranger
				if s.up >= 0 {
					u = ups[s.up]
				}
				if s.down {
					u.Quarantine("test: down")
					continue
				}
				tr.Observe(u, s.h)
			}
			tip := tr.Tip()
			if tip.Known != !tc.latest.IsZero() {
				t.Fatalf("tip known = %v, want %v (tip %+v)", tip.Known, !tc.latest.IsZero(), tip)
			}
			checkBlock(t, "latest", tip.Latest, tc.latest)
			checkBlock(t, "safe", tip.Safe, tc.safe)
			checkBlock(t, "finalized", tip.Finalized, tc.finalized)
			for kind, want := range map[string]float64{"advance": tc.advances, "reorg": tc.reorgs} {
				got := metricValue(t, reg, "braid_served_tip_changes_total", map[string]string{"network": "test", "kind": kind})
				if got != want {
					t.Errorf("served_tip_changes_total{kind=%s} = %v, want %v", kind, got, want)
				}
			}
			if len(tc.logged) > 0 && logs.count(tc.logged...) != 1 {
				t.Errorf("want one log line with %q; logs:\n%s", tc.logged, logs.String())
			}
			if tip.Known {
				if got := metricValue(t, reg, "braid_served_block", map[string]string{"network": "test", "tag": "latest"}); got != float64(tc.latest.Number) {
					t.Errorf("served_block{latest} = %v, want %d", got, tc.latest.Number)
				}
			}
		})
	}
}

func checkBlock(t *testing.T, what string, got, want block.Block) {
	t.Helper()
	if got.Number != want.Number || got.Hash != want.Hash {
		t.Errorf("%s = %d %s, want %d %s", what, got.Number, got.Hash.TerminalString(), want.Number, want.Hash.TerminalString())
	}
	if !want.IsZero() && got.ParentHash != want.ParentHash {
		t.Errorf("%s parent = %s, want %s", what, got.ParentHash.TerminalString(), want.ParentHash.TerminalString())
	}
}
