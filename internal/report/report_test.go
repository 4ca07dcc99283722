package report

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/braidrpc/braid/internal/config"
)

// topology returns a network whose upstreams are run by the operators
// named in ops, one upstream per entry ("a a b" is two upstreams of a and
// one of b). Every URL holds a fake API key tests look for in output.
func topology(ops string) config.Network {
	n := config.Network{Name: "mainnet", ChainID: 1}
	seen := map[string]int{}
	for _, op := range strings.Fields(ops) {
		seen[op]++
		n.Upstreams = append(n.Upstreams, config.Upstream{
			Name:     fmt.Sprintf("%s-%d", op, seen[op]),
			Operator: op,
			URL:      fmt.Sprintf("https://%s.example.com/v3/SECRETKEY%d", op, len(n.Upstreams)),
		})
	}
	return n
}

func quorum(k int, shortfall string) config.Quorum {
	return config.Quorum{K: k, OnDispute: config.OnDisputeError, OnShortfall: shortfall}
}

func TestBuild(t *testing.T) {
	const (
		errorMode  = config.OnShortfallError
		bestEffort = config.OnShortfallBestEffort
		none       = -1 // no quorum_reads figure
	)
	tests := []struct {
		name   string
		ops    string
		edit   func(*config.Network)
		reads  int
		qreads int
		txs    int
		min    int
		kMin   int
		kMax   int
		integ  int
		note   string
		warn   []string
	}{
		{
			name: "one operator, many URLs", ops: "infura infura infura",
			reads: 1, qreads: none, txs: 1, min: 1, kMin: 1, kMax: 1, integ: 1,
			note: "a single operator decides every answer",
			warn: []string{"all upstreams are run by one operator (infura): its outage or its lie reaches every client"},
		},
		{
			name: "three operators, no quorum", ops: "a b c",
			reads: 2, qreads: none, txs: 3, min: 2, kMin: 1, kMax: 1, integ: 1,
			note: "a single operator decides every answer",
			warn: []string{"no quorum: any one operator can return a wrong answer (set quorum.k)"},
		},
		{
			name: "three operators, k 2, error", ops: "a b c",
			edit:  func(n *config.Network) { n.Quorum = quorum(2, errorMode) },
			reads: 2, qreads: 2, txs: 3, min: 2, kMin: 2, kMax: 2, integ: 2,
			note: "2 operators must agree on quorum reads; methods outside quorum (eth_gasPrice, eth_feeHistory, …) rest on one operator",
			warn: []string{},
		},
		{
			name: "three operators, k 2, best effort", ops: "a b c",
			edit:  func(n *config.Network) { n.Quorum = quorum(2, bestEffort) },
			reads: 2, qreads: 2, txs: 3, min: 2, kMin: 2, kMax: 2, integ: 2,
			warn: []string{"on_shortfall is best_effort: when operators fail, answers may rest on fewer than k operators"},
		},
		{
			name: "three operators, k 3, error", ops: "a b c",
			edit:  func(n *config.Network) { n.Quorum = quorum(3, errorMode) },
			reads: 2, qreads: 1, txs: 3, min: 1, kMin: 3, kMax: 3, integ: 3,
			warn: []string{},
		},
		{
			name: "three operators, k 3, best effort", ops: "a b c",
			edit:  func(n *config.Network) { n.Quorum = quorum(3, bestEffort) },
			reads: 2, qreads: 2, txs: 3, min: 2, kMin: 3, kMax: 3, integ: 3,
			warn: []string{"on_shortfall is best_effort: when operators fail, answers may rest on fewer than k operators"},
		},
		{
			name: "k above the operators, error", ops: "a a b",
			edit:  func(n *config.Network) { n.Quorum = quorum(3, errorMode) },
			reads: 1, qreads: 0, txs: 2, min: 0, kMin: 3, kMax: 3, integ: 3,
			warn: []string{
				"quorum k=3 exceeds the number of operators (2): quorum reads always fail",
				"operator a runs 2 of 3 upstreams",
			},
		},
		{
			name: "k above the operators, best effort", ops: "a b",
			edit:  func(n *config.Network) { n.Quorum = quorum(3, bestEffort) },
			reads: 1, qreads: 1, txs: 2, min: 1, kMin: 3, kMax: 3, integ: 3,
			warn: []string{
				"quorum k=3 exceeds the number of operators (2): quorum reads are only ever best-effort",
				"on_shortfall is best_effort: when operators fail, answers may rest on fewer than k operators",
			},
		},
		{
			name: "one operator, k 2", ops: "a a",
			edit:  func(n *config.Network) { n.Quorum = quorum(2, errorMode) },
			reads: 1, qreads: 0, txs: 1, min: 0, kMin: 2, kMax: 2, integ: 2,
			warn: []string{
				"all upstreams are run by one operator (a): its outage or its lie reaches every client",
				"quorum k=2 exceeds the number of operators (1): quorum reads always fail",
			},
		},
		{
			name: "min_operators 1", ops: "a b c",
			edit:  func(n *config.Network) { n.Head.MinOperators = 1; n.Quorum = quorum(2, errorMode) },
			reads: 3, qreads: 2, txs: 3, min: 2, kMin: 2, kMax: 2, integ: 2,
			warn: []string{"head.min_operators is 1: any one operator can move the served tip"},
		},
		{
			name: "two operators, majority is both", ops: "a b",
			edit:  func(n *config.Network) { n.Quorum = quorum(2, errorMode) },
			reads: 1, qreads: 1, txs: 2, min: 1, kMin: 2, kMax: 2, integ: 2,
			warn: []string{},
		},
		{
			name: "four operators, majority", ops: "a b c d",
			edit:  func(n *config.Network) { n.Quorum = quorum(2, errorMode) },
			reads: 2, qreads: 2, txs: 4, min: 2, kMin: 2, kMax: 2, integ: 2,
			warn: []string{},
		},
		{
			name: "four operators, explicit min_operators 2", ops: "a b c d",
			edit:  func(n *config.Network) { n.Head.MinOperators = 2; n.Quorum = quorum(2, errorMode) },
			reads: 3, qreads: 3, txs: 4, min: 3, kMin: 2, kMax: 2, integ: 2,
			warn: []string{},
		},
		{
			name: "override lowers an eligible method to k 1", ops: "a b c",
			edit: func(n *config.Network) {
				n.Quorum = quorum(2, errorMode)
				n.Quorum.Methods = map[string]config.MethodQuorum{"eth_getLogs": {K: 1}}
			},
			reads: 2, qreads: 2, txs: 3, min: 2, kMin: 1, kMax: 2, integ: 1,
			note: "a single operator decides eth_getLogs; other quorum reads need up to 2 operators to agree",
			warn: []string{},
		},
		{
			name: "override raises a group above k", ops: "a b c d",
			edit: func(n *config.Network) {
				n.Quorum = quorum(2, errorMode)
				n.Quorum.Methods = map[string]config.MethodQuorum{"logs": {K: 3}}
			},
			reads: 2, qreads: 2, txs: 4, min: 2, kMin: 2, kMax: 3, integ: 2,
			note: "2 to 3 operators must agree on quorum reads; methods outside quorum (eth_gasPrice, eth_feeHistory, …) rest on one operator",
			warn: []string{},
		},
		{
			name: "quorum on a method outside the defaults", ops: "a b c",
			edit: func(n *config.Network) {
				n.Quorum = quorum(2, errorMode)
				n.Quorum.Methods = map[string]config.MethodQuorum{"eth_feeHistory": {K: 2}}
			},
			reads: 2, qreads: 2, txs: 3, min: 2, kMin: 2, kMax: 2, integ: 2,
			note: "2 operators must agree on quorum reads; methods outside quorum (eth_gasPrice, eth_maxPriorityFeePerGas, …) rest on one operator",
			warn: []string{},
		},
		{
			name: "majority outvotes a k above it", ops: "a b c",
			edit: func(n *config.Network) {
				n.Quorum = quorum(3, errorMode)
				n.Quorum.OnDispute = config.OnDisputeMajority
			},
			reads: 2, qreads: 1, txs: 3, min: 1, kMin: 3, kMax: 3, integ: 2,
			note: "with on_dispute majority, 2 colluding operators outvote the other 1 in a dispute, below k 3; methods outside quorum (eth_gasPrice, eth_feeHistory, …) rest on one operator",
			warn: []string{},
		},
		{
			name: "majority at or above k changes nothing", ops: "a b c d",
			edit: func(n *config.Network) {
				n.Quorum = quorum(2, errorMode)
				n.Quorum.OnDispute = config.OnDisputeMajority
			},
			reads: 2, qreads: 2, txs: 4, min: 2, kMin: 2, kMax: 2, integ: 2,
			note: "2 operators must agree on quorum reads; methods outside quorum (eth_gasPrice, eth_feeHistory, …) rest on one operator",
			warn: []string{},
		},
		{
			name: "one operator runs most upstreams", ops: "infura infura infura alchemy",
			edit:  func(n *config.Network) { n.Quorum = quorum(2, errorMode) },
			reads: 1, qreads: 1, txs: 2, min: 1, kMin: 2, kMax: 2, integ: 2,
			warn: []string{"operator infura runs 3 of 4 upstreams"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n := topology(tt.ops)
			if tt.edit != nil {
				tt.edit(&n)
			}
			r, err := Build(&n, nil)
			if err != nil {
				t.Fatal(err)
			}
			a := r.Availability
			qreads := none
			if a.QuorumReads != nil {
				qreads = *a.QuorumReads
			}
			if a.Reads != tt.reads || qreads != tt.qreads || a.Transactions != tt.txs || a.Min != tt.min {
				t.Errorf("availability = reads %d, quorum reads %d, transactions %d, min %d; want %d, %d, %d, %d",
					a.Reads, qreads, a.Transactions, a.Min, tt.reads, tt.qreads, tt.txs, tt.min)
			}
			if r.Quorum.KMin != tt.kMin || r.Quorum.KMax != tt.kMax {
				t.Errorf("k_min, k_max = %d, %d; want %d, %d", r.Quorum.KMin, r.Quorum.KMax, tt.kMin, tt.kMax)
			}
			if r.Integrity.Value != tt.integ || r.Integrity.ReadsOutsideQuorum != 1 {
				t.Errorf("integrity = %+v, want value %d", r.Integrity, tt.integ)
			}
			if tt.note != "" && r.Integrity.Note != tt.note {
				t.Errorf("integrity note = %q\nwant %q", r.Integrity.Note, tt.note)
			}
			if !slices.Equal(r.Warnings, tt.warn) {
				t.Errorf("warnings:\n got %q\nwant %q", r.Warnings, tt.warn)
			}
			if !r.OK || r.Window != "" || r.Requests != 0 || r.HHI != 0 {
				t.Errorf("config-only report has ok %v, window %q, requests %d, hhi %v", r.OK, r.Window, r.Requests, r.HHI)
			}
			for _, op := range r.Operators {
				if op.Usable != nil || op.QuarantinedUntil != nil {
					t.Errorf("config-only operator %s has live figures", op.Name)
				}
			}
		})
	}
}

func TestBuildOperators(t *testing.T) {
	n := topology("infura alchemy infura self")
	r, err := Build(&n, nil)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, op := range r.Operators {
		got = append(got, op.Name+":"+strings.Join(op.Upstreams, ","))
	}
	want := []string{"infura:infura-1,infura-2", "alchemy:alchemy-1", "self:self-1"}
	if !slices.Equal(got, want) {
		t.Errorf("operators = %q, want %q", got, want)
	}
	if r.Name != "mainnet" || r.ChainID != 1 || r.Quorum.K != 1 || len(r.Quorum.Methods) != 0 {
		t.Errorf("report = %+v", r)
	}
}

func TestBuildInvalidPolicy(t *testing.T) {
	n := topology("a b")
	n.Quorum = quorum(2, config.OnShortfallError)
	n.Quorum.Methods = map[string]config.MethodQuorum{"eth_sendRawTransaction": {K: 2}}
	if _, err := Build(&n, nil); err == nil || !strings.Contains(err.Error(), "eth_sendRawTransaction") {
		t.Errorf("Build = %v, want an error naming the method", err)
	}
}

func TestRequire(t *testing.T) {
	tests := []struct {
		name  string
		ops   string
		k     int
		req   config.Require
		ok    bool
		unmet []string
	}{
		{name: "none", ops: "a", ok: true},
		{name: "both met", ops: "a b c", k: 2, req: config.Require{Availability: 2, Integrity: 2}, ok: true},
		{name: "availability unmet", ops: "a b", k: 2, req: config.Require{Availability: 2},
			unmet: []string{"availability 1 is below the required 2"}},
		{name: "integrity unmet", ops: "a b c", req: config.Require{Integrity: 2},
			unmet: []string{"integrity 1 is below the required 2"}},
		{name: "both unmet", ops: "a a", k: 1, req: config.Require{Availability: 2, Integrity: 3},
			unmet: []string{"availability 1 is below the required 2", "integrity 1 is below the required 3"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n := topology(tt.ops)
			n.Quorum = quorum(tt.k, config.OnShortfallError)
			n.Require = tt.req
			r, err := Build(&n, nil)
			if err != nil {
				t.Fatal(err)
			}
			if r.OK != tt.ok || !slices.Equal(r.Require.Unmet, tt.unmet) {
				t.Errorf("ok %v, unmet %q; want %v, %q", r.OK, r.Require.Unmet, tt.ok, tt.unmet)
			}
			if r.Require.Availability != tt.req.Availability || r.Require.Integrity != tt.req.Integrity {
				t.Errorf("require = %+v, want %+v", r.Require, tt.req)
			}
			if rep := New([]*Network{r}); rep.OK != tt.ok {
				t.Errorf("report ok = %v, want %v", rep.OK, tt.ok)
			}
		})
	}
}

func TestNewOK(t *testing.T) {
	if !New(nil).OK {
		t.Error("an empty report is not ok")
	}
	if New([]*Network{{OK: true}, {OK: false}}).OK {
		t.Error("a report with an unmet network is ok")
	}
}

func TestLive(t *testing.T) {
	now := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name     string
		ops      string
		live     Live
		requests uint64
		hhi      float64
		shares   []float64
		warn     []string
	}{
		{
			name: "even split", ops: "a b",
			live:     Live{Window: time.Hour, Served: map[string]uint64{"a": 50, "b": 50}},
			requests: 100, hhi: 5000, shares: []float64{0.5, 0.5},
		},
		{
			name: "one operator serves all", ops: "a b",
			live:     Live{Window: time.Hour, Served: map[string]uint64{"a": 40}},
			requests: 40, hhi: 10000, shares: []float64{1, 0},
			warn: []string{"operator a served 100 % of reads in the last hour"},
		},
		{
			name: "share at the threshold", ops: "a b",
			live:     Live{Window: 30 * time.Minute, Served: map[string]uint64{"a": 16, "b": 4}},
			requests: 20, hhi: 6800, shares: []float64{0.8, 0.2},
			warn: []string{"operator a served 80 % of reads in the last 30m"},
		},
		{
			name: "share below the threshold", ops: "a b",
			live:     Live{Window: time.Hour, Served: map[string]uint64{"a": 15, "b": 5}},
			requests: 20, hhi: 6250, shares: []float64{0.75, 0.25},
		},
		{
			name: "too few requests to warn", ops: "a b",
			live:     Live{Window: time.Hour, Served: map[string]uint64{"a": 19}},
			requests: 19, hhi: 10000, shares: []float64{1, 0},
		},
		{
			name: "one operator network never warns on share", ops: "a a",
			live:     Live{Window: time.Hour, Served: map[string]uint64{"a": 100}},
			requests: 100, hhi: 10000, shares: []float64{1},
			warn: []string{
				"all upstreams are run by one operator (a): its outage or its lie reaches every client",
				"quorum k=2 exceeds the number of operators (1): quorum reads always fail",
			},
		},
		{
			name: "no requests", ops: "a b",
			live:   Live{Window: time.Hour},
			shares: []float64{0, 0},
		},
		{
			name: "quarantine", ops: "a b c",
			live: Live{Window: time.Hour, Now: now, Quarantined: map[string]time.Time{
				"b": now.Add(30 * time.Minute),
				"c": now.Add(-time.Minute), // over
			}},
			shares: []float64{0, 0, 0},
			warn:   []string{"operator b is quarantined until 12:30:00 UTC (lost disputes)"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n := topology(tt.ops)
			n.Quorum = quorum(2, config.OnShortfallError)
			r, err := Build(&n, &tt.live)
			if err != nil {
				t.Fatal(err)
			}
			if r.Requests != tt.requests || r.HHI != tt.hhi {
				t.Errorf("requests %d, hhi %v; want %d, %v", r.Requests, r.HHI, tt.requests, tt.hhi)
			}
			var shares []float64
			for _, op := range r.Operators {
				shares = append(shares, op.Share)
				if op.Usable == nil {
					t.Errorf("operator %s has no usable figure", op.Name)
				}
			}
			if !slices.Equal(shares, tt.shares) {
				t.Errorf("shares = %v, want %v", shares, tt.shares)
			}
			if r.Window != tt.live.Window.String() {
				t.Errorf("window = %q", r.Window)
			}
			warn := tt.warn
			if warn == nil {
				warn = []string{}
			}
			if !slices.Equal(r.Warnings, warn) {
				t.Errorf("warnings:\n got %q\nwant %q", r.Warnings, warn)
			}
		})
	}
}

func TestLiveOperatorFigures(t *testing.T) {
	now := time.Date(2025, 3, 1, 12, 0, 0, 0, time.FixedZone("CET", 3600))
	n := topology("a a b")
	until := now.Add(time.Hour)
	r, err := Build(&n, &Live{
		Window:      time.Hour,
		Usable:      map[string]int{"a": 1},
		Served:      map[string]uint64{"a": 3, "b": 1},
		Quarantined: map[string]time.Time{"b": until},
		Now:         now,
	})
	if err != nil {
		t.Fatal(err)
	}
	a, b := r.Operators[0], r.Operators[1]
	if *a.Usable != 1 || *b.Usable != 0 {
		t.Errorf("usable = %d, %d; want 1, 0", *a.Usable, *b.Usable)
	}
	if a.Served != 3 || b.Served != 1 || a.Share != 0.75 {
		t.Errorf("served %d, %d, share %v", a.Served, b.Served, a.Share)
	}
	if a.QuarantinedUntil != nil || b.QuarantinedUntil == nil || !b.QuarantinedUntil.Equal(until) || b.QuarantinedUntil.Location() != time.UTC {
		t.Errorf("quarantined until %v, %v", a.QuarantinedUntil, b.QuarantinedUntil)
	}
}

func TestWindowPhrase(t *testing.T) {
	for d, want := range map[time.Duration]string{
		time.Hour:        "last hour",
		time.Minute:      "last minute",
		24 * time.Hour:   "last day",
		30 * time.Minute: "last 30m",
		90 * time.Minute: "last 1h30m",
		2 * time.Hour:    "last 2h",
		45 * time.Second: "last 45s",
	} {
		if got := windowPhrase(d); got != want {
			t.Errorf("windowPhrase(%s) = %q, want %q", d, got, want)
		}
	}
}

func TestVerifiedIntegrity(t *testing.T) {
	for _, tt := range []struct {
		name  string
		k     int
		minOp int
		allow []string
		want  int
	}{
		{"strict, majority of 4 holds the head", 1, 0, nil, 3},
		{"strict, explicit min_operators", 1, 2, nil, 2},
		{"strict with the EVM off, eth_call allowed unverified and no quorum", 1, 0, []string{"eth_call"}, 1},
		{"strict with the EVM off, eth_call allowed unverified under quorum 2", 2, 0, []string{"eth_call"}, 2},
		{"strict with the EVM on, eth_call named in allow_unverified is proven", 1, 0, []string{"eth_call", "evm"}, 3},
		{"strict, quorum above the head's operators", 4, 0, nil, 3},
	} {
		t.Run(tt.name, func(t *testing.T) {
			n := topology("a b c d")
			n.Quorum = quorum(tt.k, "")
			n.Head.MinOperators = tt.minOp
			n.Verify = config.Verify{Mode: config.VerifyStrict, AllowUnverified: tt.allow}
			if len(tt.allow) == 1 {
				off := false
				n.Verify.EVM.Enabled = &off
			}
			r, err := Build(&n, nil)
			if err != nil {
				t.Fatal(err)
			}
			if r.Integrity.Value != tt.want || r.Verify != "strict" || !strings.Contains(r.Integrity.Note, "only the trusted head is left to attack") {
				t.Fatalf("integrity %+v (verify %q), want %d", r.Integrity, r.Verify, tt.want)
			}
		})
	}
}

// sameURL is topology(ops) with upstream again's URL set to first's,
// spelled differently (upper-case host, default port, trailing slash).
func sameURL(ops string, first, again int) config.Network {
	n := topology(ops)
	u := n.Upstreams[first].URL
	n.Upstreams[again].URL = strings.Replace(strings.ToUpper(u[:8])+u[8:], ".com/", ".COM:443/", 1) + "/"
	return n
}

// TestSameURLCountsOnce: one URL configured under two operators is one
// endpoint run by one operator, counted once (as the first's) in every
// figure; the report warns, naming both, and never shows the URL's path.
func TestSameURLCountsOnce(t *testing.T) {
	n := sameURL("a b c", 0, 1) // b's only URL is a's
	n.Quorum = quorum(2, config.OnShortfallError)
	r, err := Build(&n, nil)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, op := range r.Operators {
		got = append(got, op.Name+":"+strings.Join(op.Upstreams, ","))
	}
	if want := []string{"a:a-1", "c:c-1"}; !slices.Equal(got, want) {
		t.Errorf("operators = %q, want %q", got, want)
	}
	// Two operators: a tip needs both, so losing one stops reads, and k 2
	// needs both too.
	if a := r.Availability; a.Reads != 1 || a.Transactions != 2 || a.Min != 1 || *a.QuorumReads != 1 {
		t.Errorf("availability = %+v, want reads 1, transactions 2, min 1", a)
	}
	want := `upstreams "a-1" (operator a) and "b-1" (operator b) have the same URL (https://a.example.com/…): one endpoint cannot be two independent operators, so the report counts it once, as operator a's`
	if len(r.Warnings) == 0 || !strings.HasPrefix(r.Warnings[0], want) {
		t.Errorf("warnings = %q\nwant the first to start with %q", r.Warnings, want)
	}
	for _, w := range r.Warnings {
		if strings.Contains(w, "SECRETKEY") || strings.Contains(w, "/v3") {
			t.Errorf("warning shows the URL's path: %q", w)
		}
	}

	// The same URL twice under one operator is one upstream.
	n = sameURL("a a b", 0, 1)
	r, err = Build(&n, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Operators) != 2 || !slices.Equal(r.Operators[0].Upstreams, []string{"a-1"}) {
		t.Errorf("operators = %+v, want a with a-1 only, and b", r.Operators)
	}
	for _, w := range r.Warnings {
		if strings.HasPrefix(w, "operator a runs") {
			t.Errorf("a's repeated URL counted as a second upstream: %q", w)
		}
	}
	if want := `upstreams "a-1" and "a-2" of operator a have the same URL (https://a.example.com/…): it is one endpoint and counts as one upstream`; !slices.Contains(r.Warnings, want) {
		t.Errorf("warnings = %q, want %q", r.Warnings, want)
	}
}

// TestSameURLLive: reads an uncounted operator's upstream served are the
// shared endpoint's, so they count for the operator it is counted under;
// usable counts no more upstreams than the operator has.
func TestSameURLLive(t *testing.T) {
	n := sameURL("a a b c", 0, 3)           // c's only URL is a's; a's two URLs differ
	n.Upstreams[1].URL = n.Upstreams[0].URL // a-2 repeats a-1
	r, err := Build(&n, &Live{
		Window: time.Hour,
		Served: map[string]uint64{"a": 10, "b": 20, "c": 10},
		Usable: map[string]int{"a": 2, "b": 1, "c": 1},
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Operators) != 2 {
		t.Fatalf("operators = %+v, want a and b", r.Operators)
	}
	a, b := r.Operators[0], r.Operators[1]
	if a.Served != 20 || b.Served != 20 || r.Requests != 40 || a.Share != 0.5 {
		t.Errorf("served a %d, b %d, requests %d, a's share %v; want 20, 20, 40, 0.5", a.Served, b.Served, r.Requests, a.Share)
	}
	if *a.Usable != 1 || *b.Usable != 1 {
		t.Errorf("usable a %d, b %d; want 1, 1", *a.Usable, *b.Usable)
	}
}
