package server

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/braidrpc/braid/internal/config"
	"github.com/braidrpc/braid/internal/jsonrpc"
)

func testBatchServer(bound int64) *Server {
	l := config.Default().Limits
	l.MaxBatchResponseBytes = bound
	return &Server{limits: l}
}

// batchOf decodes a batch of n eth_getLogs calls with ids 0…n-1; the ids
// listed in notify are sent as notifications, those in bad malformed.
func batchOf(t *testing.T, n int, notify, bad map[int]bool) []jsonrpc.Member {
	t.Helper()
	parts := make([]string, n)
	for i := range parts {
		switch {
		case bad[i]:
			parts[i] = fmt.Sprintf(`{"jsonrpc":"2.0","id":%d}`, i)
		case notify[i]:
			parts[i] = `{"jsonrpc":"2.0","method":"eth_getLogs","params":[{}]}`
		default:
			parts[i] = fmt.Sprintf(`{"jsonrpc":"2.0","id":%d,"method":"eth_getLogs","params":[{}]}`, i)
		}
	}
	msg, errResp := jsonrpc.Decode([]byte("["+strings.Join(parts, ",")+"]"), 0)
	if errResp != nil {
		t.Fatal(errResp.AppendJSON(nil))
	}
	return msg.Members
}

// result is an answer of exactly size bytes on the wire for id (0-99).
func result(id json.RawMessage, size int) *jsonrpc.Response {
	r := jsonrpc.ResultResponse(id, nil)
	pad := size - r.Size() + len("null") - 2
	return jsonrpc.ResultResponse(id, json.RawMessage(`"`+strings.Repeat("a", pad)+`"`))
}

// TestBatchBudgetCountsInOrder: however the answers arrive, the cut is
// after the first member whose answer, added to those before it, passes
// the bound, and an answer past a known cut is dropped at once.
func TestBatchBudgetCountsInOrder(t *testing.T) {
	r := result(json.RawMessage(`1`), 100)
	for _, order := range [][]int{
		{0, 1, 2, 3, 4, 5, 6, 7, 8, 9},
		{9, 8, 7, 6, 5, 4, 3, 2, 1, 0},
		{5, 3, 9, 0, 2, 7, 1, 8, 6, 4},
	} {
		b := newBatchBudget(10, 350) // 0-3 make 400 bytes: the cut is at 4
		kept := map[int]bool{}
		for _, i := range order {
			kept[i] = b.done(i, r, false)
		}
		if b.cut() != 4 {
			t.Errorf("order %v: cut at %d, want 4", order, b.cut())
		}
		for i := range 4 {
			if !kept[i] {
				t.Errorf("order %v: member %d dropped before the cut", order, i)
			}
		}
		if b.start() {
			t.Errorf("order %v: a member may start after the bound is passed", order)
		}
	}
	// Once the cut is known, a later answer is not held.
	b := newBatchBudget(10, 150)
	b.done(0, r, false)
	b.done(1, r, false)
	if b.done(5, r, false) {
		t.Error("an answer past a known cut was kept")
	}
}

// TestBatchBoundIsAPrefix: members finishing in any order (here after
// random pauses) leave the same answer: the prefix up to and including
// the member whose answer passes the bound, then -32003.
func TestBatchBoundIsAPrefix(t *testing.T) {
	const n, size, bound = 40, 100, 1050 // members 0-10 make 1100 bytes: the cut is at 11
	s := testBatchServer(bound)
	for range 5 {
		answers := s.runBatch(context.Background(), batchOf(t, n, nil, nil), func(_ context.Context, req *jsonrpc.Request) *jsonrpc.Response {
			time.Sleep(time.Duration(rand.IntN(2000)) * time.Microsecond)
			return result(req.ID, size)
		})
		if len(answers) != n {
			t.Fatalf("%d answers", len(answers))
		}
		for i, a := range answers {
			tooLarge := a.Error != nil && a.Error.Code == jsonrpc.CodeResponseTooLarge
			if string(a.ID) != strconv.Itoa(i) || (i < 11) == tooLarge || (i < 11 && a.Size() != size) {
				t.Fatalf("member %d: %s", i, a.AppendJSON(nil))
			}
		}
	}
}

// TestBatchAdmissionFollowsAnswerSize: before any answer is in, up to
// batchConcurrency members start; once answers show their size, members
// start only while the bound has room for those in flight and one more,
// so about as many run as the bound holds.
func TestBatchAdmissionFollowsAnswerSize(t *testing.T) {
	b := newBatchBudget(200, 9_999) // answers of 1000 bytes: the cut is at 10
	admit := func() int {
		b.mu.Lock()
		defer b.mu.Unlock()
		return b.admitLocked()
	}
	for range batchConcurrency {
		if !b.start() {
			t.Fatal("a member of the first wave may not start")
		}
	}
	if admit() != admitWait {
		t.Fatal("more than batchConcurrency members may start")
	}
	one := result(json.RawMessage(`1`), 1000)
	b = newBatchBudget(200, 9_999)
	b.start()
	b.done(0, one, true)
	started := 1
	for admit() == admitStart {
		b.start()
		started++
	}
	// 1000 seen, average 1000: 8 in flight and one more make 10,000.
	if started != 9 || admit() != admitWait {
		t.Fatalf("%d members started once the first answer was in, want 9", started)
	}
	for i := 1; i < 9; i++ {
		b.done(i, one, true)
		if i < 8 && admit() != admitWait {
			t.Fatalf("after %d answers: a member may start that the bound has no room for", i+1)
		}
	}
	// 9000 seen, none in flight: the next starts (and passes the bound).
	if admit() != admitStart || !b.start() {
		t.Fatal("the batch does not go on with none in flight")
	}
	b.done(9, one, true)
	if admit() != admitStop || b.cut() != 10 {
		t.Fatalf("after the bound is passed: admission %d, cut %d", admit(), b.cut())
	}
}

// TestBatchBoundStopsStarting: once the answers seen pass the bound, no
// further member starts; only those already in flight ran.
func TestBatchBoundStopsStarting(t *testing.T) {
	const n, size, bound = 500, 1000, 5000 // the cut is at 6
	s := testBatchServer(bound)
	var started atomic.Int32
	answers := s.runBatch(context.Background(), batchOf(t, n, nil, nil), func(_ context.Context, req *jsonrpc.Request) *jsonrpc.Response {
		started.Add(1)
		return result(req.ID, size)
	})
	if got := started.Load(); got > 6+batchConcurrency {
		t.Errorf("%d members started, want at most the cut and those in flight (%d)", got, 6+batchConcurrency)
	}
	for i, a := range answers {
		if tooLarge := a.Error != nil && a.Error.Code == jsonrpc.CodeResponseTooLarge; (i < 6) == tooLarge {
			t.Fatalf("member %d: %.200s", i, a.AppendJSON(nil))
		}
	}
}

// TestBatchBoundNotificationsAndBadMembers: notifications not started
// when the bound is passed are never run and earn no answer; a malformed
// member keeps its own error. Every answer here passes the bound alone,
// so the first one done stops any further start: the members beyond the
// first batchConcurrency (which start at once) never run.
func TestBatchBoundNotificationsAndBadMembers(t *testing.T) {
	const late = batchConcurrency + 1 // the index of the notification
	s := testBatchServer(50)
	members := batchOf(t, late+3, map[int]bool{late: true}, map[int]bool{late + 1: true})
	var notified atomic.Bool
	answers := s.runBatch(context.Background(), members, func(_ context.Context, req *jsonrpc.Request) *jsonrpc.Response {
		if req.IsNotification() {
			notified.Store(true)
			return nil
		}
		return result(req.ID, 100)
	})
	if notified.Load() {
		t.Error("the notification past the bound was run")
	}
	var got []string
	for _, a := range answers {
		code := 0
		if a.Error != nil {
			code = a.Error.Code
		}
		got = append(got, fmt.Sprintf("%s:%d", a.ID, code))
	}
	want := []string{"0:0"} // its 100 bytes pass the bound: the cut is at 1
	for i := 1; i < late; i++ {
		want = append(want, fmt.Sprintf("%d:-32003", i))
	}
	want = append(want, fmt.Sprintf("%d:-32600", late+1), fmt.Sprintf("%d:-32003", late+2))
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("answers\n  %s\nwant\n  %s", strings.Join(got, " "), strings.Join(want, " "))
	}
}
