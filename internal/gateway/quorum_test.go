package gateway_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/braidrpc/braid/internal/config"
	gt "github.com/braidrpc/braid/internal/gatewaytest"
	"github.com/braidrpc/braid/internal/jsonrpc"
)

const balanceParams = `["0x0000000000000000000000000000000000000001","latest"]`

// startQuorum runs mainnet over fakes with quorum q (gt.QuorumConfig).
// With audit, every quorum read asks one operator from beyond the best k
// (the gateway's probe share is 1).
func startQuorum(t *testing.T, q config.Quorum, audit bool, fakes ...*gt.Fake) *gt.Harness {
	t.Helper()
	cfg := gt.QuorumConfig(t, q, fakes...)
	probe := -1.0
	if audit {
		probe = 1
	}
	gw, reg := gt.StartGateway(t, cfg, probe)
	h := gt.Started(t, cfg, gw, reg, gt.Mainnet(fakes...))
	gt.AwaitHeads(t, gw.Network("mainnet"), fakes...)
	return h
}

// jsonOf is v as its JSON form decodes into out: what the status pages
// show of it.
func jsonOf(t *testing.T, v, out any) {
	t.Helper()
	raw, err := json.Marshal(v)
	if err == nil {
		err = json.Unmarshal(raw, out)
	}
	if err != nil {
		t.Fatal(err)
	}
}

func TestQuorumOutvotesALiar(t *testing.T) {
	liar, a, c := gt.NewFake(t, "liar", 1), gt.NewFake(t, "a", 1), gt.NewFake(t, "c", 1)
	liar.Answer("eth_getBalance", `"result":"0x1"`)
	h := startQuorum(t, config.Quorum{K: 2}, true, liar, a, c)

	// Read until the liar is quarantined: the audit asks it in about
	// every other read, so 200 reads are far more than enough.
	quarantined := func() bool {
		ok, _ := h.GW.Health()
		return ok && h.GW.Network("mainnet").Usable() == 2
	}
	for i := 0; i < 200 && !quarantined(); i++ {
		ans := h.Call("eth_getBalance", balanceParams)
		if ans.Error != nil || string(ans.Result) != gt.Balance {
			t.Fatalf("read %d: %+v %s, want the honest balance", i, ans.Error, ans.Result)
		}
	}
	var disputes []struct {
		Method   string   `json:"method"`
		Decision string   `json:"decision"`
		Losers   []string `json:"losers"`
		Answers  []struct {
			Operator string `json:"operator"`
			Hash     string `json:"answer_hash"`
		} `json:"answers"`
	}
	jsonOf(t, h.GW.Disputes(), &disputes)
	if len(disputes) == 0 {
		t.Fatal("no dispute logged")
	}
	d := disputes[0]
	if d.Method != "eth_getBalance" || d.Decision != "resolved" || len(d.Losers) != 1 || d.Losers[0] != "op-liar" {
		t.Fatalf("dispute %+v", d)
	}
	for _, ans := range d.Answers {
		if ans.Hash == "" {
			t.Errorf("answer of %s has no hash", ans.Operator)
		}
	}

	// Three strikes within the window: the liar's operator is
	// quarantined and no longer asked.
	var st struct {
		Networks []struct {
			Operators []struct {
				Name             string     `json:"name"`
				Strikes          int        `json:"strikes"`
				QuarantinedUntil *time.Time `json:"quarantined_until"`
			} `json:"operators"`
			Upstreams []struct {
				Name       string `json:"name"`
				Quarantine string `json:"quarantine"`
			} `json:"upstreams"`
		} `json:"networks"`
	}
	jsonOf(t, h.GW.Status(), &st)
	op := st.Networks[0].Operators[0]
	if op.Name != "op-liar" || op.QuarantinedUntil == nil {
		t.Fatalf("liar not quarantined: %+v (disputes so far %d)", op, len(disputes))
	}
	if q := st.Networks[0].Upstreams[0].Quarantine; !strings.Contains(q, "lost too many disputes") {
		t.Fatalf("upstream quarantine reason %q", q)
	}
	liar.ResetCalls()
	for range 5 {
		if ans := h.Call("eth_getBalance", balanceParams); string(ans.Result) != gt.Balance {
			t.Fatalf("got %s", ans.Result)
		}
	}
	if n := liar.Calls("eth_getBalance"); n != 0 {
		t.Fatalf("a quarantined operator was asked %d times", n)
	}
}

func TestQuorumDispute(t *testing.T) {
	a, c := gt.NewFake(t, "a", 1), gt.NewFake(t, "c", 1)
	c.Answer("eth_getBalance", `"result":"0x1"`)
	for _, tt := range []struct {
		policy string
		code   int
	}{{config.OnDisputeError, jsonrpc.CodeDispute}, {config.OnDisputeMajority, jsonrpc.CodeDispute}} {
		h := startQuorum(t, config.Quorum{K: 2, OnDispute: tt.policy}, false, a, c)
		ans := h.Call("eth_getBalance", balanceParams)
		if ans.Error == nil || ans.Error.Code != tt.code {
			t.Fatalf("%s: got %+v %s, want error %d", tt.policy, ans.Error, ans.Result, tt.code)
		}
		if !strings.Contains(ans.Error.Message, "op-a") || !strings.Contains(ans.Error.Message, "op-c") {
			t.Errorf("message %q does not name the operators", ans.Error.Message)
		}
		var data struct {
			Quorum  int `json:"quorum"`
			Answers []struct {
				Operator string `json:"operator"`
				Hash     string `json:"answer_hash"`
			} `json:"answers"`
		}
		if err := json.Unmarshal(ans.Error.Data, &data); err != nil || data.Quorum != 2 || len(data.Answers) != 2 {
			t.Errorf("data %s (%v)", ans.Error.Data, err)
		}
	}
}

// TestQuorumShortfall: a quorum read short of operators fails, or under
// on_shortfall: best_effort is answered with how many agreed of how many
// it asks for (the server's Braid-Quorum header, HTTP and WebSocket
// alike); a fully backed answer says nothing.
func TestQuorumShortfall(t *testing.T) {
	a, down := gt.NewFake(t, "a", 1), gt.NewFake(t, "down", 1)
	t.Run("error", func(t *testing.T) {
		h := startQuorum(t, config.Quorum{K: 2}, false, a, down)
		down.SetDown(true)
		defer down.SetDown(false)
		ans := h.Call("eth_getBalance", balanceParams)
		if ans.Error == nil || ans.Error.Code != jsonrpc.CodeQuorumShortfall {
			t.Fatalf("got %+v %s, want a shortfall error", ans.Error, ans.Result)
		}
	})
	t.Run("best effort", func(t *testing.T) {
		h := startQuorum(t, config.Quorum{K: 2, OnShortfall: config.OnShortfallBestEffort}, false, a, down)
		down.SetDown(true)
		defer down.SetDown(false)
		res := h.Exec(`{"jsonrpc":"2.0","id":1,"method":"eth_getBalance","params":` + balanceParams + `}`)
		if res.Agreed != 1 || res.K != 2 {
			t.Errorf("agreed %d of %d, want 1 of 2", res.Agreed, res.K)
		}
		if ans := gt.DecodeAnswer(t, string(res.Response.AppendJSON(nil))); string(ans.Result) != gt.Balance {
			t.Errorf("got %s", res.Response.AppendJSON(nil))
		}
		down.SetDown(false)
		res = h.Exec(`{"jsonrpc":"2.0","id":1,"method":"eth_getCode","params":` + balanceParams + `}`)
		if res.K != 0 {
			t.Errorf("agreed %d of %d on a full quorum, want nothing said", res.Agreed, res.K)
		}
	})
}
