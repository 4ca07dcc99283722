package server

import (
	"context"
	"net/http"
	"strconv"
	"sync"

	"github.com/braidrpc/braid/internal/jsonrpc"
)

// callFunc answers one call: Network.Handle over HTTP; over WebSocket the
// connection's own methods (eth_subscribe, eth_unsubscribe) first.
type callFunc func(ctx context.Context, req *jsonrpc.Request) *jsonrpc.Response

// runBatch executes the members concurrently with call and returns the
// answers in the members' order (notifications have none). The whole batch
// shares one request deadline: members still queued when it passes answer
// a timeout instead of starting late.
//
// The answers are bounded by limits.max_batch_response_bytes as go-ethereum
// bounds them: counted in the members' order, every answer up to and
// including the one that passes the bound is kept, and every member after
// it is answered with CodeResponseTooLarge. So the answered members are
// always a prefix of the batch, whatever order they finish in. Once the
// answers seen (in any order) pass the bound no further member starts, and
// before that a member waits while the answers seen plus one of their
// average size for each member in flight would pass it. So what braid
// holds for a batch is about the bound, plus the first members in flight
// (at most batchConcurrency) before any answer tells how large they are.
func (s *Server) runBatch(ctx context.Context, members []jsonrpc.Member, call callFunc) []*jsonrpc.Response {
	ctx, cancel := context.WithTimeout(ctx, s.limits.RequestTimeout)
	defer cancel()
	budget := newBatchBudget(len(members), s.limits.MaxBatchResponseBytes)
	out := make([]*jsonrpc.Response, len(members))
	var wg sync.WaitGroup
	for i, m := range members {
		if m.Req == nil {
			out[i] = m.Err
			budget.done(i, m.Err, false)
			continue
		}
		if !budget.start() {
			break
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp := call(ctx, m.Req)
			if !budget.done(i, resp, true) {
				resp = nil // past the bound: its bytes are not held
			}
			out[i] = resp
		}()
	}
	wg.Wait()
	for i := budget.cut(); i < len(members); i++ {
		switch m := members[i]; {
		case m.Req == nil:
			out[i] = m.Err // a malformed member keeps its own error
		case m.Req.IsNotification():
			out[i] = nil
		default:
			out[i] = jsonrpc.ErrorResponse(m.Req.ID, s.batchTooLarge())
		}
	}
	answers := out[:0]
	for _, r := range out {
		if r != nil {
			answers = append(answers, r)
		}
	}
	return answers
}

// batchTooLarge is the answer of a member past the batch bound.
func (s *Server) batchTooLarge() *jsonrpc.Error {
	return jsonrpc.Errorf(jsonrpc.CodeResponseTooLarge,
		"response too large: the answers to the calls before this one in the batch reached limits.max_batch_response_bytes (%d bytes); send this call again in another batch (split the batch)",
		s.limits.MaxBatchResponseBytes)
}

// batchBudget counts the bytes of a batch's answers and admits its
// members.
type batchBudget struct {
	limit int64

	mu       sync.Mutex
	changed  sync.Cond // a member is done
	sizes    []int64   // each member's answer size; -1 until it is done
	next     int       // members [0, next) are counted in order
	sum      int64     // their bytes
	first    int       // the first member past the bound (len(sizes): none yet)
	seen     int64     // bytes of every answer done so far, in any order
	finished int       // answers done so far
	inflight int       // members started and not done
}

func newBatchBudget(n int, limit int64) *batchBudget {
	b := &batchBudget{limit: limit, sizes: make([]int64, n), first: n}
	b.changed.L = &b.mu
	for i := range b.sizes {
		b.sizes[i] = -1
	}
	return b
}

// Whether the next member may start.
const (
	admitStart = iota
	admitWait  // not yet: wait for a member in flight
	admitStop  // never: the answers seen have passed the bound
)

// start waits until the next member may start, and reports false when no
// member may start any more.
func (b *batchBudget) start() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	for {
		switch b.admitLocked() {
		case admitStop:
			return false
		case admitStart:
			b.inflight++
			return true
		}
		b.changed.Wait()
	}
}

// admitLocked decides about the next member; b.mu is held. It waits while
// batchConcurrency members are in flight, or while the answers seen plus
// one of their average size for each member in flight and the next would
// pass the bound. With none in flight it always starts (until the bound
// is passed), so the batch goes on.
func (b *batchBudget) admitLocked() int {
	switch {
	case b.seen > b.limit || b.first < len(b.sizes):
		return admitStop
	case b.inflight == 0:
		return admitStart
	case b.inflight >= batchConcurrency:
		return admitWait
	case b.finished > 0 && b.seen+int64(b.inflight+1)*(b.seen/int64(b.finished)) > b.limit:
		return admitWait
	}
	return admitStart
}

// done records member i's answer (nil for a notification; started: it
// was admitted by start) and reports whether it may still be part of the
// batch's answer: false once the members before it are known to pass the
// bound.
func (b *batchBudget) done(i int, r *jsonrpc.Response, started bool) bool {
	var size int64
	if r != nil {
		size = int64(r.Size())
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	defer b.changed.Broadcast()
	if started {
		b.inflight--
	}
	b.finished++
	b.sizes[i] = size
	b.seen += size
	for b.next < b.first && b.sizes[b.next] >= 0 {
		b.sum += b.sizes[b.next]
		b.next++
		if b.sum > b.limit {
			b.first = b.next
		}
	}
	return i < b.first
}

// cut is the first member past the bound (the member count when none is).
func (b *batchBudget) cut() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.first
}

// writeAnswer writes one answer with its exact Content-Length, the result
// bytes straight from the upstream's answer.
func writeAnswer(w http.ResponseWriter, resp *jsonrpc.Response) {
	setJSONHeaders(w, resp.Size())
	w.WriteHeader(http.StatusOK)
	_, _ = resp.WriteTo(w)
}

// writeBatch writes a batch's answers member by member: the array is never
// assembled in memory.
func writeBatch(w http.ResponseWriter, answers []*jsonrpc.Response) {
	setJSONHeaders(w, jsonrpc.BatchSize(answers))
	w.WriteHeader(http.StatusOK)
	_, _ = jsonrpc.WriteBatch(w, answers)
}

func setJSONHeaders(w http.ResponseWriter, size int) {
	h := w.Header()
	h["Content-Type"] = jsonContentType
	h.Set("Content-Length", strconv.Itoa(size))
}
