package route

import (
	"context"
	"encoding/json"
	"sync"
	"testing"
	"time"

	"github.com/braidrpc/braid/internal/await"
	"github.com/braidrpc/braid/internal/upstream"
)

// heads is a settable HeadView.
type heads struct {
	mu sync.Mutex
	m  map[*upstream.Upstream]uint64
}

func (h *heads) Head(u *upstream.Upstream) (uint64, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	n, ok := h.m[u]
	return n, ok
}

func (h *harness) withHeads(hv *heads, hedge HedgeConfig) {
	var view HeadView
	if hv != nil {
		view = hv
	}
	h.router = New(h.ups, Options{Network: "test", MaxAttempts: 4, Clock: h.clock, ProbeShare: -1, Heads: view, Hedge: hedge})
}

// blocking makes an upstream hold every answer until released.
func blocking(f *fake) (release func()) {
	ch := make(chan struct{})
	f.set(func(string) (int, string) {
		<-ch
		return 200, `{"jsonrpc":"2.0","id":1,"result":"0xslow"}`
	})
	var once sync.Once
	return func() { once.Do(func() { close(ch) }) }
}

func TestHedgeWinsAgainstASlowUpstream(t *testing.T) {
	h := newHarness(t, 2, nil)
	h.withHeads(nil, HedgeConfig{Enabled: true, Percentile: 0.9, MinDelay: 10 * time.Millisecond, MaxDelay: 100 * time.Millisecond, MaxExtra: 1})
	release := blocking(h.fakes[0])
	defer release()
	h.fakes[1].set(ok(`"0xfast"`))
	done := make(chan *Result, 1)
	go func() {
		res, err := h.router.Do(context.Background(), Call{Method: "eth_getBalance", Class: "state", Hedge: true})
		if err != nil {
			t.Error(err)
		}
		done <- res
	}()
	// The first attempt is in flight and the hedge timer is set.
	await.Until(t, "the first attempt in flight and the hedge timer set", func() bool { return h.fakes[0].calls.Load() == 1 && h.clock.Waiters() == 1 })
	if h.fakes[1].calls.Load() != 0 {
		t.Fatal("hedged before the delay")
	}
	h.clock.Advance(100 * time.Millisecond) // no latency samples yet: the delay is max_delay
	res := <-done
	if res == nil || string(res.Response.Result) != `"0xfast"` || res.Upstream != h.ups[1] {
		t.Fatalf("result %+v", res)
	}
	release()
	// The loser was cancelled: neither a success nor a failure.
	if s := h.ups[0].Health().Snapshot(""); s.Failures != 0 {
		t.Fatalf("the cancelled loser counted as a failure: %+v", s)
	}
}

func TestNoHedgeForWrites(t *testing.T) {
	h := newHarness(t, 2, nil)
	h.withHeads(nil, HedgeConfig{Enabled: true, Percentile: 0.9, MinDelay: time.Millisecond, MaxDelay: time.Millisecond, MaxExtra: 1})
	release := blocking(h.fakes[0])
	done := make(chan struct{})
	go func() {
		defer close(done)
		if _, err := h.router.Do(context.Background(), Call{Method: "eth_sendRawTransaction", Hedge: false}); err != nil {
			t.Error(err)
		}
	}()
	await.Until(t, "the first attempt in flight", func() bool { return h.fakes[0].calls.Load() == 1 })
	if h.clock.Waiters() != 0 {
		t.Fatal("a write set a hedge timer")
	}
	release()
	<-done
	if h.fakes[1].calls.Load() != 0 {
		t.Fatal("a write was sent twice")
	}
}

func TestHedgeDelayFollowsTheClassPercentile(t *testing.T) {
	h := newHarness(t, 1, nil)
	h.withHeads(nil, HedgeConfig{Enabled: true, Percentile: 0.9, MinDelay: 5 * time.Millisecond, MaxDelay: time.Second, MaxExtra: 1})
	if d := h.router.hedgeDelay("state"); d != time.Second {
		t.Fatalf("with no samples the delay is max_delay, got %v", d)
	}
	for i := 1; i <= 100; i++ {
		h.router.latency.add("state", time.Duration(i)*time.Millisecond)
	}
	if d := h.router.hedgeDelay("state"); d != 90*time.Millisecond {
		t.Fatalf("p90 of 1..100ms = %v, want 90ms", d)
	}
	for i := 0; i < 300; i++ {
		h.router.latency.add("fast", 100*time.Microsecond)
	}
	if d := h.router.hedgeDelay("fast"); d != 5*time.Millisecond {
		t.Fatalf("delay below min_delay: %v", d)
	}
	// A class with too few samples borrows the all-class percentile.
	h.router.latency.add("rare", time.Second)
	if d, want := h.router.hedgeDelay("rare"), h.router.hedgeDelay(allClasses); d != want || d == time.Second {
		t.Fatalf("rare class delay %v, want the all-class %v", d, want)
	}
}

func TestMinHeadSkipsUpstreamsThatLackTheBlock(t *testing.T) {
	h := newHarness(t, 3, nil)
	hv := &heads{m: map[*upstream.Upstream]uint64{h.ups[0]: 90, h.ups[1]: 100}} // u3: unknown
	h.withHeads(hv, HedgeConfig{})
	res, err := h.router.Do(context.Background(), Call{Method: "eth_getBalance", MinHead: 100})
	if err != nil || res.Upstream != h.ups[1] {
		t.Fatalf("%v from %v", err, res)
	}
	if h.fakes[0].calls.Load()+h.fakes[2].calls.Load() != 0 {
		t.Fatal("an upstream behind the pinned block (or of unknown head) was asked")
	}
	_, err = h.router.Do(context.Background(), Call{Method: "eth_getBalance", MinHead: 101})
	if err == nil {
		t.Fatal("no upstream holds block 101, yet the call succeeded")
	}
}

func TestDepthIsLearnedFromMissingStateErrors(t *testing.T) {
	h := newHarness(t, 2, nil)
	hv := &heads{m: map[*upstream.Upstream]uint64{h.ups[0]: 1000, h.ups[1]: 1000}}
	h.withHeads(hv, HedgeConfig{})
	h.fakes[0].set(rpcErr(-32000, "missing trie node 5cbd (path )"))
	old := Call{Method: "eth_getBalance", Params: json.RawMessage(`[]`), HasBlock: true, Block: 500, Data: upstream.StateData}
	res, err := h.router.Do(context.Background(), old)
	if err != nil || res.Upstream != h.ups[1] {
		t.Fatalf("%v from %v", err, res)
	}
	if d := h.ups[0].Depth(upstream.StateData); d != 500 {
		t.Fatalf("learned depth %d, want 500", d)
	}
	// Next time the pruned node is not asked first for state that old.
	before := h.fakes[0].calls.Load()
	if _, err := h.router.Do(context.Background(), old); err != nil {
		t.Fatal(err)
	}
	if h.fakes[0].calls.Load() != before {
		t.Fatal("the pruned upstream was asked again for state it lacks")
	}
	// Recent state still goes to it (it is the faster one).
	recent := old
	recent.Block = 990
	res, err = h.router.Do(context.Background(), recent)
	if err != nil {
		t.Fatal(err)
	}
	_ = res
}

func TestOpenBreakerIsSkipped(t *testing.T) {
	h := newHarness(t, 2, nil)
	h.autoAdvance(t)
	h.fakes[0].set(status(503))
	for i := 0; i < 10 && h.ups[0].Breaker().State() != upstream.BreakerOpen; i++ {
		_, _ = h.router.Do(context.Background(), Call{Method: "eth_blockNumber", Only: h.ups[0]})
	}
	if st := h.ups[0].Breaker().State(); st != upstream.BreakerOpen {
		t.Fatalf("breaker %v after repeated failures", st)
	}
	// Make u1 look like the best by score, so only the breaker keeps it out.
	for i := 0; i < 60; i++ {
		h.ups[0].Health().Success("", 100*time.Microsecond)
	}
	before := h.fakes[0].calls.Load()
	for i := 0; i < 5; i++ {
		if _, err := h.do(t); err != nil {
			t.Fatal(err)
		}
	}
	if h.fakes[0].calls.Load() != before {
		t.Fatal("requests reached an upstream whose breaker is open")
	}
	// After open_for the breaker lets one probe through; it succeeds twice
	// and the upstream is back.
	h.fakes[0].set(ok(`"0x1"`))
	h.clock.Advance(10 * time.Second)
	for i := 0; i < 3; i++ {
		if _, err := h.do(t); err != nil {
			t.Fatal(err)
		}
	}
	if st := h.ups[0].Breaker().State(); st != upstream.BreakerClosed {
		t.Fatalf("breaker %v after successful probes", st)
	}
}

func TestRetryRoundRecoversFromATransientFailure(t *testing.T) {
	h := newHarness(t, 1, nil)
	h.autoAdvance(t)
	var n int
	var mu sync.Mutex
	h.fakes[0].set(func(string) (int, string) {
		mu.Lock()
		defer mu.Unlock()
		n++
		if n == 1 {
			return 503, ""
		}
		return 200, `{"jsonrpc":"2.0","id":1,"result":"0x1"}`
	})
	res, err := h.do(t)
	if err != nil || res.Attempts != 2 {
		t.Fatalf("%v, %+v", err, res)
	}
}

func TestProbeSendsSomeTrafficToNonBest(t *testing.T) {
	h := newHarness(t, 3, nil)
	seq := []float64{0.01, 0.99} // probe, then pick the last candidate
	i := 0
	h.router = New(h.ups, Options{Network: "test", MaxAttempts: 4, Clock: h.clock, ProbeShare: 0.05,
		Rand: func() float64 { v := seq[i%len(seq)]; i++; return v }})
	res, err := h.do(t)
	if err != nil || res.Upstream != h.ups[2] {
		t.Fatalf("probe went to %v (%v), want u3", res, err)
	}
	h.router = New(h.ups, Options{Network: "test", MaxAttempts: 4, Clock: h.clock, ProbeShare: 0.05,
		Rand: func() float64 { return 0.5 }})
	if res, _ := h.do(t); res.Upstream != h.ups[0] {
		t.Fatal("without a probe draw the best upstream goes first")
	}
}

func TestAllBreakersOpenStillAsksSomeone(t *testing.T) {
	h := newHarness(t, 2, nil)
	for _, u := range h.ups {
		for i := 0; i < 10; i++ {
			u.Breaker().Failure()
		}
		if u.Breaker().State() != upstream.BreakerOpen {
			t.Fatal("breaker not open")
		}
	}
	res, err := h.do(t)
	if err != nil || res == nil {
		t.Fatalf("with every breaker open the call failed without trying anyone: %v", err)
	}
}

func TestHalfOpenProbeInFlightDoesNotFailOtherCalls(t *testing.T) {
	h := newHarness(t, 1, nil)
	b := h.ups[0].Breaker()
	for i := 0; i < 10; i++ {
		b.Failure()
	}
	h.clock.Advance(10 * time.Second) // half-open
	if !b.Allow() {                   // someone else's probe is out
		t.Fatal("no probe slot")
	}
	if _, err := h.do(t); err != nil {
		t.Fatalf("a call failed without trying the only upstream while its probe was out: %v", err)
	}
}

// A slow upstream whose attempts always lose to a hedge is measured by
// them: its cancelled attempts' elapsed time is a lower bound of its
// latency, so after a hedged call or two it is no longer asked first
// (issue 13: it kept its old fast score, and every call waited for the
// hedge delay).
func TestSlowUpstreamStopsBeingAskedFirst(t *testing.T) {
	h := newHarness(t, 2, nil) // u1 measured at 1ms, u2 at 2ms: u1 is asked first
	h.withHeads(nil, HedgeConfig{Enabled: true, Percentile: 0.9, MinDelay: 10 * time.Millisecond, MaxDelay: 100 * time.Millisecond, MaxExtra: 1})
	release := blocking(h.fakes[0]) // u1 has become slow: it never answers in time
	defer release()
	h.fakes[1].set(func(string) (int, string) {
		h.clock.Advance(2 * time.Millisecond) // u2 keeps answering in 2ms
		return 200, `{"jsonrpc":"2.0","id":1,"result":"0xfast"}`
	})
	for call := 1; call <= 4; call++ {
		before := h.fakes[0].calls.Load()
		done := make(chan *Result, 1)
		go func() {
			res, err := h.router.Do(context.Background(), Call{Method: "eth_getBalance", Class: "state", Hedge: true})
			if err != nil {
				t.Error(err)
			}
			done <- res
		}()
		await.Until(t, "the call answered or the slow upstream asked", func() bool { return len(done) == 1 || h.fakes[0].calls.Load() > before })
		if h.fakes[0].calls.Load() == before {
			if res := <-done; res == nil || res.Upstream != h.ups[1] {
				t.Fatalf("call %d: result %+v", call, res)
			}
			if call > 3 {
				t.Fatalf("the slow upstream was asked first until call %d", call)
			}
			return // the fast upstream went first, without waiting for a hedge
		}
		// u1 went first: the hedge goes to u2 after the delay.
		await.Until(t, "the hedge timer set", func() bool { return h.clock.Waiters() == 1 })
		h.clock.Advance(100 * time.Millisecond)
		if res := <-done; res == nil || res.Upstream != h.ups[1] {
			t.Fatalf("call %d: result %+v", call, res)
		}
		// Its cancelled attempt ends (and is recorded, if at all) once its
		// HTTP request is aborted: give it a moment before the next pick.
		await.Poll(2*time.Second, func() bool { return h.ups[0].Health().Snapshot("state").Latency > time.Millisecond })
	}
	t.Fatal("the slow upstream is still asked first after 4 hedged calls")
}
