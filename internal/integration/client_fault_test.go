package integration

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	neturl "net/url"
	"sync"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/ethclient"

	"github.com/braidrpc/braid/internal/await"
	"github.com/braidrpc/braid/internal/config"
	"github.com/braidrpc/braid/internal/devnet"
	"github.com/braidrpc/braid/internal/gateway"
)

// upstreamStanding is what a client's request may not change about an
// upstream: how braid ranks and trusts it.
type upstreamStanding struct {
	Condition string
	Breaker   string
	Failures  uint64
	ErrorRate float64
	Score     float64
}

func standings(gw *gateway.Gateway) map[string]upstreamStanding {
	out := map[string]upstreamStanding{}
	for _, u := range gw.Status().Networks[0].Upstreams {
		out[u.Name] = upstreamStanding{u.Condition, u.Breaker, u.Failures, u.ErrorRate, u.Score}
	}
	return out
}

// nonceOverflow is an eth_simulateV1 request that can never succeed: its
// sender's nonce is overridden to the maximum, and go-ethereum answers
// -32603 "nonce has max value", the code of an internal error. Each i is
// a distinct request.
func nonceOverflow(from any, i int) []any {
	return []any{map[string]any{
		"blockStateCalls": []any{map[string]any{
			"stateOverrides": map[string]any{fmt.Sprint(from): map[string]any{"nonce": "0xffffffffffffffff"}},
			"calls":          []any{map[string]any{"from": from, "to": from, "value": fmt.Sprintf("0x%x", i)}},
		}},
	}, "latest"}
}

// TestClientFaultsMarkNoProvider: 1,000 requests that every node refuses
// with an "internal error" get that node's answer, each after at most two
// operators, and leave every upstream's condition, breaker, error rate
// and score as they were.
func TestClientFaultsMarkNoProvider(t *testing.T) {
	ctx := context.Background()
	dn, err := devnet.New(ctx, devnet.Options{Providers: 3})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { dn.Close() })
	cfg := config.Default()
	cfg.Networks = []config.Network{{Name: "devnet", ChainID: dn.ChainID(), Upstreams: dn.Upstreams(),
		Head: config.Head{PollInterval: 50 * time.Millisecond}}}
	cfg.Cache.Backend = config.CacheOff
	cfg.ApplyDefaults()
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	gw, reg, url := serveGatewayWith(t, cfg, 3, -1)
	await.Within(t, 10*time.Second, "braid serves a tip", func() bool { return gw.Networks()[0].Tip().Known })
	await.Within(t, 10*time.Second, "every upstream is assessed healthy", func() bool {
		for _, s := range standings(gw) {
			if s.Condition != "healthy" {
				return false
			}
		}
		return true
	})
	before := standings(gw)
	from := dn.Info().Account.Address
	want := rawCall(t, dn.Provider("p1").URL, "eth_simulateV1", nonceOverflow(from, 0)...)
	if want.Error == nil || want.Error.Code != -32603 {
		t.Fatalf("the chain's own answer is %s, not the -32603 this test is about", want)
	}

	const total, workers = 1000, 8
	var wg sync.WaitGroup
	errs := make(chan string, total)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < total; i += workers {
				got := rawCall(t, url, "eth_simulateV1", nonceOverflow(from, i%500)...)
				if got.Error == nil || got.Error.Code != want.Error.Code || got.Error.Message != want.Error.Message {
					errs <- fmt.Sprintf("request %d: %s, want %s", i, got, want)
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}

	rejected := cacheCounter(t, reg, "braid_upstream_requests_total", "outcome", "rejected")
	failed := cacheCounter(t, reg, "braid_upstream_requests_total", "outcome", "failed")
	// 500 distinct requests, each answered by two operators; a repeat
	// needs one (two if it raced the first). No third operator is asked.
	if failed != 0 || rejected < 1000 || rejected > 2000 {
		t.Errorf("attempts: %.0f rejected, %.0f failed; want 1000..2000 rejected, none failed", rejected, failed)
	}
	after := standings(gw)
	for name, b := range before {
		if a := after[name]; a != b {
			t.Errorf("%s: %+v after 1,000 client faults, was %+v", name, a, b)
		}
	}
}

// failingFront answers method with a node's "internal error" and passes
// everything else (head polls included) to the provider.
func failingFront(t *testing.T, p *devnet.Provider, method string) string {
	target, err := neturl.Parse(p.URL)
	if err != nil {
		t.Fatal(err)
	}
	proxy := httputil.NewSingleHostReverseProxy(target)
	proxy.ErrorLog = log.New(io.Discard, "", 0) // calls cancelled as the test ends
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		var req struct {
			ID     json.RawMessage `json:"id"`
			Method string          `json:"method"`
		}
		if json.Unmarshal(body, &req) == nil && req.Method == method {
			w.Header().Set("Content-Type", "application/json")
			_, _ = io.WriteString(w, `{"jsonrpc":"2.0","id":`+string(req.ID)+`,"error":{"code":-32603,"message":"internal error"}}`)
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		r.ContentLength = int64(len(body))
		proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

// TestStrictNodeErrorsStrikeNobody: in strict mode, when every node
// answers the receipts a check needs with an error, that error is the
// answer; the honest receipt answers are not taken for lies.
func TestStrictNodeErrorsStrikeNobody(t *testing.T) {
	s := newLiveStackWith(t, liveOptions{manual: true, verify: config.Verify{Mode: config.VerifyStrict},
		front: func(p *devnet.Provider) string { return failingFront(t, p, "eth_getBlockReceipts") }})
	ctx := context.Background()
	if _, err := s.dn.Step(ctx); err != nil {
		t.Fatal(err)
	}
	head, err := ethclient.NewClient(s.dn.RPC()).BlockByNumber(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(head.Transactions()) == 0 {
		t.Fatal("the block has no transactions")
	}
	await.Within(t, 10*time.Second, "braid serves the new block", func() bool { return s.tip().Latest.Number == head.NumberU64() })
	got := rawCall(t, s.url, "eth_getTransactionReceipt", head.Transactions()[0].Hash())
	if got.Error == nil || got.Error.Code != -32603 || got.Error.Message != "internal error" {
		t.Fatalf("braid answered %s, want the nodes' -32603 internal error", got)
	}
	if n := cacheCounter(t, s.reg, "braid_verify_failures_total"); n != 0 {
		t.Fatalf("%.0f honest answers were taken for lies", n)
	}
	for _, u := range s.gw.Status().Networks[0].Upstreams {
		if u.Quarantine != "" || u.Failures != 0 {
			t.Errorf("upstream %s: %d failures, quarantine %q", u.Name, u.Failures, u.Quarantine)
		}
	}
}

// TestUndecodableTransactionRefusedLocally: a payload that is no
// transaction gets go-ethereum's message for it with -32602, from braid
// itself.
func TestUndecodableTransactionRefusedLocally(t *testing.T) {
	s := newStack(t, 2)
	direct := s.dn.Provider("p1").URL
	for _, payload := range []string{"0x1234", "0xf86b", "0x", "0x02c0"} {
		got, node := rawCall(t, s.url, "eth_sendRawTransaction", payload), rawCall(t, direct, "eth_sendRawTransaction", payload)
		if node.Error == nil {
			t.Fatalf("%s: the node accepted it: %s", payload, node)
		}
		if got.Error == nil || got.Error.Code != -32602 || got.Error.Message != node.Error.Message {
			t.Errorf("%s: braid answered %s, want -32602 with the node's message %q", payload, got, node.Error.Message)
		}
	}
}
