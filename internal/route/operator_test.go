package route

import (
	"context"
	"encoding/json"
	"reflect"
	"testing"

	"github.com/braidrpc/braid/internal/config"
	"github.com/braidrpc/braid/internal/jsonrpc"
)

// Four upstreams of three operators: u1 and u3 are operator a.
func operatorHarness(t *testing.T) *harness {
	return newHarness(t, 4, func(i int, c *config.Upstream) {
		c.Operator = []string{"a", "b", "a", "c"}[i]
	})
}

func TestOperatorsRankedByBestUpstream(t *testing.T) {
	h := operatorHarness(t)
	c := Call{Method: "eth_getBalance"}
	if got := h.router.Operators(c); !reflect.DeepEqual(got, []string{"a", "b", "c"}) {
		t.Fatalf("Operators = %v, want [a b c]", got)
	}
	// u2 (operator b) becomes the fastest; a's upstreams fall behind.
	h.ups[0].Health().Success("", 0)
	for range 20 {
		h.ups[1].Health().Success("", 0)
		h.ups[0].Health().Failure()
		h.ups[2].Health().Failure()
	}
	if got := h.router.Operators(c); got[0] != "b" {
		t.Fatalf("Operators = %v, want b first", got)
	}
	// An operator whose only upstream is quarantined is not offered.
	h.ups[3].Quarantine("test")
	if got := h.router.Operators(c); len(got) != 2 {
		t.Fatalf("Operators = %v, want c left out", got)
	}
}

func TestOperatorCallStaysWithinOperator(t *testing.T) {
	h := operatorHarness(t)
	h.fakes[0].set(status(503)) // a's best upstream fails: a's other one answers
	h.fakes[2].set(ok(`"0xa"`))
	res, err := h.router.Do(context.Background(), Call{Method: "eth_getBalance", Operator: "a"})
	if err != nil {
		t.Fatal(err)
	}
	if res.Upstream != h.ups[2] || string(res.Response.Result) != `"0xa"` {
		t.Fatalf("answer %s from %s, want 0xa from u3", res.Response.Result, res.Upstream.Name)
	}
	if h.fakes[1].calls.Load() != 0 || h.fakes[3].calls.Load() != 0 {
		t.Fatal("another operator was asked")
	}

	// When every upstream of the operator fails, the call fails rather
	// than going to another operator.
	h.fakes[2].set(status(503))
	h.autoAdvance(t)
	_, err = h.router.Do(context.Background(), Call{Method: "eth_getBalance", Operator: "a"})
	if err == nil || h.fakes[1].calls.Load() != 0 || h.fakes[3].calls.Load() != 0 {
		t.Fatalf("err %v; other operators asked: %d %d", err, h.fakes[1].calls.Load(), h.fakes[3].calls.Load())
	}
	if _, err := h.router.Do(context.Background(), Call{Method: "eth_getBalance", Operator: "nobody"}); jsonrpc.FromError(err).Code != jsonrpc.CodeUnavailable {
		t.Fatalf("unknown operator: %v", err)
	}
}

func TestUnservedResult(t *testing.T) {
	h := newHarness(t, 2, nil)
	h.fakes[0].set(rpcErr(-32601, "the method eth_foo does not exist"))
	h.fakes[1].set(rpcErr(-32601, "the method eth_foo does not exist"))
	res, err := h.router.Do(context.Background(), Call{Method: "eth_foo", Params: json.RawMessage(`[]`)})
	if err != nil {
		t.Fatal(err)
	}
	if !res.Unserved || res.Response.Error == nil {
		t.Fatalf("result %+v, want an unserved error answer", res)
	}
	h.fakes[0].set(rpcErr(3, "execution reverted"))
	if res, _ = h.do(t); res.Unserved {
		t.Fatal("a revert is an answer, not unserved")
	}
}
