package server_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/braidrpc/braid/internal/await"
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
	await.Until(t, "the served tip in /status", func() bool {
		var status int
		status, raw = doRequest(t, http.MethodGet, b.URL+"/status", "")
		if status != http.StatusOK {
			t.Fatalf("/status: HTTP %d %s", status, raw)
		}
		if err := json.Unmarshal([]byte(raw), &st); err != nil {
			t.Fatalf("/status is not JSON: %v\n%s", err, raw)
		}
		return st.Networks[0].Tip.Known
	})
	if strings.Contains(raw, "SECRETKEY") || strings.Contains(raw, "/v3/") {
		t.Fatalf("/status shows an upstream URL's path or key:\n%s", raw)
	}
	n := st.Networks[0]
	if n.Name != "mainnet" || n.ChainID != 1 || n.Tip.Latest.Number != 0x10 || n.MinOperators != 2 || len(n.Upstreams) != 2 {
		t.Fatalf("network status %+v", n)
	}
	if n.HighestHead == nil || *n.HighestHead != 0x10 || n.Stalled || n.StallReason != "" || n.TipAgeSeconds < 0 ||
		!strings.Contains(raw, `"tip_age_seconds":`) {
		t.Fatalf("network progress: highest %v stalled %v %q age %v", n.HighestHead, n.Stalled, n.StallReason, n.TipAgeSeconds)
	}
	for _, u := range n.Upstreams {
		if u.Operator != "op-"+u.Name || u.State != "ready" || u.Breaker != "closed" || u.Head == nil ||
			u.Head.Latest.Number != 0x10 || u.LagBlocks == nil || *u.LagBlocks != 0 || !strings.HasPrefix(u.URL, "http://127.0.0.1:") {
			t.Errorf("upstream status %+v", u)
		}
		if u.BehindHighest == nil || *u.BehindHighest != 0 {
			t.Errorf("%s: behind_highest_blocks %v", u.Name, u.BehindHighest)
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

type readyReport struct {
	Status   string `json:"status"`
	Networks map[string]struct {
		Ready         bool    `json:"ready"`
		Tip           *uint64 `json:"tip"`
		TipAgeSeconds float64 `json:"tip_age_seconds"`
		HighestHead   *uint64 `json:"highest_head"`
		Problem       string  `json:"problem"`
	} `json:"networks"`
}

func getReady(t *testing.T, b *braid) (int, readyReport, string) {
	t.Helper()
	status, raw := doRequest(t, http.MethodGet, b.URL+"/readyz", "")
	var r readyReport
	if err := json.Unmarshal([]byte(raw), &r); err != nil {
		t.Fatalf("/readyz body %q: %v", raw, err)
	}
	return status, r, raw
}

// TestReadyz: /readyz is 200 only when every network has a served tip
// (braid polls each upstream as soon as its chain id is confirmed, so a
// healthy start is ready at once); otherwise 503, saying per network why,
// while /healthz (liveness) stays 200.
func TestReadyz(t *testing.T) {
	b := startBraid(t, nil, mainnet(newFake(t, "a", 1), newFake(t, "b", 1)))
	status, r, raw := getReady(t, b)
	if status != http.StatusOK || r.Status != "ready" {
		t.Fatalf("/readyz: HTTP %d %s", status, raw)
	}
	if m := r.Networks["mainnet"]; !m.Ready || m.Tip == nil || *m.Tip != 0x10 || m.HighestHead == nil || *m.HighestHead != 0x10 || m.Problem != "" {
		t.Fatalf("mainnet %+v", m)
	}

	// One of two operators serves another chain: a majority (2) can never
	// agree on a tip.
	good, wrong := newFake(t, "good", 1), newFake(t, "wrong", 10)
	b = startBraid(t, nil, mainnet(good, wrong),
		netSpec{name: "devnet", chainID: 1337, fakes: []*fakeUpstream{newFake(t, "c", 1337)}})
	if status, _, raw := getHealth(t, b); status != http.StatusOK {
		t.Fatalf("/healthz: HTTP %d %s", status, raw)
	}
	status, r, raw = getReady(t, b)
	if status != http.StatusServiceUnavailable || r.Status != "not ready" {
		t.Fatalf("/readyz without mainnet's tip: HTTP %d %s", status, raw)
	}
	if m := r.Networks["mainnet"]; m.Ready || m.Tip != nil || m.Problem != "no served tip yet: 1 of 2 operators usable, 2 needed" {
		t.Fatalf("mainnet %+v", m)
	}
	if d := r.Networks["devnet"]; !d.Ready || d.Tip == nil || *d.Tip != 0x10 || d.Problem != "" {
		t.Fatalf("devnet %+v", d)
	}
}
