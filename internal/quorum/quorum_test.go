package quorum

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/braidrpc/braid/internal/clock"
	"github.com/braidrpc/braid/internal/config"
	"github.com/braidrpc/braid/internal/jsonrpc"
	"github.com/braidrpc/braid/internal/route"
	"github.com/braidrpc/braid/internal/upstream"
)

// script is one operator's behaviour in a fake router.
type script struct {
	result string // JSON result
	err    error  // a failure instead
	rpc    *jsonrpc.Error
	hang   bool // answer only when the call is cancelled
	unserv bool
	url    string // the upstream's URL (default: one of the operator's own)
}

type fakeAsker struct {
	ops   []string
	by    map[string]script
	delay time.Duration

	mu    sync.Mutex
	asked []string
}

func (f *fakeAsker) Operators(route.Call) []string   { return f.ops }
func (f *fakeAsker) HedgeDelay(string) time.Duration { return f.delay }

func (f *fakeAsker) Do(ctx context.Context, c route.Call) (*route.Result, error) {
	f.mu.Lock()
	f.asked = append(f.asked, c.Operator)
	f.mu.Unlock()
	s := f.by[c.Operator]
	if s.hang {
		<-ctx.Done()
		return nil, ctx.Err()
	}
	if s.err != nil {
		return nil, s.err
	}
	url := s.url
	if url == "" {
		url = "http://127.0.0.1:1/" + c.Operator
	}
	u := upstream.New(config.Upstream{Name: c.Operator + "-1", Operator: c.Operator, URL: url}, upstream.Options{})
	resp := &jsonrpc.Response{Result: json.RawMessage(s.result)}
	if s.rpc != nil {
		resp = &jsonrpc.Response{Error: s.rpc}
	}
	return &route.Result{Response: resp, Upstream: u, Attempts: 1, Unserved: s.unserv}, nil
}

func (f *fakeAsker) askedOps() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.asked)
}

func run(t *testing.T, f *fakeAsker, k int, onDispute, onShortfall string) (*Outcome, error) {
	t.Helper()
	if f.delay == 0 {
		f.delay = time.Hour // no hedging unless a test asks for it
	}
	req := Request{Call: route.Call{Method: "eth_getBalance", Class: "state"}, K: k, OnDispute: onDispute, OnShortfall: onShortfall}
	return Run(context.Background(), f, req, clock.Real{})
}

var errDown = &route.Failure{Code: jsonrpc.CodeUpstreamsFailed, Message: "every upstream tried failed"}

func TestAgreement(t *testing.T) {
	honest := script{result: `"0x10"`}
	for _, tt := range []struct {
		name        string
		ops         []string
		by          map[string]script
		k           int
		onDispute   string
		onShortfall string
		want        string // result, or "" when refused
		wantCode    int
		decision    string
		agreed      []string
		losers      []string
		asked       int
	}{
		{name: "two of three agree at once", ops: []string{"a", "b", "c"},
			by: map[string]script{"a": honest, "b": honest, "c": honest}, k: 2,
			want: `"0x10"`, decision: Agreed, agreed: []string{"a", "b"}, asked: 2},
		{name: "a liar is outvoted by the next operator", ops: []string{"liar", "a", "b"},
			by: map[string]script{"liar": {result: `"0x11"`}, "a": honest, "b": honest}, k: 2,
			want: `"0x10"`, decision: Resolved, agreed: []string{"a", "b"}, losers: []string{"liar"}, asked: 3},
		{name: "a failed operator is replaced", ops: []string{"a", "down", "b", "c"},
			by: map[string]script{"a": honest, "down": {err: errDown}, "b": honest, "c": honest}, k: 2,
			want: `"0x10"`, decision: Agreed, agreed: []string{"a", "b"}, asked: 3},
		{name: "an operator that cannot serve is replaced", ops: []string{"a", "old", "b"},
			by: map[string]script{"a": honest, "old": {rpc: &jsonrpc.Error{Code: -32601, Message: "no such method"}, unserv: true}, "b": honest}, k: 2,
			want: `"0x10"`, decision: Agreed, agreed: []string{"a", "b"}, asked: 3},
		{name: "three different answers are a dispute", ops: []string{"a", "b", "c"},
			by: map[string]script{"a": honest, "b": {result: `"0x11"`}, "c": {result: `"0x12"`}}, k: 2,
			wantCode: jsonrpc.CodeDispute, decision: Disputed, asked: 3},
		{name: "majority needs a strict majority", ops: []string{"a", "b", "c"},
			by: map[string]script{"a": honest, "b": {result: `"0x11"`}, "c": {result: `"0x12"`}}, k: 2, onDispute: config.OnDisputeMajority,
			wantCode: jsonrpc.CodeDispute, decision: Disputed, asked: 3},
		{name: "majority takes two of three when k is three", ops: []string{"a", "liar", "b"},
			by: map[string]script{"a": honest, "liar": {result: `"0x11"`}, "b": honest}, k: 3, onDispute: config.OnDisputeMajority,
			want: `"0x10"`, decision: Majority, agreed: []string{"a", "b"}, losers: []string{"liar"}, asked: 3},
		{name: "k three, one liar, error policy", ops: []string{"a", "liar", "b"},
			by: map[string]script{"a": honest, "liar": {result: `"0x11"`}, "b": honest}, k: 3,
			wantCode: jsonrpc.CodeDispute, decision: Disputed, asked: 3},
		{name: "shortfall is an error by default", ops: []string{"a", "down"},
			by: map[string]script{"a": honest, "down": {err: errDown}}, k: 2,
			wantCode: jsonrpc.CodeQuorumShortfall, decision: Shortfall, asked: 2},
		{name: "shortfall best effort answers with what agrees", ops: []string{"a", "down"},
			by: map[string]script{"a": honest, "down": {err: errDown}}, k: 2, onShortfall: config.OnShortfallBestEffort,
			want: `"0x10"`, decision: BestEffort, agreed: []string{"a"}, asked: 2},
		{name: "k above the operators", ops: []string{"a", "b"},
			by: map[string]script{"a": honest, "b": honest}, k: 3,
			wantCode: jsonrpc.CodeQuorumShortfall, decision: Shortfall, asked: 2},
		{name: "everybody down", ops: []string{"a", "b"},
			by: map[string]script{"a": {err: errDown}, "b": {err: errDown}}, k: 2,
			wantCode: jsonrpc.CodeUpstreamsFailed, decision: Shortfall, asked: 2},
		{name: "nobody able", ops: nil, k: 2, wantCode: jsonrpc.CodeUnavailable, decision: Shortfall},
		{name: "reverts agree by code and data, not message", ops: []string{"a", "b"},
			by: map[string]script{
				"a": {rpc: &jsonrpc.Error{Code: 3, Message: "execution reverted", Data: json.RawMessage(`"0x08c379a0"`)}},
				"b": {rpc: &jsonrpc.Error{Code: 3, Message: "execution reverted: boom", Data: json.RawMessage(`"0x08c379a0"`)}}}, k: 2,
			decision: Agreed, agreed: []string{"a", "b"}, asked: 2},
		{name: "a revert against a result is a dispute", ops: []string{"a", "b"},
			by: map[string]script{"a": {rpc: &jsonrpc.Error{Code: 3, Message: "execution reverted"}}, "b": honest}, k: 2,
			wantCode: jsonrpc.CodeDispute, decision: Disputed, asked: 2},
		// One endpoint configured under two operators is one answer: the
		// quorum waits for a third operator (issue 13).
		{name: "one URL under two operators counts once", ops: []string{"a", "copy", "b"},
			by: map[string]script{"a": {result: `"0x10"`, url: "http://10.0.0.5:8545/"}, "copy": {result: `"0x10"`, url: "HTTP://10.0.0.5:8545"}, "b": honest}, k: 2,
			want: `"0x10"`, decision: Agreed, asked: 3},
		{name: "one URL under two operators is no quorum alone", ops: []string{"a", "copy"},
			by: map[string]script{"a": {result: `"0x11"`, url: "http://10.0.0.5:8545"}, "copy": {result: `"0x11"`, url: "http://10.0.0.5:8545"}}, k: 2,
			wantCode: jsonrpc.CodeQuorumShortfall, decision: Shortfall, asked: 2},
		{name: "a lying endpoint under two operators loses twice", ops: []string{"a", "copy", "b", "c"},
			by: map[string]script{"a": {result: `"0x11"`, url: "http://10.0.0.5:8545"}, "copy": {result: `"0x11"`, url: "http://10.0.0.5:8545"}, "b": honest, "c": honest}, k: 2,
			want: `"0x10"`, decision: Resolved, agreed: []string{"b", "c"}, losers: []string{"a", "copy"}, asked: 4},
		{name: "unserved everywhere passes the error through", ops: []string{"a", "b"},
			by: map[string]script{"a": {rpc: &jsonrpc.Error{Code: -32601, Message: "no such method"}, unserv: true},
				"b": {rpc: &jsonrpc.Error{Code: -32601, Message: "no such method"}, unserv: true}}, k: 2,
			asked: 2},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f := &fakeAsker{ops: tt.ops, by: tt.by}
			o, err := run(t, f, tt.k, tt.onDispute, tt.onShortfall)
			if tt.wantCode != 0 {
				if err == nil || jsonrpc.FromError(err).Code != tt.wantCode {
					t.Fatalf("err %v, want code %d", err, tt.wantCode)
				}
				if !IsRefusal(err) {
					t.Errorf("%T is not a refusal", err)
				}
				if data := jsonrpc.FromError(err).Data; len(tt.ops) > 0 && len(data) == 0 {
					t.Error("no error data naming the operators")
				}
			} else {
				if err != nil {
					t.Fatal(err)
				}
				if tt.want != "" && string(o.Response.Result) != tt.want {
					t.Fatalf("result %s, want %s", o.Response.Result, tt.want)
				}
			}
			if o.Decision != tt.decision {
				t.Errorf("decision %q, want %q", o.Decision, tt.decision)
			}
			slices.Sort(o.Agreed)
			if tt.agreed != nil && !slices.Equal(o.Agreed, tt.agreed) {
				t.Errorf("agreed %v, want %v", o.Agreed, tt.agreed)
			}
			slices.Sort(o.Losers)
			if !slices.Equal(o.Losers, tt.losers) {
				t.Errorf("losers %v, want %v", o.Losers, tt.losers)
			}
			if got := f.askedOps(); len(got) != tt.asked {
				t.Errorf("asked %v, want %d operators", got, tt.asked)
			}
		})
	}
}

func TestSlowOperatorIsHedged(t *testing.T) {
	f := &fakeAsker{ops: []string{"a", "slow", "b"}, delay: 5 * time.Millisecond,
		by: map[string]script{"a": {result: `"0x1"`}, "slow": {hang: true}, "b": {result: `"0x1"`}}}
	o, err := run(t, f, 2, "", "")
	if err != nil {
		t.Fatal(err)
	}
	if slices.Sort(o.Agreed); !slices.Equal(o.Agreed, []string{"a", "b"}) {
		t.Fatalf("agreed %v", o.Agreed)
	}
}

func TestDeadlineWithTooFewAnswers(t *testing.T) {
	f := &fakeAsker{ops: []string{"a", "slow"}, delay: time.Hour,
		by: map[string]script{"a": {result: `"0x1"`}, "slow": {hang: true}}}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	_, err := Run(ctx, f, Request{Call: route.Call{Method: "eth_call"}, K: 2}, clock.Real{})
	var qe *Error
	if !errors.As(err, &qe) || qe.Code != jsonrpc.CodeQuorumShortfall {
		t.Fatalf("err %v, want a shortfall", err)
	}
	if want := "did not answer in time"; !strings.Contains(qe.Message, want) {
		t.Fatalf("message %q lacks %q", qe.Message, want)
	}
}

func TestAuditAsksAnOperatorBeyondTheBest(t *testing.T) {
	honest := script{result: `"0x1"`}
	f := &fakeAsker{ops: []string{"a", "b", "idle-liar"}, delay: time.Hour,
		by: map[string]script{"a": honest, "b": honest, "idle-liar": {result: `"0x2"`}}}
	req := Request{Call: route.Call{Method: "eth_call"}, K: 2, Audit: true, Rand: func(n int) int { return n - 1 }}
	o, err := Run(context.Background(), f, req, clock.Real{})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(o.Losers, []string{"idle-liar"}) || o.Decision != Resolved {
		t.Fatalf("losers %v, decision %s: the audit did not ask the idle operator", o.Losers, o.Decision)
	}
	if asked := f.askedOps(); len(asked) != 3 {
		t.Fatalf("asked %v", asked)
	}
}

// lateAsker is a fakeAsker whose third operator becomes able to take the
// call only at a given time (its head reached the pinned block a moment
// after the others').
type lateAsker struct {
	*fakeAsker
	from time.Time
}

func (l *lateAsker) Operators(route.Call) []string {
	if time.Now().Before(l.from) {
		return []string{"a", "b"}
	}
	return []string{"a", "b", "c"}
}

// TestCatchUpAsksAnOperatorThatArrivesLate: a read out of operators before
// K agree waits up to CatchUp for another; without CatchUp it falls short.
func TestCatchUpAsksAnOperatorThatArrivesLate(t *testing.T) {
	by := map[string]script{"a": {err: errDown}, "b": {result: `"0x1"`}, "c": {result: `"0x1"`}}
	for _, catchUp := range []time.Duration{0, 5 * time.Second} {
		l := &lateAsker{fakeAsker: &fakeAsker{by: by, delay: time.Hour}, from: time.Now().Add(time.Second)}
		req := Request{Call: route.Call{Method: "eth_getBalance", Class: "state"}, K: 2, CatchUp: catchUp,
			OnDispute: config.OnDisputeError, OnShortfall: config.OnShortfallError}
		o, err := Run(context.Background(), l, req, clock.Real{})
		if catchUp == 0 {
			var qe *Error
			if !errors.As(err, &qe) || qe.Code != jsonrpc.CodeQuorumShortfall {
				t.Errorf("without catch-up: %v, want a shortfall", err)
			}
			continue
		}
		if err != nil || o.Decision != Agreed || !slices.Equal(o.Agreed, []string{"b", "c"}) {
			t.Errorf("with catch-up: %+v %v, want b and c agreeing", o, err)
		}
	}
}

// laggingAsker is a fakeAsker that counts its usable operators, one of
// which (behind) cannot take the call until caughtUp is set: its head has
// not yet reached the pinned block.
type laggingAsker struct {
	*fakeAsker
	behind   string
	caughtUp chan struct{}
}

func (l *laggingAsker) Operators(route.Call) []string {
	select {
	case <-l.caughtUp:
		return slices.Clone(l.ops)
	default:
	}
	return slices.DeleteFunc(slices.Clone(l.ops), func(op string) bool { return op == l.behind })
}

func (l *laggingAsker) UsableOperators() int { return len(l.ops) }

// runLagging runs req against l on a fake clock. When the read starts
// waiting for another operator (its catch-up timer is set), the lagging
// one catches up and the clock moves on; waited reports whether it did.
func runLagging(t *testing.T, l *laggingAsker, req Request) (o *Outcome, err error, waited bool) {
	t.Helper()
	clk := clock.NewFake(time.Unix(1_000_000, 0))
	type result struct {
		o   *Outcome
		err error
	}
	done := make(chan result, 1)
	go func() {
		o, err := Run(context.Background(), l, req, clk)
		done <- result{o, err}
	}()
	deadline := time.Now().Add(10 * time.Second) // a bound on a hang, not a timing
	for {
		select {
		case r := <-done:
			return r.o, r.err, waited
		default:
		}
		if time.Now().After(deadline) {
			t.Fatal("the quorum read neither ended nor waited")
		}
		if clk.Waiters() == 0 { // no hedge timer (see callers): a timer is the catch-up poll
			time.Sleep(time.Millisecond)
			continue
		}
		if !waited {
			waited = true
			close(l.caughtUp)
		}
		clk.Advance(catchUpPoll)
	}
}

// TestCatchUpSettlesADisputeWithAnOperatorBehind: quorum 2 over three
// operators; the liar and one honest operator hold the pinned block, the
// other honest one is a block behind (the served tip moves once two
// operators hold a block). The read waits for it, answers what the two
// honest operators agree on and strikes the liar, instead of refusing
// the read as a dispute nobody is struck for.
func TestCatchUpSettlesADisputeWithAnOperatorBehind(t *testing.T) {
	by := map[string]script{"honest": {result: `"0x1"`}, "liar": {result: `"0x2"`}, "behind": {result: `"0x1"`}}
	l := &laggingAsker{fakeAsker: &fakeAsker{ops: []string{"honest", "liar", "behind"}, by: by, delay: time.Hour},
		behind: "behind", caughtUp: make(chan struct{})}
	req := Request{Call: route.Call{Method: "eth_getBalance", Class: "state"}, K: 2, CatchUp: time.Second,
		OnDispute: config.OnDisputeError, OnShortfall: config.OnShortfallError}
	o, err, waited := runLagging(t, l, req)
	if err != nil {
		t.Fatalf("read refused: %v", err)
	}
	if !waited || o.Decision != Resolved || !slices.Equal(o.Agreed, []string{"honest", "behind"}) || !slices.Equal(o.Losers, []string{"liar"}) {
		t.Fatalf("waited %v, decision %s, agreed %v, losers %v", waited, o.Decision, o.Agreed, o.Losers)
	}
}

// TestCatchUpDoesNotWaitOnAnUnsettlableDispute: a disagreement that the
// operators left cannot bring to K is refused at once, without waiting.
func TestCatchUpDoesNotWaitOnAnUnsettlableDispute(t *testing.T) {
	for _, tt := range []struct {
		name string
		ops  []string
		k    int
	}{
		{"every operator answered", []string{"x", "y", "z"}, 2},
		{"one behind cannot make three", []string{"x", "y", "behind"}, 3},
	} {
		by := map[string]script{"x": {result: `"0x1"`}, "y": {result: `"0x2"`}, "z": {result: `"0x3"`}, "behind": {result: `"0x1"`}}
		// Hedging at once: three operators listed for K 2 would otherwise
		// leave a hedge timer that runLagging takes for the catch-up poll.
		l := &laggingAsker{fakeAsker: &fakeAsker{ops: tt.ops, by: by}, behind: "behind", caughtUp: make(chan struct{})}
		req := Request{Call: route.Call{Method: "eth_getBalance", Class: "state"}, K: tt.k, CatchUp: time.Second,
			OnDispute: config.OnDisputeError, OnShortfall: config.OnShortfallError}
		_, err, waited := runLagging(t, l, req)
		var qe *Error
		if waited || !errors.As(err, &qe) || qe.Code != jsonrpc.CodeDispute {
			t.Errorf("%s: waited %v, err %v; want a dispute at once", tt.name, waited, err)
		}
	}
}

// staleAsker lists all its operators from the start, but one of them
// (behind) answers that it lacks the pinned block until caughtUp is
// closed: the head it reported reached the block a moment before its
// node could serve it.
type staleAsker struct {
	*fakeAsker
	behind   string
	caughtUp chan struct{}
	unusable int // operators no longer usable (their breaker opened)
}

func (s *staleAsker) UsableOperators() int { return len(s.ops) - s.unusable }

func (s *staleAsker) Do(ctx context.Context, c route.Call) (*route.Result, error) {
	if c.Operator == s.behind {
		select {
		case <-s.caughtUp:
		default:
			f := &fakeAsker{by: map[string]script{c.Operator: {
				rpc: &jsonrpc.Error{Code: -32000, Message: "header not found"}, unserv: true}}}
			s.mu.Lock()
			s.asked = append(s.asked, c.Operator)
			s.mu.Unlock()
			return f.Do(ctx, c)
		}
	}
	return s.fakeAsker.Do(ctx, c)
}

// runStale runs req against s on a fake clock, like runLagging: when the
// read starts waiting (its catch-up poll is set), the operator behind
// catches up if catchUp, and the clock moves on. s's hedge delay must be
// zero, so that every operator is asked at once and the only timer on the
// clock is the catch-up poll (a pending hedge timer made the clock move
// before the read waited, past its catch-up time).
func runStale(t *testing.T, s *staleAsker, req Request, catchUp bool) (*Outcome, error, bool) {
	t.Helper()
	clk := clock.NewFake(time.Unix(1_000_000, 0))
	type result struct {
		o   *Outcome
		err error
	}
	done := make(chan result, 1)
	go func() {
		o, err := Run(context.Background(), s, req, clk)
		done <- result{o, err}
	}()
	waited := false
	for deadline := time.Now().Add(10 * time.Second); ; { // a bound on a hang, not a timing
		select {
		case r := <-done:
			return r.o, r.err, waited
		default:
		}
		if time.Now().After(deadline) {
			t.Fatal("the quorum read neither ended nor waited")
		}
		if clk.Waiters() == 0 {
			time.Sleep(time.Millisecond)
			continue
		}
		if !waited && catchUp {
			close(s.caughtUp)
		}
		waited = true
		clk.Advance(catchUpPoll)
	}
}

// TestCatchUpAsksAgainAnOperatorThatWasBehind: quorum 2, one operator
// down, one honest, and one that answered "header not found" because it
// was asked a moment before its node held the pinned block. It is asked
// again once it is listed again during catch-up, and the read agrees,
// instead of falling short (TestDemo failed so under load).
// The operator down may have become unusable meanwhile: the one behind
// is still there to ask.
func TestCatchUpAsksAgainAnOperatorThatWasBehind(t *testing.T) {
	by := map[string]script{"down": {err: errDown}, "honest": {result: `"0x1"`}, "behind": {result: `"0x1"`}}
	for _, unusable := range []int{0, 1} {
		s := &staleAsker{fakeAsker: &fakeAsker{ops: []string{"down", "behind", "honest"}, by: by},
			behind: "behind", caughtUp: make(chan struct{}), unusable: unusable}
		req := Request{Call: route.Call{Method: "eth_getBalance", Class: "state"}, K: 2, CatchUp: time.Second,
			OnDispute: config.OnDisputeError, OnShortfall: config.OnShortfallError}
		o, err, waited := runStale(t, s, req, true)
		if err != nil {
			t.Fatalf("%d unusable: read refused: %v (asked %v)", unusable, err, s.askedOps())
		}
		if slices.Sort(o.Agreed); !waited || o.Decision != Agreed || !slices.Equal(o.Agreed, []string{"behind", "honest"}) {
			t.Fatalf("%d unusable: waited %v, decision %s, agreed %v", unusable, waited, o.Decision, o.Agreed)
		}
	}
}

// TestCatchUpAsksABehindOperatorOncePerRound: an operator that never
// catches up is asked again at most once per catch-up round and at most
// maxReasks times in all (one that keeps answering "not served", e.g.
// pruned state, is not asked every poll), and the read falls short when
// catch-up ends.
func TestCatchUpAsksABehindOperatorOncePerRound(t *testing.T) {
	by := map[string]script{"down": {err: errDown}, "honest": {result: `"0x1"`}}
	s := &staleAsker{fakeAsker: &fakeAsker{ops: []string{"down", "behind", "honest"}, by: by},
		behind: "behind", caughtUp: make(chan struct{})}
	catchUp := 10 * catchUpPoll
	req := Request{Call: route.Call{Method: "eth_getBalance", Class: "state"}, K: 2, CatchUp: catchUp,
		OnDispute: config.OnDisputeError, OnShortfall: config.OnShortfallError}
	_, err, _ := runStale(t, s, req, false)
	var qe *Error
	if !errors.As(err, &qe) || qe.Code != jsonrpc.CodeQuorumShortfall {
		t.Fatalf("err %v, want a shortfall", err)
	}
	n := 0
	for _, op := range s.askedOps() {
		if op == "behind" {
			n++
		}
	}
	// Ten rounds, yet three asks at most: the first and two more.
	if n < 2 || n > 3 {
		t.Fatalf("the operator behind was asked %d times in %d rounds, want 2 to 3", n, catchUp/catchUpPoll)
	}
}

// TestCatchUpDoesNotAskAgainWhenNobodyServes: when no operator can serve
// the call at all (a method nobody offers), their error is the answer at
// once: nobody waits and nobody is asked twice.
func TestCatchUpDoesNotAskAgainWhenNobodyServes(t *testing.T) {
	nope := script{rpc: &jsonrpc.Error{Code: -32601, Message: "the method does not exist"}, unserv: true}
	s := &staleAsker{fakeAsker: &fakeAsker{ops: []string{"a", "b", "c"}, by: map[string]script{"a": nope, "b": nope, "c": nope}}, caughtUp: make(chan struct{})}
	req := Request{Call: route.Call{Method: "eth_nope"}, K: 2, CatchUp: time.Second,
		OnDispute: config.OnDisputeError, OnShortfall: config.OnShortfallError}
	o, err, waited := runStale(t, s, req, false)
	if err != nil || waited || o.Response.Error == nil || o.Response.Error.Code != -32601 {
		t.Fatalf("waited %v, outcome %+v, err %v", waited, o, err)
	}
	if asked := s.askedOps(); len(asked) != 3 {
		t.Fatalf("asked %v, want each operator once", asked)
	}
}
