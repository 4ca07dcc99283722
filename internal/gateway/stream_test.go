package gateway

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/braidrpc/braid/internal/await"
	"github.com/braidrpc/braid/internal/clock"
	"github.com/braidrpc/braid/internal/config"
	"github.com/braidrpc/braid/internal/jsonrpc"
	"github.com/braidrpc/braid/internal/stream"
)

// TestNewHeadsMissesNoBlockWhileTheStreamCannotFetch: blocks served after
// eth_subscribe returned reach the subscriber even though the block
// stream could not fetch them at first (the provider did not know them by
// hash yet) while the served tip moved on.
func TestNewHeadsMissesNoBlockWhileTheStreamCannotFetch(t *testing.T) {
	fake := clock.NewFake(time.Unix(1000, 0))
	node := newHeadNode(t, 7)
	g := headGateway(t, fake, prometheus.NewRegistry(), node)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	g.Start(ctx, 5*time.Second)
	n := g.Networks()[0]
	await.Until(t, "the served tip", func() bool { return n.head.Tip().Known })

	got := make(chan string, 16)
	unsubscribe, err := n.Subscribe(json.RawMessage(`["newHeads"]`), func(res json.RawMessage) {
		var h struct{ Number string }
		_ = json.Unmarshal(res, &h)
		got <- h.Number
	})
	if err != nil {
		t.Fatal(err)
	}
	defer unsubscribe()
	for _, b := range []uint64{8, 9} { // the stream's fetches of these fail
		node.setLatest(b)
		await.Advancing(t, fake, 2*time.Second, fmt.Sprintf("served tip %d", b), func() bool { return n.head.Tip().Latest.Number == b })
	}
	node.mu.Lock()
	node.byHash = true
	node.mu.Unlock()
	node.setLatest(10)
	var seen []string
	await.Advancing(t, fake, 2*time.Second, "newHeads 0x8, 0x9 and 0xa", func() bool {
		for {
			select {
			case num := <-got:
				seen = append(seen, num)
				continue
			default:
			}
			return len(seen) >= 3
		}
	})
	if strings.Join(seen, ",") != "0x8,0x9,0xa" {
		t.Fatalf("newHeads sent %v, want 0x8, 0x9, 0xa", seen)
	}
}

// streamNetwork is a network whose only upstream nobody listens on.
func streamNetwork(t *testing.T) *Network {
	t.Helper()
	cfg := config.Default()
	cfg.Networks = []config.Network{{Name: "mainnet", ChainID: 1, Upstreams: []config.Upstream{
		{Name: "a", Operator: "op", URL: "http://127.0.0.1:1"}}}}
	cfg.ApplyDefaults()
	g, err := New(cfg, Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(g.Close)
	return g.Networks()[0]
}

// TestFiltersAndSubscriptionsAreBraids: the filter methods are answered
// by the network's stream, so they work with no upstream reachable; a
// subscription and a filter show in the status counts until they end.
func TestFiltersAndSubscriptionsAreBraids(t *testing.T) {
	n := streamNetwork(t)
	call := func(method, params string) *jsonrpc.Response {
		t.Helper()
		resp := n.Execute(context.Background(), &jsonrpc.Request{ID: json.RawMessage("1"), Method: method, Params: json.RawMessage(params)}).Response
		if resp.Error != nil {
			t.Fatalf("%s %s: %+v", method, params, resp.Error)
		}
		return resp
	}
	id := string(call("eth_newFilter", `[{"address":"0x0100000000000000000000000000000000000000"}]`).Result)
	stop, err := n.Subscribe(json.RawMessage(`["newHeads"]`), func(json.RawMessage) {})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := n.stream.Counts(), (stream.Counts{BlockConsumers: 2, Filters: 1}); got != want {
		t.Fatalf("counts %+v, want %+v", got, want)
	}
	if got := string(call("eth_getFilterChanges", "["+id+"]").Result); got != "[]" {
		t.Fatalf("poll: %s", got)
	}
	if got := string(call("eth_uninstallFilter", "["+id+"]").Result); got != "true" {
		t.Fatalf("uninstall: %s", got)
	}
	stop()
	if got := n.stream.Counts(); got != (stream.Counts{}) {
		t.Fatalf("counts %+v after both ended", got)
	}
}
