package gateway

import (
	"context"
	"encoding/json"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/braidrpc/braid/internal/await"
	"github.com/braidrpc/braid/internal/clock"
	"github.com/braidrpc/braid/internal/config"
	"github.com/braidrpc/braid/internal/jsonrpc"
	"github.com/braidrpc/braid/internal/plan"
)

// heldBalances makes node answer eth_getBalance with 0x7, each call held
// until release is closed, counting the calls.
func heldBalances(node *headNode) (calls *atomic.Int64, release chan struct{}) {
	return held(node, "eth_getBalance", `"0x7"`)
}

// held makes node answer method with result, each call held until
// release is closed, counting the calls.
func held(node *headNode, method, result string) (calls *atomic.Int64, release chan struct{}) {
	calls, release = new(atomic.Int64), make(chan struct{})
	node.mu.Lock()
	node.other = func(r *http.Request, req nodeReq) (string, bool) {
		if req.Method != method {
			return "", false
		}
		calls.Add(1)
		select {
		case <-release:
		case <-r.Context().Done():
		}
		return result, true
	}
	node.mu.Unlock()
	return calls, release
}

// startedNetwork is the network of a started gateway over node, with its
// tip served.
func startedNetwork(t *testing.T, mod func(*config.Config), node *headNode) *Network {
	t.Helper()
	g := headGatewayWith(t, clock.NewFake(time.Unix(1000, 0)), prometheus.NewRegistry(), mod, node)
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	g.Start(ctx, 5*time.Second)
	n := g.Networks()[0]
	await.Until(t, "the served tip", func() bool { return n.head.Tip().Known })
	return n
}

// Identical calls in flight share one upstream request, with the cache
// off too (issue 20 item 1): the same call pinned to the same block.
func TestIdenticalCallsShareOneFetchWithTheCacheOff(t *testing.T) {
	node := newHeadNode(t, 7)
	calls, release := heldBalances(node)
	n := startedNetwork(t, func(c *config.Config) { c.Cache.Backend = config.CacheOff }, node)
	req := func() *jsonrpc.Request {
		return &jsonrpc.Request{ID: json.RawMessage("1"), Method: "eth_getBalance",
			Params: json.RawMessage(`["0x0000000000000000000000000000000000000001","latest"]`)}
	}
	results := make(chan Result, 3)
	var wg sync.WaitGroup
	for range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results <- n.Execute(context.Background(), req())
		}()
	}
	await.Until(t, "three callers on one flight", func() bool { return n.flights.Waiting() == 3 })
	close(release)
	wg.Wait()
	close(results)
	for r := range results {
		if r.Response == nil || string(r.Response.Result) != `"0x7"` || r.Cached {
			t.Fatalf("result %+v", r)
		}
	}
	if got := calls.Load(); got != 1 {
		t.Fatalf("the upstream was asked %d times for three identical calls in flight", got)
	}
	// A caller that leaves does not fail the others, and the flight lands.
	if n.flights.Waiting() != 0 {
		t.Fatal("a flight is still in the air")
	}
}

// A caller that leaves stops waiting at once; the shared fetch (which
// the leaving caller was running, so starts again) answers the others.
func TestALeavingCallerDoesNotFailTheOthers(t *testing.T) {
	node := newHeadNode(t, 7)
	_, release := heldBalances(node)
	n := startedNetwork(t, func(c *config.Config) { c.Cache.Backend = config.CacheOff }, node)
	req := &jsonrpc.Request{ID: json.RawMessage("1"), Method: "eth_getBalance",
		Params: json.RawMessage(`["0x0000000000000000000000000000000000000001","latest"]`)}
	ctx, leave := context.WithCancel(context.Background())
	left := make(chan Result, 1)
	go func() { left <- n.Execute(ctx, req) }()
	await.Until(t, "the first caller's flight", func() bool { return n.flights.Waiting() == 1 })
	stays := make(chan Result, 1)
	go func() { stays <- n.Execute(context.Background(), req) }()
	await.Until(t, "both callers on it", func() bool { return n.flights.Waiting() == 2 })
	leave()
	if r := <-left; r.Response == nil || r.Response.Error == nil {
		t.Fatalf("the caller that left got %+v", r.Response)
	}
	close(release)
	if r := <-stays; r.Response == nil || string(r.Response.Result) != `"0x7"` {
		t.Fatalf("the caller that stayed got %+v", r.Response)
	}
}

// The first calls of a static method (net_version) are merged into one
// upstream call too; a caller that gives up does not fail the others
// merged into it, and the answer is then remembered.
func TestStaticAnswerSurvivesAnotherCallerLeaving(t *testing.T) {
	node := newHeadNode(t, 7)
	calls, release := held(node, "net_version", `"1"`)
	n := startedNetwork(t, nil, node)
	req := func(id string) *jsonrpc.Request {
		return &jsonrpc.Request{ID: json.RawMessage(id), Method: "net_version"}
	}
	ctx, leave := context.WithCancel(context.Background())
	left := make(chan Result, 1)
	go func() { left <- n.Execute(ctx, req("1")) }()
	await.Until(t, "the first caller's flight", func() bool { return n.flights.Waiting() == 1 })
	stays := make(chan Result, 1)
	go func() { stays <- n.Execute(context.Background(), req("2")) }()
	await.Until(t, "both callers on it", func() bool { return n.flights.Waiting() == 2 })
	leave()
	if r := <-left; r.Response == nil || r.Response.Error == nil {
		t.Fatalf("the caller that left got %+v", r.Response)
	}
	close(release)
	if r := <-stays; r.Response == nil || string(r.Response.ID) != "2" || string(r.Response.Result) != `"1"` {
		t.Fatalf("the caller that stayed got %+v", r.Response)
	}
	// The leaving caller's own run reached the node before it was
	// cancelled: the calls before this one are 1 or 2, never more after.
	before := calls.Load()
	if r := n.Execute(context.Background(), req("3")); string(r.Response.Result) != `"1"` || calls.Load() != before || before > 2 {
		t.Fatalf("a later call got %+v after %d upstream calls (%d before it); want the remembered answer", r.Response, calls.Load(), before)
	}
}

// Calls braid does not know may do anything: they are never merged.
func TestUnknownMethodsAreNotMerged(t *testing.T) {
	n := streamNetwork(t)
	for _, c := range []struct {
		method, params string
		merged         bool
	}{
		{"acme_mintSomething", `["0x1"]`, false},
		{"eth_getBalance", `["0x0000000000000000000000000000000000000001","latest"]`, true},
		{"net_version", `[]`, true},
		{"eth_syncing", `[]`, false},
	} {
		method, merged := c.method, c.merged
		pl, err := n.planner.Plan(&jsonrpc.Request{Method: method, Params: json.RawMessage(c.params)})
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := n.mergeKey(pl, n.head.Tip(), plan.Caching{}); ok != merged {
			t.Errorf("%s merged: %v, want %v", method, ok, merged)
		}
	}
}
