package server_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/braidrpc/braid/internal/gateway"
)

// TestStatus: GET /status shows the served tip and every upstream's state,
// with URLs redacted to scheme and host.
func TestStatus(t *testing.T) {
	a, c := newFake(t, "a", 1), newFake(t, "b", 1)
	cfg := braidConfig(t, nil, mainnet(a, c))
	for i := range cfg.Networks[0].Upstreams {
		cfg.Networks[0].Upstreams[i].URL += "/v3/SECRETKEY?key=SECRETKEY"
	}
	b := startBraidConfig(t, cfg, mainnet(a, c))

	// The tip becomes known once both operators report block 0x10.
	var st gateway.Status
	var raw string
	deadline := time.Now().Add(10 * time.Second)
	for {
		var status int
		status, raw = doRequest(t, http.MethodGet, b.URL+"/status", "")
		if status != http.StatusOK {
			t.Fatalf("/status: HTTP %d %s", status, raw)
		}
		if err := json.Unmarshal([]byte(raw), &st); err != nil {
			t.Fatalf("/status is not JSON: %v\n%s", err, raw)
		}
		if st.Networks[0].Tip.Known {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("tip never known:\n%s", raw)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if strings.Contains(raw, "SECRETKEY") || strings.Contains(raw, "/v3/") {
		t.Fatalf("/status shows an upstream URL's path or key:\n%s", raw)
	}
	n := st.Networks[0]
	if n.Name != "mainnet" || n.ChainID != 1 || n.Tip.Latest.Number != 0x10 || n.MinOperators != 2 || len(n.Upstreams) != 2 {
		t.Fatalf("network status %+v", n)
	}
	for _, u := range n.Upstreams {
		if u.Operator != "op-"+u.Name || u.State != "ready" || u.Breaker != "closed" || u.Head == nil ||
			u.Head.Latest.Number != 0x10 || u.LagBlocks == nil || *u.LagBlocks != 0 || !strings.HasPrefix(u.URL, "http://127.0.0.1:") {
			t.Errorf("upstream status %+v", u)
		}
		if u.Depth.State != "unlimited" || u.Depth.History != "unlimited" {
			t.Errorf("depth %+v", u.Depth)
		}
	}
	// eth_blockNumber is answered from the tip, with no upstream call.
	before := a.Calls("eth_blockNumber") + c.Calls("eth_blockNumber")
	if ans := b.call("/", "eth_blockNumber", ""); string(ans.Result) != `"0x10"` {
		t.Fatalf("eth_blockNumber %+v %s", ans.Error, ans.Result)
	}
	if a.Calls("eth_blockNumber")+c.Calls("eth_blockNumber") != before {
		t.Fatal("eth_blockNumber reached an upstream although the tip is known")
	}
}
