package server_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"runtime"
	"strings"
	"testing"

	"github.com/braidrpc/braid/internal/config"
)

// bigLogsResult is an eth_getLogs result of a quarter megabyte, as a wide
// range on a busy chain returns (and larger).
var bigLogsResult = `[{"address":"` + testAddr + `","data":"0x` + strings.Repeat("ab", 128_000) + `"}]`

// bigBatchAttack is the attack on a fake provider: a batch of
// members wide eth_getLogs calls (distinct, so none is merged with
// another) whose answers are a quarter megabyte each.
type bigBatchAttack struct {
	b       *braid
	members int
	bound   int64
	body    string
}

func startBigBatchAttack(t *testing.T, members int, bound int64) *bigBatchAttack {
	t.Helper()
	f := newFake(t, "a", 1)
	f.Answer("eth_getLogs", `"result":`+bigLogsResult)
	spec := mainnet(f)
	cfg := braidConfig(t, func(l *config.Limits) { l.MaxBatchResponseBytes = bound }, spec)
	cfg.Cache.Backend = config.CacheOff // nothing is kept beyond the request
	b := startBraidConfig(t, cfg, spec)
	calls := make([]string, members)
	for i := range calls {
		calls[i] = fmt.Sprintf(`{"jsonrpc":"2.0","id":%d,"method":"eth_getLogs","params":[{"fromBlock":"0x0","toBlock":"latest","address":"0x%040x"}]}`, i, i+1)
	}
	return &bigBatchAttack{b: b, members: members, bound: bound, body: "[" + strings.Join(calls, ",") + "]"}
}

// cut is the first member past the bound: answers are counted in the
// members' order and the one that passes the bound is still answered, as
// go-ethereum does.
func (a *bigBatchAttack) cut() int {
	one := int64(len(fmt.Sprintf(`{"jsonrpc":"2.0","id":%d,"result":%s}`, 0, bigLogsResult)))
	return int(a.bound/one) + 1
}

// check verifies an answer to the attack: every member up to the cut has
// its logs, every member after it the limit's error, in order.
func (a *bigBatchAttack) check(t *testing.T, body string) {
	t.Helper()
	var answers []rpcAnswer
	if err := json.Unmarshal([]byte(body), &answers); err != nil {
		t.Fatalf("the answer (%d bytes) is not a JSON array: %v", len(body), err)
	}
	if len(answers) != a.members {
		t.Fatalf("%d answers, want %d", len(answers), a.members)
	}
	cut := a.cut()
	wantMsg := fmt.Sprintf("response too large: the answers to the calls before this one in the batch reached limits.max_batch_response_bytes (%d bytes); send this call again in another batch (split the batch)", a.bound)
	for i, ans := range answers {
		if string(ans.ID) != fmt.Sprint(i) {
			t.Fatalf("answer %d has id %s", i, ans.ID)
		}
		switch {
		case i < cut && (ans.Error != nil || string(ans.Result) != bigLogsResult):
			t.Fatalf("member %d (before the cut at %d): error %+v, result of %d bytes", i, cut, ans.Error, len(ans.Result))
		case i >= cut && (ans.Error == nil || ans.Error.Code != -32003 || ans.Error.Message != wantMsg):
			t.Fatalf("member %d (past the cut at %d): error %+v, result of %d bytes; want -32003 %q", i, cut, ans.Error, len(ans.Result), wantMsg)
		}
	}
	// Members that had not started when the bound was passed never start:
	// at most the members in flight then (32) reach the provider beyond
	// the cut.
	if calls := a.b.calls("eth_getLogs"); calls > cut+32 {
		t.Errorf("the provider was asked %d eth_getLogs of the %d members: members past the bound still start", calls, a.members)
	}
}

// allocated runs f and returns how many bytes the process allocated
// meanwhile (TotalAlloc only grows, so this cannot flake with the garbage
// collector's timing). It bounds the peak too: no more can be live.
func allocated(f func()) uint64 {
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

// TestBatchResponseBound: a batch of 300 wide eth_getLogs, each answered
// with a quarter megabyte, is the attack at a scale a loaded test
// machine runs quickly (1,000 megabyte answers ran braid out of memory in
// jsonrpc.AppendBatch). The members past
// limits.max_batch_response_bytes get -32003 with the limit named, those
// not started by then never reach the provider, and what braid allocates
// for the whole request is a small multiple of the bound and the members
// in flight, not of the batch.
func TestBatchResponseBound(t *testing.T) {
	const members, bound = 300, 2 << 20
	a := startBigBatchAttack(t, members, bound)
	var status int
	var body string
	grew := allocated(func() { status, body = a.b.post("/", a.body) })
	if status != http.StatusOK {
		t.Fatalf("HTTP %d %.300s", status, body)
	}
	// Without the bound the provider's 77 MB are read, copied into the
	// batch's answer and read again by this client: over 1 GB. With it:
	// the bound, plus up to 32 members in flight when it is passed, each
	// allocating a few times its quarter megabyte on its way through the
	// fake provider, braid and this client: under 100 MB.
	const limit = 256 << 20
	t.Logf("answered %d bytes; %d MB allocated serving the batch", len(body), grew>>20)
	if grew > limit {
		t.Errorf("%d MB allocated serving one batch, want at most %d MB: its answer is not bounded", grew>>20, limit>>20)
	}
	a.check(t, body)
}

// TestBatchResponseBoundWebSocket: the same bound holds for a batch sent
// over WebSocket.
func TestBatchResponseBoundWebSocket(t *testing.T) {
	const members, bound = 300, 2 << 20
	a := startBigBatchAttack(t, members, bound)
	c := dialWS(t, "ws"+strings.TrimPrefix(a.b.URL, "http"), nil)
	var body string
	grew := allocated(func() { body = c.call(a.body) })
	const limit = 256 << 20
	t.Logf("answered %d bytes; %d MB allocated serving the batch", len(body), grew>>20)
	if grew > limit {
		t.Errorf("%d MB allocated serving one batch, want at most %d MB: its answer is not bounded", grew>>20, limit>>20)
	}
	a.check(t, body)
}

// TestBatchUnderTheBoundIsWhole: a batch whose answers fit is answered in
// full, and one member larger than the bound by itself is still answered
// (as go-ethereum answers it): the bound counts what comes before a
// member.
func TestBatchUnderTheBoundIsWhole(t *testing.T) {
	a := startBigBatchAttack(t, 3, 1<<20)
	status, body := a.b.post("/", a.body)
	if status != http.StatusOK {
		t.Fatalf("HTTP %d", status)
	}
	a.check(t, body) // the cut is past the third member

	small := startBigBatchAttack(t, 2, 1024)
	status, body = small.b.post("/", small.body)
	if status != http.StatusOK {
		t.Fatalf("HTTP %d", status)
	}
	small.check(t, body) // the first member's answer passes the bound; the second gets the error
}
