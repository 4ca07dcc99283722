package integration

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common/hexutil"

	"github.com/braidrpc/braid/internal/await"
	"github.com/braidrpc/braid/internal/config"
	"github.com/braidrpc/braid/internal/gateway"
	"github.com/braidrpc/braid/internal/upstream"
)

// rawAnswer is a JSON-RPC answer as sent: the raw result, or the error's
// code and message.
type rawAnswer struct {
	Result json.RawMessage `json:"result"`
	Error  *struct {
		Code    int             `json:"code"`
		Message string          `json:"message"`
		Data    json.RawMessage `json:"data"`
	} `json:"error"`
}

func (a rawAnswer) String() string {
	if a.Error != nil {
		return fmt.Sprintf("error %d %q", a.Error.Code, a.Error.Message)
	}
	return "result " + string(a.Result)
}

// rawCall posts one call to url and returns its answer as sent.
func rawCall(t testing.TB, url, method string, params ...any) rawAnswer {
	t.Helper()
	body, _ := json.Marshal(map[string]any{"jsonrpc": "2.0", "id": 1, "method": method, "params": params})
	resp, err := http.Post(url, "application/json", strings.NewReader(string(body)))
	if err != nil {
		t.Fatalf("%s to %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	var a rawAnswer
	if err := json.NewDecoder(resp.Body).Decode(&a); err != nil {
		t.Fatalf("%s to %s: %v", method, url, err)
	}
	return a
}

type aboveCase struct {
	name   string
	method string
	params []any
}

// aboveHeadCases are reads of a block above the chain's head (head+16),
// for every method that reads a block by number.
func aboveHeadCases(head uint64, user, token any) []aboveCase {
	future := hexutil.EncodeUint64(head + 16)
	past := hexutil.EncodeUint64(head - 1)
	balanceOf := "0x70a08231" + strings.Repeat("0", 64)
	return []aboveCase{
		{"block", "eth_getBlockByNumber", []any{future, false}},
		{"block, full", "eth_getBlockByNumber", []any{future, true}},
		{"receipts", "eth_getBlockReceipts", []any{future}},
		{"receipts, EIP-1898", "eth_getBlockReceipts", []any{map[string]any{"blockNumber": future}}},
		{"transaction count", "eth_getBlockTransactionCountByNumber", []any{future}},
		{"uncle count", "eth_getUncleCountByBlockNumber", []any{future}},
		{"transaction by number and index", "eth_getTransactionByBlockNumberAndIndex", []any{future, "0x0"}},
		{"balance", "eth_getBalance", []any{user, future}},
		{"nonce", "eth_getTransactionCount", []any{user, future}},
		{"code", "eth_getCode", []any{token, future}},
		{"storage", "eth_getStorageAt", []any{token, "0x0", future}},
		{"proof", "eth_getProof", []any{token, []string{}, future}},
		{"call", "eth_call", []any{map[string]any{"to": token, "data": balanceOf}, future}},
		{"logs ending past the head", "eth_getLogs", []any{map[string]any{"fromBlock": past, "toBlock": future}}},
		{"logs starting past the head", "eth_getLogs", []any{map[string]any{"fromBlock": future}}},
		{"logs wholly past the head", "eth_getLogs", []any{map[string]any{"fromBlock": future, "toBlock": future}}},
	}
}

// TestAboveHeadAnswersAsANode: a block number above every provider's head
// gets, through braid, exactly what a provider answers when asked directly
// (null, "header not found", -32602 for a log range), not -32040; nothing
// of it is cached, and no upstream is marked for it.
func TestAboveHeadAnswersAsANode(t *testing.T) {
	s := newStack(t, 3)
	ctx := context.Background()
	for range 3 {
		if _, err := s.dn.Step(ctx); err != nil {
			t.Fatal(err)
		}
	}
	s.waitTip(t)
	var head hexutil.Uint64
	if err := s.dn.RPC().CallContext(ctx, &head, "eth_blockNumber"); err != nil {
		t.Fatal(err)
	}
	direct := s.dn.Provider("p2").URL
	for _, c := range aboveHeadCases(uint64(head), s.dn.Info().Account.Address, s.dn.Info().Token) {
		for round := range 2 { // the second time from the cache, if braid kept it (it must not)
			got, want := rawCall(t, s.url, c.method, c.params...), rawCall(t, direct, c.method, c.params...)
			if got.String() != want.String() {
				t.Errorf("%s (round %d): braid answered %s, the provider %s", c.name, round, got, want)
			}
			if round == 0 {
				t.Logf("%s: %s", c.name, got)
			}
		}
	}
	checkUnmarked(t, s.url)
}

// TestAboveTrustedTipAnswersAsANode: in strict mode a number above the
// trusted tip is null for a block (or its receipts, or a transaction in
// it), "header not found" for state, and go-ethereum's -32602 for a log
// range past it: what the chain's own node answers.
func TestAboveTrustedTipAnswersAsANode(t *testing.T) {
	s := strictStack(t)
	head := s.tip().Latest.Number
	direct := s.dn.Provider("p1").URL
	verified := map[string]bool{}
	for _, c := range aboveHeadCases(head, s.user, s.token) {
		switch c.method {
		case "eth_getBlockTransactionCountByNumber", "eth_getUncleCountByBlockNumber", "eth_call":
			continue // not verifiable: refused in strict mode unless allowed
		}
		verified[c.method] = true
		got, want := rawCall(t, s.url, c.method, c.params...), rawCall(t, direct, c.method, c.params...)
		if got.String() != want.String() {
			t.Errorf("%s: braid answered %s, the provider %s", c.name, got, want)
		}
		t.Logf("%s: %s", c.name, got)
	}
	if len(verified) != 9 {
		t.Fatalf("%d verified methods checked", len(verified))
	}
	checkUnmarked(t, s.url)
}

// checkUnmarked asserts no upstream has a failure on record or a breaker
// that is not closed.
func checkUnmarked(t *testing.T, url string) {
	t.Helper()
	resp, err := http.Get(url + "/status")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var st gateway.Status
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil {
		t.Fatal(err)
	}
	for _, u := range st.Networks[0].Upstreams {
		if u.Failures != 0 || u.Breaker != upstream.BreakerClosed.String() {
			t.Errorf("upstream %s: %d failures, breaker %s after reads above the head", u.Name, u.Failures, u.Breaker)
		}
	}
}

// TestAboveHeadWithQuorum: quorum reads of a block above the head agree
// on the node's answer like any other.
func TestAboveHeadWithQuorum(t *testing.T) {
	s := newLiveStackWith(t, liveOptions{manual: true, providers: 3, quorum: config.Quorum{K: 2}})
	ctx := context.Background()
	if _, err := s.dn.Step(ctx); err != nil {
		t.Fatal(err)
	}
	var head hexutil.Uint64
	if err := s.dn.RPC().CallContext(ctx, &head, "eth_blockNumber"); err != nil {
		t.Fatal(err)
	}
	await.Within(t, 10*time.Second, "braid serves the chain's head", func() bool { return s.tip().Latest.Number == uint64(head) })
	direct := s.dn.Provider("p3").URL
	for _, c := range aboveHeadCases(uint64(head), s.user, s.token) {
		got, want := rawCall(t, s.url, c.method, c.params...), rawCall(t, direct, c.method, c.params...)
		if got.String() != want.String() {
			t.Errorf("%s: braid answered %s, the provider %s", c.name, got, want)
		}
	}
	if n := cacheCounter(t, s.reg, "braid_quorum_disputes_total"); n != 0 {
		t.Fatalf("%.0f disputes", n)
	}
	checkUnmarked(t, s.url)
}
