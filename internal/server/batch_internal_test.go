package server

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/braidrpc/braid/internal/config"
	"github.com/braidrpc/braid/internal/jsonrpc"
)

func testBatchServer(bound int64) *Server {
	return &Server{limits: withDefaults(config.Limits{MaxBatchResponseBytes: bound})}
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

// TestBatchBoundIsAPrefix: however the members finish, the answered ones
// are the batch's first members up to and including the one whose answer
// passes the bound, and every later member gets -32003. Here the members
// finish in reverse order.
func TestBatchBoundIsAPrefix(t *testing.T) {
	const n, size, bound = 10, 100, 350 // members 0-3 make 400 bytes: the cut is at 4
	s := testBatchServer(bound)
	members := batchOf(t, n, nil, nil)
	gates := make([]chan struct{}, n+1)
	for i := range gates {
		gates[i] = make(chan struct{})
	}
	close(gates[n])
	answers := s.runBatch(context.Background(), members, func(_ context.Context, req *jsonrpc.Request) *jsonrpc.Response {
		i, _ := strconv.Atoi(string(req.ID))
		<-gates[i+1] // the member after this one is done first
		defer close(gates[i])
		return result(req.ID, size)
	})
	if len(answers) != n {
		t.Fatalf("%d answers", len(answers))
	}
	for i, a := range answers {
		if string(a.ID) != strconv.Itoa(i) {
			t.Fatalf("answer %d: id %s", i, a.ID)
		}
		tooLarge := a.Error != nil && a.Error.Code == jsonrpc.CodeResponseTooLarge
		if (i < 4) == tooLarge || (i < 4 && a.Size() != size) {
			t.Errorf("member %d: %s", i, a.AppendJSON(nil))
		}
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
