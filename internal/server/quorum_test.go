package server_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/crypto"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/braidrpc/braid/internal/await"
	"github.com/braidrpc/braid/internal/config"
	"github.com/braidrpc/braid/internal/gateway"
	"github.com/braidrpc/braid/internal/jsonrpc"
	"github.com/braidrpc/braid/internal/report"
	"github.com/braidrpc/braid/internal/server"
)

const (
	balanceParams = `["0x0000000000000000000000000000000000000001","latest"]`
	honestBalance = `"0xde0b6b3a7640000"`
)

// startQuorum runs mainnet over fakes with quorum q (strikes: 3 in a
// minute quarantine for an hour). With audit, every quorum read asks one
// operator from beyond the best k (the gateway's probe share is 1).
func startQuorum(t *testing.T, q config.Quorum, audit bool, fakes ...*fakeUpstream) *braid {
	t.Helper()
	spec := mainnet(fakes...)
	cfg := braidConfig(t, nil, spec)
	cfg.Networks[0].Quorum = q
	cfg.Networks[0].Head.PollInterval = 20 * time.Millisecond
	cfg.Networks[0].Strikes = config.Strikes{Max: 3, Window: time.Minute, Quarantine: time.Hour}
	// Every read must reach the operators: these tests count disputes,
	// strikes and answers served per operator.
	cfg.Cache.Backend = config.CacheOff
	cfg.ApplyDefaults()
	var b *braid
	if !audit {
		b = startBraidConfig(t, cfg, spec)
	} else {
		b = startAudited(t, cfg, fakes)
	}
	// A quorum read goes only to upstreams known to hold the pinned block:
	// wait until every head was polled once.
	n := b.gw.Network("mainnet")
	await.Until(t, "every upstream's head polled", func() bool {
		known := 0
		for _, u := range n.Upstreams() {
			if _, ok := n.Heads().Heads(u); ok {
				known++
			}
		}
		return known == len(fakes)
	})
	for _, f := range fakes {
		f.ResetCalls()
	}
	return b
}

func startAudited(t *testing.T, cfg *config.Config, fakes []*fakeUpstream) *braid {
	reg := prometheus.NewRegistry()
	gw, err := gateway.New(cfg, gateway.Options{Logger: testLogger(), Registry: reg, ProbeShare: 1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(gw.Close)
	gw.Start(context.Background(), 5*time.Second)
	hs := httptest.NewServer(server.New(gw, server.Options{Limits: cfg.Limits, Logger: testLogger(), Gatherer: reg}))
	t.Cleanup(hs.Close)
	return &braid{t: t, cfg: cfg, gw: gw, reg: reg, http: hs, URL: hs.URL, fakes: fakes}
}

func (b *braid) getJSON(path string, v any) {
	b.t.Helper()
	status, body := doRequest(b.t, http.MethodGet, b.URL+path, "")
	if status != http.StatusOK {
		b.t.Fatalf("GET %s: HTTP %d: %s", path, status, body)
	}
	if err := json.Unmarshal([]byte(body), v); err != nil {
		b.t.Fatalf("GET %s: %v: %s", path, err, body)
	}
}

func TestQuorumOutvotesALiar(t *testing.T) {
	liar, a, c := newFake(t, "liar", 1), newFake(t, "a", 1), newFake(t, "c", 1)
	liar.Answer("eth_getBalance", `"result":"0x1"`)
	b := startQuorum(t, config.Quorum{K: 2}, true, liar, a, c)

	// Read until the liar is quarantined: the audit asks it in about
	// every other read, so 200 reads are far more than enough.
	quarantined := func() bool {
		h, _ := b.gw.Health()
		return h && b.gw.Network("mainnet").Usable() == 2
	}
	for i := 0; i < 200 && !quarantined(); i++ {
		ans := b.call("/", "eth_getBalance", balanceParams)
		if ans.Error != nil || string(ans.Result) != honestBalance {
			t.Fatalf("read %d: %+v %s, want the honest balance", i, ans.Error, ans.Result)
		}
	}
	var disputes struct {
		Disputes []struct {
			Method   string   `json:"method"`
			Decision string   `json:"decision"`
			Losers   []string `json:"losers"`
			Answers  []struct {
				Operator string `json:"operator"`
				Hash     string `json:"answer_hash"`
			} `json:"answers"`
		} `json:"disputes"`
	}
	b.getJSON("/status/disputes", &disputes)
	if len(disputes.Disputes) == 0 {
		t.Fatal("no dispute logged")
	}
	d := disputes.Disputes[0]
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
	b.getJSON("/status", &st)
	op := st.Networks[0].Operators[0]
	if op.Name != "op-liar" || op.QuarantinedUntil == nil {
		t.Fatalf("liar not quarantined: %+v (disputes so far %d)", op, len(disputes.Disputes))
	}
	if q := st.Networks[0].Upstreams[0].Quarantine; !strings.Contains(q, "lost too many disputes") {
		t.Fatalf("upstream quarantine reason %q", q)
	}
	liar.ResetCalls()
	for range 5 {
		if ans := b.call("/", "eth_getBalance", balanceParams); string(ans.Result) != honestBalance {
			t.Fatalf("got %s", ans.Result)
		}
	}
	if n := liar.Calls("eth_getBalance"); n != 0 {
		t.Fatalf("a quarantined operator was asked %d times", n)
	}
}

func TestQuorumDispute(t *testing.T) {
	a, c := newFake(t, "a", 1), newFake(t, "c", 1)
	c.Answer("eth_getBalance", `"result":"0x1"`)
	for _, tt := range []struct {
		policy string
		code   int
	}{{config.OnDisputeError, jsonrpc.CodeDispute}, {config.OnDisputeMajority, jsonrpc.CodeDispute}} {
		b := startQuorum(t, config.Quorum{K: 2, OnDispute: tt.policy}, false, a, c)
		ans := b.call("/", "eth_getBalance", balanceParams)
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

func TestQuorumShortfall(t *testing.T) {
	a, down := newFake(t, "a", 1), newFake(t, "down", 1)
	t.Run("error", func(t *testing.T) {
		b := startQuorum(t, config.Quorum{K: 2}, false, a, down)
		down.SetDown(true)
		defer down.SetDown(false)
		ans := b.call("/", "eth_getBalance", balanceParams)
		if ans.Error == nil || ans.Error.Code != jsonrpc.CodeQuorumShortfall {
			t.Fatalf("got %+v %s, want a shortfall error", ans.Error, ans.Result)
		}
	})
	t.Run("best effort", func(t *testing.T) {
		b := startQuorum(t, config.Quorum{K: 2, OnShortfall: config.OnShortfallBestEffort}, false, a, down)
		down.SetDown(true)
		defer down.SetDown(false)
		body := `{"jsonrpc":"2.0","id":1,"method":"eth_getBalance","params":` + balanceParams + `}`
		resp, err := http.Post(b.URL, "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		out, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if got := resp.Header.Get("Braid-Quorum"); got != "1/2" {
			t.Errorf("Braid-Quorum %q, want 1/2", got)
		}
		if ans := decodeAnswer(t, string(out)); string(ans.Result) != honestBalance {
			t.Errorf("got %s", out)
		}
		// A fully backed answer carries no header.
		down.SetDown(false)
		resp, err = http.Post(b.URL, "application/json", strings.NewReader(`{"jsonrpc":"2.0","id":1,"method":"eth_getCode","params":`+balanceParams+`}`))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if got := resp.Header.Get("Braid-Quorum"); got != "" {
			t.Errorf("Braid-Quorum %q on a full quorum", got)
		}
	})
}

func TestCentralizationEndpoint(t *testing.T) {
	a, c := newFake(t, "a", 1), newFake(t, "c", 1)
	b := startQuorum(t, config.Quorum{K: 2}, false, a, c)
	for range 5 {
		b.call("/", "eth_getBalance", balanceParams)
	}
	var rep report.Report
	b.getJSON("/status/centralization", &rep)
	n := rep.Networks[0]
	if n.Integrity.Value != 2 || n.Availability.Min != 1 || n.Requests != 10 || n.HHI != 5000 {
		t.Fatalf("report %+v", n)
	}
	status, text := doRequest(t, http.MethodGet, b.URL+"/status/centralization?format=text", "")
	if status != http.StatusOK || !strings.Contains(text, "integrity") || strings.Contains(text, "127.0.0.1") {
		t.Fatalf("text report (HTTP %d):\n%s", status, text)
	}
}

func TestBroadcast(t *testing.T) {
	key, err := crypto.HexToECDSA("b71c71a67e1177ad4e901695e1b4b9ee17ae16c6668d313eac2f96dbcda3f291")
	if err != nil {
		t.Fatal(err)
	}
	raw, hash := signedTx(t, key, 0)
	t.Run("one operator accepts", func(t *testing.T) {
		down1, down2, ok := newFake(t, "down1", 1), newFake(t, "down2", 1), newFake(t, "ok", 1)
		ok.Answer("eth_sendRawTransaction", `"result":"`+hash+`"`)
		b := startBraid(t, nil, mainnet(down1, down2, ok))
		down1.SetDown(true)
		down2.SetStatus(http.StatusServiceUnavailable, "")
		ans := b.call("/", "eth_sendRawTransaction", `["`+raw+`"]`)
		if ans.Error != nil || string(ans.Result) != `"`+hash+`"` {
			t.Fatalf("got %+v %s", ans.Error, ans.Result)
		}
	})
	t.Run("every operator gets it", func(t *testing.T) {
		f1, f2, f3 := newFake(t, "f1", 1), newFake(t, "f2", 1), newFake(t, "f3", 1)
		for _, f := range []*fakeUpstream{f1, f2, f3} {
			f.Answer("eth_sendRawTransaction", `"result":"`+hash+`"`)
		}
		f3.SetLatency(50 * time.Millisecond)
		b := startBraid(t, nil, mainnet(f1, f2, f3))
		if ans := b.call("/", "eth_sendRawTransaction", `["`+raw+`"]`); ans.Error != nil {
			t.Fatal(ans.Error)
		}
		await.Until(t, "the transaction sent to all three", func() bool { return b.calls("eth_sendRawTransaction") >= 3 })
		for _, f := range []*fakeUpstream{f1, f2, f3} {
			if f.Calls("eth_sendRawTransaction") != 1 {
				t.Errorf("%s got the transaction %d times", f.name, f.Calls("eth_sendRawTransaction"))
			}
		}
	})
	t.Run("all down", func(t *testing.T) {
		f1, f2 := newFake(t, "f1", 1), newFake(t, "f2", 1)
		b := startBraid(t, nil, mainnet(f1, f2))
		f1.SetDown(true)
		f2.SetStatus(http.StatusBadGateway, "")
		ans := b.call("/", "eth_sendRawTransaction", `["`+raw+`"]`)
		if ans.Error == nil || ans.Error.Code != jsonrpc.CodeUpstreamsFailed || !strings.Contains(ans.Error.Message, "no operator accepted") {
			t.Fatalf("got %+v %s", ans.Error, ans.Result)
		}
		if !strings.Contains(string(ans.Error.Data), "op-f1") || !strings.Contains(string(ans.Error.Data), "op-f2") {
			t.Errorf("data %s does not name each operator", ans.Error.Data)
		}
	})
	t.Run("the most specific refusal wins", func(t *testing.T) {
		f1, f2, f3 := newFake(t, "f1", 1), newFake(t, "f2", 1), newFake(t, "f3", 1)
		b := startBraid(t, nil, mainnet(f1, f2, f3))
		f1.SetDown(true)
		f2.Answer("eth_sendRawTransaction", `"error":{"code":-32603,"message":"internal error"}`)
		f3.Answer("eth_sendRawTransaction", `"error":{"code":-32000,"message":"insufficient funds for gas * price + value"}`)
		ans := b.call("/", "eth_sendRawTransaction", `["`+raw+`"]`)
		if ans.Error == nil || !strings.Contains(ans.Error.Message, "insufficient funds") {
			t.Fatalf("got %+v %s, want insufficient funds", ans.Error, ans.Result)
		}
	})
}
