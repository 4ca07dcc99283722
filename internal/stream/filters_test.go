package stream

import (
	"context"
	"encoding/json"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"

	"github.com/braidrpc/braid/internal/await"
	"github.com/braidrpc/braid/internal/jsonrpc"
)

var filterID = regexp.MustCompile(`^"0x[0-9a-f]{32}"$`)

const testAddr = "0x0100000000000000000000000000000000000000"

// TestFiltersAreBraids: braid keeps filters itself, fed by its block
// stream and pending feed: each kind installs with its own unguessable id,
// polls, and uninstalls once; eth_getFilterLogs of a log filter runs
// eth_getLogs with its criteria through the request path (a block or
// pending filter has no logs, as go-ethereum answers).
func TestFiltersAreBraids(t *testing.T) {
	h := newHarness(t)
	ids := map[string]string{}
	for _, tc := range []struct{ method, params string }{
		{"eth_newFilter", `[{"address":"` + testAddr + `"}]`},
		{"eth_newFilter", `[{"address":"` + testAddr + `","fromBlock":"0x10","toBlock":"latest"}]`},
		{"eth_newFilter", `[null]`},
		{"eth_newBlockFilter", ""},
		{"eth_newPendingTransactionFilter", ""},
		{"eth_newPendingTransactionFilter", "[false]"},
	} {
		ans := h.filter(t, tc.method, tc.params, "")
		if ans.Error != nil || !filterID.Match(ans.Result) {
			t.Fatalf("%s %s: %+v %s", tc.method, tc.params, ans.Error, ans.Result)
		}
		ids[string(ans.Result)] = tc.method + tc.params
	}
	if len(ids) != 6 {
		t.Fatalf("ids not distinct: %v", ids)
	}
	for id := range ids {
		if ans := h.filter(t, "eth_getFilterChanges", "["+id+"]", ""); ans.Error != nil || string(ans.Result) != "[]" {
			t.Errorf("poll %s: %+v %s, want []", ids[id], ans.Error, ans.Result)
		}
	}
	for id, what := range ids {
		ans := h.filter(t, "eth_getFilterLogs", "["+id+"]", "")
		isLog := strings.HasPrefix(what, "eth_newFilter")
		if isLog && (ans.Error != nil || string(ans.Result) != "[]") {
			t.Errorf("getFilterLogs %s: %+v %s", what, ans.Error, ans.Result)
		}
		if !isLog && (ans.Error == nil || ans.Error.Message != "filter not found") {
			t.Errorf("getFilterLogs %s: %+v, want filter not found", what, ans.Error)
		}
	}
	asked := strings.Join(h.node.logsAsked(), " ")
	for _, want := range []string{`[{"address":"` + testAddr + `"}]`, `[{}]`} {
		if !strings.Contains(asked, want) {
			t.Errorf("eth_getLogs asked %s, want %s among them", asked, want)
		}
	}
	for id, what := range ids {
		if ans := h.filter(t, "eth_uninstallFilter", "["+id+"]", ""); string(ans.Result) != "true" {
			t.Errorf("uninstall %s: %+v %s", what, ans.Error, ans.Result)
		}
		if ans := h.filter(t, "eth_uninstallFilter", "["+id+"]", ""); string(ans.Result) != "false" {
			t.Errorf("uninstall %s twice: %+v %s", what, ans.Error, ans.Result)
		}
		if ans := h.filter(t, "eth_getFilterChanges", "["+id+"]", ""); ans.Error == nil || ans.Error.Message != "filter not found" {
			t.Errorf("poll %s after uninstall: %+v %s", what, ans.Error, ans.Result)
		}
	}
	if c := h.Counts(); c != (Counts{}) {
		t.Errorf("after uninstalling everything: %+v", c)
	}
}

// TestFilterBadCriteria: criteria braid cannot follow are refused with
// -32602 and a reason, not installed.
func TestFilterBadCriteria(t *testing.T) {
	h := newHarness(t)
	for _, tc := range []struct{ method, params, want string }{
		{"eth_newFilter", `[{"blockHash":"0x` + strings.Repeat("ab", 32) + `"}]`, "cannot name a blockHash"},
		{"eth_newFilter", `[{"fromBlock":"soon"}]`, "unknown block tag"},
		{"eth_newFilter", `[{"topics":[[],[],[],[],[]]}]`, "more than 4 topics"},
		{"eth_newFilter", `[{"address":"0x12"}]`, "address"},
		{"eth_newPendingTransactionFilter", `[true]`, "hashes only"},
		{"eth_getFilterChanges", `[]`, "takes one filter id"},
		{"eth_getFilterChanges", `[1]`, "takes one filter id"},
	} {
		ans := h.filter(t, tc.method, tc.params, "")
		if ans.Error == nil || ans.Error.Code != jsonrpc.CodeInvalidParams || !strings.Contains(ans.Error.Message, tc.want) {
			t.Errorf("%s %s: %+v %s, want -32602 mentioning %q", tc.method, tc.params, ans.Error, ans.Result, tc.want)
		}
	}
	if c := h.Counts(); c != (Counts{}) {
		t.Errorf("refused filters hold %+v", c)
	}
}

// TestFiltersCollectChanges: a block filter collects the hashes of new
// blocks, a log filter the logs it selects (removed ones marked on a
// reorg); a poll takes what was collected.
func TestFiltersCollectChanges(t *testing.T) {
	h := newHarness(t)
	a1 := h.chain.extend("a", 1, 1, common.Hash{})
	h.advance(t, a1)
	blocks := h.filter(t, "eth_newBlockFilter", "", "").Result
	logs := h.filter(t, "eth_newFilter", `[{"address":"`+testAddr+`"}]`, "").Result
	h.advance(t, h.chain.extend("a", 2, 3, a1.Hash))
	got := h.filter(t, "eth_getFilterChanges", "["+string(blocks)+"]", "").Result
	if want := `["` + hashOf("a2").Hex() + `","` + hashOf("a3").Hex() + `"]`; string(got) != want {
		t.Fatalf("block filter changes %s, want %s", got, want)
	}
	if got := h.filter(t, "eth_getFilterChanges", "["+string(blocks)+"]", "").Result; string(got) != "[]" {
		t.Fatalf("second poll %s, want []", got)
	}
	h.advance(t, h.chain.extend("b", 3, 3, hashOf("a2"))) // b3 replaces a3
	var changes []struct {
		Data    string `json:"data"`
		Removed bool   `json:"removed"`
	}
	raw := h.filter(t, "eth_getFilterChanges", "["+string(logs)+"]", "").Result
	if err := json.Unmarshal(raw, &changes); err != nil {
		t.Fatal(err)
	}
	var seen []string
	for _, c := range changes {
		d, _ := hexData(c.Data)
		if c.Removed {
			d = "-" + d
		}
		seen = append(seen, d)
	}
	if strings.Join(seen, ",") != "a2,a3,-a3,b3" {
		t.Fatalf("log filter changes %v, want a2,a3,-a3,b3", seen)
	}
}

func hexData(s string) (string, error) {
	b, err := hexutil.Decode(s)
	return string(b), err
}

// TestFilterCaps: one client holds at most filters.max_per_client, all
// together at most filters.max; uninstalling frees a place; calls with no
// client address count only towards the total.
func TestFilterCaps(t *testing.T) {
	h := newHarness(t)
	var ids []string
	for range testFilters.MaxPerClient {
		ans := h.filter(t, "eth_newBlockFilter", "", "10.0.0.1")
		if ans.Error != nil {
			t.Fatal(ans.Error)
		}
		ids = append(ids, string(ans.Result))
	}
	ans := h.filter(t, "eth_newBlockFilter", "", "10.0.0.1")
	if ans.Error == nil || ans.Error.Code != jsonrpc.CodeLimitExceeded || !strings.Contains(ans.Error.Message, "filters.max_per_client 3") {
		t.Fatalf("a fourth filter of one client: %+v, want -32005 naming filters.max_per_client", ans.Error)
	}
	if ans := h.filter(t, "eth_newBlockFilter", "", "10.0.0.2"); ans.Error != nil {
		t.Fatalf("another client is refused: %+v", ans.Error)
	}
	if ans := h.filter(t, "eth_uninstallFilter", "["+ids[0]+"]", "10.0.0.1"); string(ans.Result) != "true" {
		t.Fatalf("uninstall: %+v", ans)
	}
	if ans := h.filter(t, "eth_newBlockFilter", "", "10.0.0.1"); ans.Error != nil {
		t.Fatalf("after uninstalling one: %+v", ans.Error)
	}
	for range testFilters.Max - testFilters.MaxPerClient - 1 {
		if ans := h.filter(t, "eth_newBlockFilter", "", ""); ans.Error != nil {
			t.Fatal(ans.Error)
		}
	}
	ans = h.filter(t, "eth_newBlockFilter", "", "")
	if ans.Error == nil || ans.Error.Code != jsonrpc.CodeLimitExceeded || !strings.Contains(ans.Error.Message, "filters.max 6") {
		t.Fatalf("past the total: %+v, want -32005 naming filters.max", ans.Error)
	}
	if got := h.Counts().Filters; got != testFilters.Max {
		t.Fatalf("%d filters installed, want %d", got, testFilters.Max)
	}
}

// TestFilterOverflowDropsIt: a filter that collects more than
// filters.max_changes between two polls is dropped, so its client learns
// it lost changes instead of silently missing them.
func TestFilterOverflowDropsIt(t *testing.T) {
	h := newHarness(t)
	a1 := h.chain.extend("a", 1, 1, common.Hash{})
	h.advance(t, a1)
	id := string(h.filter(t, "eth_newBlockFilter", "", "").Result)
	h.advance(t, h.chain.extend("a", 2, uint64(2+testFilters.MaxChanges), a1.Hash))
	if ans := h.filter(t, "eth_getFilterChanges", "["+id+"]", ""); ans.Error == nil || ans.Error.Message != "filter not found" {
		t.Fatalf("poll after overflow: %+v %s, want filter not found", ans.Error, ans.Result)
	}
	if c := h.Counts(); c.Filters != 0 || c.BlockConsumers != 0 {
		t.Fatalf("the overflowed filter still holds %+v", c)
	}
}

// TestIdleFiltersExpire: Run drops a filter nobody polled for
// filters.idle; one polled meanwhile stays.
func TestIdleFiltersExpire(t *testing.T) {
	h := newHarness(t)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { h.Run(ctx); close(done) }()
	defer func() { cancel(); <-done }()
	idle := string(h.filter(t, "eth_newBlockFilter", "", "").Result)
	polled := string(h.filter(t, "eth_newBlockFilter", "", "").Result)
	await.Advancing(t, h.clock, time.Minute, "the idle filter dropped", func() bool {
		if ans := h.filter(t, "eth_getFilterChanges", "["+polled+"]", ""); ans.Error != nil {
			t.Fatalf("the polled filter was dropped: %+v", ans.Error)
		}
		return h.Counts().Filters == 1
	})
	if ans := h.filter(t, "eth_getFilterChanges", "["+idle+"]", ""); ans.Error == nil {
		t.Fatal("the idle filter still answers")
	}
}
