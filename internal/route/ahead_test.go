package route

import (
	"context"
	"testing"

	"github.com/braidrpc/braid/internal/upstream"
)

// aheadHarness: u1 at 90 (below the served tip 95), u2 at 100, u3 at 95.
func aheadHarness(t *testing.T) *harness {
	h := newHarness(t, 3, nil)
	h.withHeads(&heads{m: map[*upstream.Upstream]uint64{h.ups[0]: 90, h.ups[1]: 100, h.ups[2]: 95}}, HedgeConfig{})
	return h
}

// A block above every upstream's head is asked of the upstream with the
// highest head, and its null is the answer; without Ahead the call still
// fails as before (a pinned "latest" must never get a lagging node's null).
func TestAheadGoesToTheHighestHead(t *testing.T) {
	h := aheadHarness(t)
	for _, f := range h.fakes {
		f.set(ok("null"))
	}
	call := Call{Method: "eth_getBlockByNumber", MinHead: 150, Ahead: true, Floor: 95, HasBlock: true, Block: 150}
	res, err := h.router.Do(context.Background(), call)
	if err != nil {
		t.Fatal(err)
	}
	if res.Upstream != h.ups[1] || string(res.Response.Result) != "null" || res.Unserved {
		t.Fatalf("answer %s from %s (unserved %v), want null from u2", res.Response.Result, res.Upstream.Name, res.Unserved)
	}
	// Operators (quorum reads) see the same upstreams: those at the served
	// tip or above, highest head first.
	if ops := h.router.Operators(call); len(ops) != 2 || ops[0] != "op2" || ops[1] != "op3" {
		t.Fatalf("Operators = %v, want [op2 op3]", ops)
	}
	call.Ahead = false
	if _, err := h.router.Do(context.Background(), call); err == nil {
		t.Fatal("a pinned call no upstream can hold succeeded without Ahead")
	}
	if h.fakes[0].calls.Load() != 0 {
		t.Fatal("an upstream below the served tip was asked")
	}
}

// "header not found" for a block nobody has yet is the answer (geth's own
// for a state read above its head), not a reason to try every upstream,
// and it marks no upstream.
func TestAheadErrorIsTheAnswer(t *testing.T) {
	h := aheadHarness(t)
	for _, f := range h.fakes {
		f.set(rpcErr(-32000, "header not found"))
	}
	before := h.ups[1].Health().Snapshot("")
	depth := h.ups[1].Depth(upstream.StateData)
	res, err := h.router.Do(context.Background(), Call{Method: "eth_getBalance", MinHead: 150, Ahead: true, Floor: 95, HasBlock: true, Block: 150, Data: upstream.StateData})
	if err != nil {
		t.Fatal(err)
	}
	if e := res.Response.Error; e == nil || e.Code != -32000 || e.Message != "header not found" || res.Unserved || res.Attempts != 1 {
		t.Fatalf("got %+v (unserved %v) after %d attempts", res.Response.Error, res.Unserved, res.Attempts)
	}
	after := h.ups[1].Health().Snapshot("")
	if after.Failures != before.Failures || h.ups[1].Breaker().State() != upstream.BreakerClosed {
		t.Fatalf("the upstream was marked: %+v", after)
	}
	if d := h.ups[1].Depth(upstream.StateData); d != depth {
		t.Fatalf("a block above the head taught a depth: %d", d)
	}
	// A node that fails to answer is still failed over, within the
	// upstreams at the served tip.
	h.fakes[1].set(status(503))
	h.fakes[2].set(ok("null"))
	res, err = h.router.Do(context.Background(), Call{Method: "eth_getBlockReceipts", MinHead: 150, Ahead: true, Floor: 95})
	if err != nil || res.Upstream != h.ups[2] || string(res.Response.Result) != "null" {
		t.Fatalf("%v %+v", err, res)
	}
	if h.fakes[0].calls.Load() != 0 {
		t.Fatal("an upstream below the served tip was asked")
	}
}

// When an upstream has reached the block, it is asked as usual: Ahead
// changes nothing.
func TestAheadWithTheBlockHeldRoutesNormally(t *testing.T) {
	h := aheadHarness(t)
	h.fakes[1].set(ok(`{"number":"0x64"}`))
	res, err := h.router.Do(context.Background(), Call{Method: "eth_getBlockByNumber", MinHead: 100, Ahead: true, Floor: 95})
	if err != nil || res.Upstream != h.ups[1] {
		t.Fatalf("%v %+v", err, res)
	}
	if h.fakes[0].calls.Load()+h.fakes[2].calls.Load() != 0 {
		t.Fatal("an upstream without the block was asked")
	}
}
