package server_test

// State that outlives one call: sticky filters, remembered static answers,
// and transactions the network already has.

import (
	"context"
	"crypto/ecdsa"
	"math/big"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"
)

var braidFilterID = regexp.MustCompile(`^"0x[0-9a-f]{32}"$`)

// TestFilters: a filter lives on the upstream that created it; braid hands
// out its own id and sends every poll there, with the upstream's id.
func TestFilters(t *testing.T) {
	a, c := newFake(t, "a", 1), newFake(t, "b", 1)
	b := startBraid(t, nil, mainnet(a, c))

	install := func(method, params string) string {
		t.Helper()
		ans := b.call("/", method, params)
		if ans.Error != nil || !braidFilterID.Match(ans.Result) {
			t.Fatalf("%s: %+v %s", method, ans.Error, ans.Result)
		}
		return string(ans.Result)
	}
	poll := func(id string) rpcAnswer {
		t.Helper()
		return b.call("/", "eth_getFilterChanges", "["+id+"]")
	}

	// Filter 1 lands on whichever upstream routing prefers; with that one
	// refusing, filter 2 lands on the other.
	f1 := install("eth_newFilter", `[{"address":"`+testAddr+`"}]`)
	first, second := a, c
	if c.Calls("eth_newFilter") == 1 {
		first, second = c, a
	}
	if first.Calls("eth_newFilter") != 1 || second.Calls("eth_newFilter") != 0 {
		t.Fatalf("filter 1 installed on both or neither: a %v, b %v", a.AllCalls(), c.AllCalls())
	}
	first.SetStatus(http.StatusServiceUnavailable, "")
	f2 := install("eth_newBlockFilter", "")
	first.SetStatus(0, "")
	if second.Calls("eth_newBlockFilter") != 1 {
		t.Fatalf("filter 2 not installed on the other upstream: a %v, b %v", a.AllCalls(), c.AllCalls())
	}
	remoteID := map[*fakeUpstream]string{a: `["0x610001"]`, c: `["0x620001"]`}
	if f1 == f2 {
		t.Fatalf("two filters share braid id %s", f1)
	}

	for range 3 {
		for _, id := range []string{f1, f2} {
			if ans := poll(id); ans.Error != nil || string(ans.Result) != "[]" {
				t.Errorf("poll %s: %+v %s", id, ans.Error, ans.Result)
			}
		}
	}
	// Each poll reached the filter's own upstream, with that upstream's id.
	for _, tc := range []struct {
		f        *fakeUpstream
		braidID  string
		remoteID string
	}{
		{first, f1, remoteID[first]},
		{second, f2, remoteID[second]},
	} {
		params := tc.f.Params("eth_getFilterChanges")
		if len(params) != 3 {
			t.Errorf("%s got %d polls, want 3: %v", tc.f.name, len(params), params)
		}
		for _, p := range params {
			if p != tc.remoteID {
				t.Errorf("%s was polled with %s, want its own id %s (braid's is %s)", tc.f.name, p, tc.remoteID, tc.braidID)
			}
		}
	}

	// An id braid never gave out.
	unknown := poll(`"0x610001"`)
	if unknown.Error == nil || unknown.Error.Code != -32000 || unknown.Error.Message != "filter not found" {
		t.Errorf("unknown filter id: %+v %s", unknown.Error, unknown.Result)
	}

	// Uninstall: the upstream is told, later polls find nothing.
	if ans := b.call("/", "eth_uninstallFilter", "["+f1+"]"); string(ans.Result) != "true" {
		t.Errorf("uninstall: %+v %s", ans.Error, ans.Result)
	}
	if got := first.Params("eth_uninstallFilter"); len(got) != 1 || got[0] != remoteID[first] {
		t.Errorf("uninstall reached %s with %v", first.name, got)
	}
	if ans := poll(f1); ans.Error == nil || ans.Error.Message != "filter not found" {
		t.Errorf("poll after uninstall: %+v %s", ans.Error, ans.Result)
	}
	// The upstream holding filter 2 goes away: the poll fails (no other
	// upstream has the filter, so none is asked).
	second.SetDown(true)
	if ans := poll(f2); ans.Error == nil {
		t.Errorf("poll of a filter whose upstream is down: result %s", ans.Result)
	}
	if n := first.Calls("eth_getFilterChanges"); n != 3 {
		t.Errorf("%s got %d polls, want 3 (none for the other's filter)", first.name, n)
	}
}

func signedTx(t *testing.T, key *ecdsa.PrivateKey, nonce uint64) (raw string, hash string) {
	t.Helper()
	to := common.HexToAddress(testAddr)
	tx := types.NewTx(&types.DynamicFeeTx{
		ChainID:   big.NewInt(1),
		Nonce:     nonce,
		GasTipCap: big.NewInt(1e9),
		GasFeeCap: big.NewInt(30e9),
		Gas:       21000,
		To:        &to,
		Value:     big.NewInt(1),
	})
	signed, err := types.SignTx(tx, types.LatestSignerForChainID(big.NewInt(1)), key)
	if err != nil {
		t.Fatal(err)
	}
	b, err := signed.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	return hexutil.Encode(b), signed.Hash().Hex()
}

// TestSendRawTransactionAlreadyKnown: "already known" means the network has
// the transaction: the client gets its hash, not an error.
func TestSendRawTransactionAlreadyKnown(t *testing.T) {
	key, err := crypto.HexToECDSA("b71c71a67e1177ad4e901695e1b4b9ee17ae16c6668d313eac2f96dbcda3f291")
	if err != nil {
		t.Fatal(err)
	}
	raw, hash := signedTx(t, key, 0)

	for _, msg := range []string{"already known", "ALREADY_EXISTS: already known", "known transaction: 0xabc", "Transaction already imported"} {
		t.Run(msg, func(t *testing.T) {
			f := newFake(t, "a", 1)
			b := startBraid(t, nil, mainnet(f))
			f.Answer("eth_sendRawTransaction", `"error":{"code":-32000,"message":"`+msg+`"}`)
			ans := b.call("/", "eth_sendRawTransaction", `["`+raw+`"]`)
			if ans.Error != nil || string(ans.Result) != `"`+hash+`"` {
				t.Errorf("got %+v %s, want result %q", ans.Error, ans.Result, hash)
			}
			if got := f.Params("eth_sendRawTransaction"); len(got) != 1 || got[0] != `["`+raw+`"]` {
				t.Errorf("upstream got %v", got)
			}
		})
	}

	t.Run("one operator down, another already has it", func(t *testing.T) {
		first, second := newFake(t, "first", 1), newFake(t, "second", 1)
		b := startBraid(t, nil, mainnet(first, second))
		first.SetStatus(http.StatusBadGateway, "")
		second.Answer("eth_sendRawTransaction", `"error":{"code":-32000,"message":"already known"}`)
		ans := b.call("/", "eth_sendRawTransaction", `["`+raw+`"]`)
		if ans.Error != nil || string(ans.Result) != `"`+hash+`"` {
			t.Errorf("got %+v %s, want result %q", ans.Error, ans.Result, hash)
		}
		if second.Calls("eth_sendRawTransaction") != 1 {
			t.Errorf("calls: second %v", second.AllCalls())
		}
	})

	// The first attempt's answer was lost (502) but the transaction may
	// have landed: "nonce too low" on the retry is success when the
	// network knows the transaction.
	t.Run("nonce too low after a retry, transaction known", func(t *testing.T) {
		first, second := newFake(t, "first", 1), newFake(t, "second", 1)
		b := startBraid(t, nil, mainnet(first, second))
		first.SetStatus(http.StatusBadGateway, "")
		second.Answer("eth_sendRawTransaction", `"error":{"code":-32000,"message":"nonce too low: next nonce 8, tx nonce 7"}`)
		second.Answer("eth_getTransactionByHash", `"result":{"hash":"`+hash+`"}`)
		ans := b.call("/", "eth_sendRawTransaction", `["`+raw+`"]`)
		if ans.Error != nil || string(ans.Result) != `"`+hash+`"` {
			t.Errorf("got %+v %s, want result %q", ans.Error, ans.Result, hash)
		}
	})
	t.Run("nonce too low after a retry, transaction unknown", func(t *testing.T) {
		first, second := newFake(t, "first", 1), newFake(t, "second", 1)
		b := startBraid(t, nil, mainnet(first, second))
		first.SetStatus(http.StatusBadGateway, "")
		second.Answer("eth_sendRawTransaction", `"error":{"code":-32000,"message":"nonce too low"}`)
		ans := b.call("/", "eth_sendRawTransaction", `["`+raw+`"]`)
		if ans.Error == nil || ans.Error.Message != "nonce too low" {
			t.Errorf("got %+v %s, want the upstream's nonce too low", ans.Error, ans.Result)
		}
	})
	// A client resending a transaction that was mined meanwhile gets
	// "nonce too low" from every node: the chain has it, so it is success.
	t.Run("nonce too low everywhere, transaction mined", func(t *testing.T) {
		f := newFake(t, "a", 1)
		b := startBraid(t, nil, mainnet(f))
		f.Answer("eth_sendRawTransaction", `"error":{"code":-32000,"message":"nonce too low"}`)
		f.Answer("eth_getTransactionByHash", `"result":{"hash":"`+hash+`"}`)
		ans := b.call("/", "eth_sendRawTransaction", `["`+raw+`"]`)
		if ans.Error != nil || string(ans.Result) != `"`+hash+`"` || f.Calls("eth_getTransactionByHash") != 1 {
			t.Errorf("got %+v %s; lookups %d", ans.Error, ans.Result, f.Calls("eth_getTransactionByHash"))
		}
	})

	t.Run("other rejections pass through", func(t *testing.T) {
		f := newFake(t, "a", 1)
		b := startBraid(t, nil, mainnet(f))
		status, got := b.post("/", `{"jsonrpc":"2.0","id":9,"method":"eth_sendRawTransaction","params":["`+raw+`"]}`)
		if want := `{"jsonrpc":"2.0","id":9,"error":` + sendRawError + `}`; status != http.StatusOK || got != want {
			t.Errorf("HTTP %d\ngot  %s\nwant %s", status, got, want)
		}
	})
}

// TestFilterSurvivesTransientUpstreamError: a filter's upstream that fails
// one poll (overloaded, rate-limited) still holds the filter. braid must
// not declare it lost: the client would install a new filter and silently
// miss every log between its last poll and the new filter.

func TestFilterSurvivesTransientUpstreamError(t *testing.T) {
	faults := []struct {
		name  string
		apply func(*fakeUpstream)
	}{
		{"http 503", func(f *fakeUpstream) { f.SetStatus(http.StatusServiceUnavailable, "") }},
		{"http 429", func(f *fakeUpstream) { f.SetStatus(http.StatusTooManyRequests, "1") }},
	}
	for _, fault := range faults {
		t.Run(fault.name, func(t *testing.T) {
			a, other := newFake(t, "a", 1), newFake(t, "b", 1)
			b := startBraid(t, nil, mainnet(a, other))
			ans := b.call("/", "eth_newFilter", `[{"address":"`+testAddr+`"}]`)
			if ans.Error != nil || a.Calls("eth_newFilter") != 1 {
				t.Fatalf("install: %+v %s; a %v", ans.Error, ans.Result, a.AllCalls())
			}
			id := string(ans.Result)

			fault.apply(a)
			blip := b.call("/", "eth_getFilterChanges", "["+id+"]")
			if blip.Error == nil {
				t.Fatalf("poll while the upstream fails: result %s", blip.Result)
			}
			if blip.Error.Message == "filter not found" {
				t.Errorf("poll while the upstream fails: %q, but the upstream still holds the filter", blip.Error.Message)
			}

			a.SetStatus(0, "")
			after := b.call("/", "eth_getFilterChanges", "["+id+"]")
			if after.Error != nil || string(after.Result) != "[]" {
				t.Errorf("poll once the upstream is back: %+v %s, want [] from the filter it still holds", after.Error, after.Result)
			}
		})
	}
}

// TestStaticAnswerSurvivesAnotherClientLeaving: concurrent first calls of
// net_version are merged into one upstream call; a client that gives up on
// its call must not fail the others that were merged into it.

func TestStaticAnswerSurvivesAnotherClientLeaving(t *testing.T) {
	f := newFake(t, "a", 1)
	b := startBraid(t, nil, mainnet(f))
	f.SetLatency(500 * time.Millisecond)
	arrived := f.Arrivals()

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	first := make(chan error, 1)
	go func() {
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, b.URL+"/",
			strings.NewReader(`{"jsonrpc":"2.0","id":1,"method":"net_version"}`))
		res, err := http.DefaultClient.Do(req)
		if err == nil {
			res.Body.Close()
		}
		first <- err
	}()
	select {
	case <-arrived:
	case <-time.After(10 * time.Second):
		t.Fatal("net_version never reached the upstream")
	}
	type result struct {
		status int
		body   string
		err    error
	}
	second := make(chan result, 1)
	go func() {
		status, body, err := postRaw(b.URL+"/", `{"jsonrpc":"2.0","id":2,"method":"net_version"}`)
		second <- result{status, body, err}
	}()
	// Give the second call time to join the first one's upstream call (if
	// it has not, it makes its own and the test passes without proving
	// anything; it cannot fail spuriously).
	time.Sleep(100 * time.Millisecond)
	cancel() // the first client gives up
	<-first

	r := <-second
	if want := `{"jsonrpc":"2.0","id":2,"result":"1"}`; r.err != nil || r.status != http.StatusOK || r.body != want {
		t.Errorf("second client: HTTP %d %v\ngot  %s\nwant %s", r.status, r.err, r.body, want)
	}
}
