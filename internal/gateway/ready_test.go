package gateway

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/braidrpc/braid/internal/await"
	"github.com/braidrpc/braid/internal/clock"
	"github.com/braidrpc/braid/internal/config"
)

// headNode is a JSON-RPC provider on loopback that answers eth_chainId
// (once gate is open) and eth_getBlockByNumber("latest") with its current
// block of one made-up chain; single calls and batches.
type headNode struct {
	srv *httptest.Server

	mu     sync.Mutex
	latest uint64
	gate   chan struct{} // nil: eth_chainId is answered at once
	down   bool          // answer every request with HTTP 503
	byHash bool          // answer eth_getBlockByHash (else null: "unknown block")
	// other, when set, answers the methods it knows (result JSON, true).
	other func(r *http.Request, req nodeReq) (string, bool)
}

func newHeadNode(t *testing.T, latest uint64) *headNode {
	t.Helper()
	n := &headNode{latest: latest}
	n.srv = httptest.NewServer(http.HandlerFunc(n.serve))
	t.Cleanup(n.srv.Close)
	return n
}

func (n *headNode) setLatest(b uint64) {
	n.mu.Lock()
	n.latest = b
	n.mu.Unlock()
}

func testBlockHash(num uint64) common.Hash {
	var h common.Hash
	h[0] = 0xbb
	binary.BigEndian.PutUint64(h[24:], num)
	return h
}

func blockJSON(num uint64) string {
	return fmt.Sprintf(`{"number":"0x%x","hash":%q,"parentHash":%q,"transactions":[]}`,
		num, testBlockHash(num).Hex(), testBlockHash(num-1).Hex())
}

type nodeReq struct {
	ID     json.RawMessage   `json:"id"`
	Method string            `json:"method"`
	Params []json.RawMessage `json:"params"`
}

func (n *headNode) answer(r *http.Request, req nodeReq) string {
	n.mu.Lock()
	gate, latest, byHash, other := n.gate, n.latest, n.byHash, n.other
	n.mu.Unlock()
	if other != nil {
		if result, ok := other(r, req); ok {
			return fmt.Sprintf(`{"jsonrpc":"2.0","id":%s,"result":%s}`, req.ID, result)
		}
	}
	result := "null"
	switch req.Method {
	case "eth_getBlockByHash":
		var h common.Hash
		if len(req.Params) > 0 && json.Unmarshal(req.Params[0], &h) == nil && byHash {
			if num := binary.BigEndian.Uint64(h[24:]); h == testBlockHash(num) && num <= latest {
				result = blockJSON(num)
			}
		}
	case "eth_chainId":
		if gate != nil {
			select {
			case <-gate:
			case <-r.Context().Done():
			}
		}
		result = `"0x1"`
	case "eth_getBlockByNumber":
		if len(req.Params) > 0 && string(req.Params[0]) == `"latest"` {
			result = blockJSON(latest)
		}
	}
	return fmt.Sprintf(`{"jsonrpc":"2.0","id":%s,"result":%s}`, req.ID, result)
}

func (n *headNode) setDown(down bool) {
	n.mu.Lock()
	n.down = down
	n.mu.Unlock()
}

func (n *headNode) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	n.mu.Lock()
	down := n.down
	n.mu.Unlock()
	if down {
		http.Error(w, "down", http.StatusServiceUnavailable)
		return
	}
	if strings.HasPrefix(strings.TrimSpace(string(body)), "[") {
		var reqs []nodeReq
		_ = json.Unmarshal(body, &reqs)
		out := make([]string, len(reqs))
		for i, req := range reqs {
			out[i] = n.answer(r, req)
		}
		_, _ = io.WriteString(w, "["+strings.Join(out, ",")+"]")
		return
	}
	var req nodeReq
	_ = json.Unmarshal(body, &req)
	_, _ = io.WriteString(w, n.answer(r, req))
}

// headGateway is a gateway over nodes (one operator each) on a fake clock.
func headGateway(t *testing.T, fake *clock.Fake, reg *prometheus.Registry, nodes ...*headNode) *Gateway {
	t.Helper()
	return headGatewayWith(t, fake, reg, nil, nodes...)
}

// headGatewayWith is headGateway with mod applied to the configuration.
func headGatewayWith(t *testing.T, fake *clock.Fake, reg *prometheus.Registry, mod func(*config.Config), nodes ...*headNode) *Gateway {
	t.Helper()
	cfg := config.Default()
	nc := config.Network{Name: "mainnet", ChainID: 1, Head: config.Head{PollInterval: 2 * time.Second, StallAfter: 30 * time.Second}}
	for i, n := range nodes {
		name := fmt.Sprintf("p%d", i)
		nc.Upstreams = append(nc.Upstreams, config.Upstream{Name: name, Operator: "op-" + name, URL: n.srv.URL})
	}
	cfg.Networks = []config.Network{nc}
	if mod != nil {
		mod(cfg)
	}
	cfg.ApplyDefaults()
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	g, err := New(cfg, Options{Clock: fake, Registry: reg})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(g.Close)
	return g
}

// TestStartPollsAsSoonAsTheChainIDIsConfirmed: the served tip is known
// right after the chain id check, not a poll interval later; until then
// braid is alive (/healthz) but not ready (/readyz).
func TestStartPollsAsSoonAsTheChainIDIsConfirmed(t *testing.T) {
	fake := clock.NewFake(time.Unix(1000, 0))
	reg := prometheus.NewRegistry()
	node := newHeadNode(t, 7)
	node.gate = make(chan struct{})
	g := headGateway(t, fake, reg, node)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	g.Start(ctx, 10*time.Millisecond) // returns before the gated chain id check
	n := g.Networks()[0]

	// The poller has had its first round (it publishes the tip's age after
	// each) and now waits for its interval on the fake clock.
	await.Until(t, "the poller's first round", func() bool {
		families, _ := reg.Gather()
		for _, f := range families {
			if f.GetName() == "braid_tip_age_seconds" {
				return true
			}
		}
		return false
	})
	if ok, r := g.Ready(); ok || r["mainnet"].Ready || !strings.Contains(r["mainnet"].Problem, "no usable upstream") {
		t.Fatalf("ready before any upstream is usable: %+v", r)
	}
	close(node.gate)
	await.Until(t, "the chain id check", func() bool { return n.Usable() == 1 })
	// The clock never moves: only a poll made at once can find the tip.
	await.Until(t, "the served tip without a poll interval passing", func() bool { return n.head.Tip().Known })
	if ok, r := g.Ready(); !ok || !r["mainnet"].Ready || r["mainnet"].Tip == nil || *r["mainnet"].Tip != 7 {
		t.Fatalf("not ready with a served tip: %+v", r)
	}
}

// TestReadyFailsWhileTheTipCannotAdvance: two of three operators out of
// use, the third far ahead: after head.stall_after the network is not
// ready, says why, and /status shows the tip's age, the highest head and
// how far each upstream is behind it.
func TestReadyFailsWhileTheTipCannotAdvance(t *testing.T) {
	fake := clock.NewFake(time.Unix(1000, 0))
	nodes := []*headNode{newHeadNode(t, 7), newHeadNode(t, 7), newHeadNode(t, 7)}
	g := headGateway(t, fake, prometheus.NewRegistry(), nodes...)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	g.Start(ctx, 5*time.Second)
	n := g.Networks()[0]
	await.Until(t, "every upstream's head", func() bool {
		for _, u := range n.Upstreams() {
			if _, ok := n.head.Heads(u); !ok {
				return false
			}
		}
		return true
	})
	if ok, r := g.Ready(); !ok {
		t.Fatalf("not ready: %+v", r)
	}

	n.router.Upstream("p1").Quarantine("test: serves another chain")
	n.router.Upstream("p2").Quarantine("test: serves another chain")
	nodes[0].setLatest(43)
	await.Advancing(t, fake, 2*time.Second, "p0's head at 43", func() bool { return n.head.Progress().Highest == 43 })
	if ok, r := g.Ready(); !ok {
		t.Fatalf("not ready before head.stall_after: %+v", r)
	}
	fake.Advance(30 * time.Second)
	ok, r := g.Ready()
	const why = "1 of 3 operators usable, 2 needed"
	if ok || r["mainnet"].Ready || !strings.Contains(r["mainnet"].Problem, "served tip 7 cannot advance") ||
		!strings.Contains(r["mainnet"].Problem, why) || *r["mainnet"].HighestHead != 43 {
		t.Fatalf("ready while the tip cannot advance: %+v", r)
	}
	// /healthz stays 200: an upstream is usable.
	if ok, h := g.Health(); !ok {
		t.Fatalf("health %+v", h)
	}
	st := g.Status().Networks[0]
	if !st.Stalled || st.StallReason != why || st.TipAgeSeconds < 30 || st.HighestHead == nil || *st.HighestHead != 43 {
		t.Fatalf("status %+v", st)
	}
	for _, u := range st.Upstreams {
		want := uint64(36)
		if u.Name == "p0" {
			want = 0
		}
		if u.BehindHighest == nil || *u.BehindHighest != want || u.LagBlocks == nil || *u.LagBlocks != 0 {
			t.Errorf("%s: behind_highest_blocks %v lag_blocks %v, want %d and 0", u.Name, u.BehindHighest, u.LagBlocks, want)
		}
	}
}

// TestReadyFailsWhenNoUpstreamAnswers: with every provider down braid
// cannot tell whether the chain moved on; after head.stall_after without a
// head report it is not ready, and says so.
func TestReadyFailsWhenNoUpstreamAnswers(t *testing.T) {
	fake := clock.NewFake(time.Unix(1000, 0))
	nodes := []*headNode{newHeadNode(t, 7), newHeadNode(t, 7)}
	g := headGateway(t, fake, prometheus.NewRegistry(), nodes...)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	g.Start(ctx, 5*time.Second)
	n := g.Networks()[0]
	await.Until(t, "the served tip", func() bool { return n.head.Tip().Known })
	for _, node := range nodes {
		node.setDown(true)
	}
	fake.Advance(29 * time.Second)
	if ok, r := g.Ready(); !ok {
		t.Fatalf("not ready before head.stall_after: %+v", r)
	}
	fake.Advance(time.Second)
	ok, r := g.Ready()
	if ok || !strings.Contains(r["mainnet"].Problem, "served tip 7 cannot advance") ||
		!strings.Contains(r["mainnet"].Problem, "no usable upstream has reported its head for 30s") {
		t.Fatalf("ready with every provider down: %+v", r)
	}
}
