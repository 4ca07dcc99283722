package head

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/braidrpc/braid/internal/block"
	"github.com/braidrpc/braid/internal/jsonrpc"
	"github.com/braidrpc/braid/internal/upstream"
)

// extrasEvery is how often, in polls, an upstream that refuses batches is
// asked for its safe and finalized blocks (each is a request of its own).
const extrasEvery = 4

var (
	paramsLatest    = json.RawMessage(`["latest",false]`)
	paramsSafe      = json.RawMessage(`["safe",false]`)
	paramsFinalized = json.RawMessage(`["finalized",false]`)

	headBatch = []upstream.BatchCall{
		{Method: "eth_getBlockByNumber", Params: paramsLatest},
		{Method: "eth_getBlockByNumber", Params: paramsSafe},
		{Method: "eth_getBlockByNumber", Params: paramsFinalized},
	}
)

// pollLoop polls u now and then every interval until ctx ends, and at
// once when PollNow asks. Upstreams that are not usable are skipped until
// they are. After every round it checks whether the served tip is stalled.
func (t *Tracker) pollLoop(ctx context.Context, u *upstream.Upstream) {
	defer t.wg.Done()
	t.mu.Lock()
	wake := t.states[u].wake
	t.mu.Unlock()
	for {
		select {
		case <-wake: // this round is the poll asked for
		default:
		}
		if u.Usable() {
			_ = t.PollOnce(ctx, u) // outcomes are logged and counted by PollOnce
		}
		t.checkStall()
		select {
		case <-ctx.Done():
			return
		case <-wake:
		case <-t.clock.After(t.interval):
		}
	}
}

// PollNow makes u's poller poll at once instead of at its next interval,
// e.g. as soon as u's chain id is confirmed, so the served tip is known
// without waiting an interval. It never blocks; before Start, the first
// round polls anyway.
func (t *Tracker) PollNow(u *upstream.Upstream) {
	t.mu.Lock()
	st := t.states[u]
	t.mu.Unlock()
	if st == nil {
		return
	}
	select {
	case st.wake <- struct{}{}:
	default:
	}
}

// PollOnce asks u for its latest, safe and finalized blocks in one batched
// request and records the answer. An upstream that refuses batches is from
// then on asked for latest each poll and for safe and finalized every
// fourth poll, one request each. It returns ErrNotUsable or ErrBudget when
// it sent nothing, otherwise the failure to learn u's latest block, if any.
func (t *Tracker) PollOnce(ctx context.Context, u *upstream.Upstream) error {
	t.mu.Lock()
	st := t.states[u]
	t.mu.Unlock()
	if st == nil {
		return ErrUnknownUpstream
	}
	if !u.Usable() {
		return ErrNotUsable
	}
	// A provider that rate-limited braid gets nothing, polls included,
	// until its Retry-After has passed.
	if u.Health().Throttled() {
		t.metrics.poll(t.network, u, "skipped_budget")
		return ErrBudget
	}
	if ok, _ := u.Budget().Take(); !ok {
		t.metrics.poll(t.network, u, "skipped_budget")
		return ErrBudget
	}

	t.mu.Lock()
	round := st.round
	st.round++
	refused := st.batchRefused
	prev := st.heads
	sentAt := st.seq
	t.mu.Unlock()

	start := t.clock.Now()
	var h Heads
	var err error
	if !refused {
		h, err = t.pollBatch(ctx, u)
		if errors.Is(err, upstream.ErrBatchRefused) {
			t.mu.Lock()
			st.batchRefused, refused = true, true
			t.mu.Unlock()
			t.log.Info("upstream refuses batches; polling heads with single calls",
				"upstream", u.Name, "operator", u.Operator)
			// The refused batch was this round's request; the single calls
			// below each need a token of their own.
			if ok, _ := u.Budget().Take(); !ok {
				t.metrics.poll(t.network, u, "skipped_budget")
				return ErrBudget
			}
			start = t.clock.Now()
		}
	}
	if refused {
		h, err = t.pollSingle(ctx, u, st, round, prev)
	}
	if ctx.Err() != nil {
		// Cancelled (Close): neither a success nor a failure of u.
		return ctx.Err()
	}
	u.Record(pollOutcome(t.clock.Now().Sub(start), err))
	t.pollOutcome(u, st, err)
	if err != nil {
		return err
	}
	t.observe(u, h, false, &sentAt)
	return nil
}

func (t *Tracker) pollBatch(ctx context.Context, u *upstream.Upstream) (Heads, error) {
	resps, err := u.CallBatch(ctx, headBatch)
	if err != nil {
		return Heads{}, err
	}
	latest, err := parseBlock(resps[0])
	if err != nil {
		return Heads{}, fmt.Errorf("%s: latest block: %w", u.Name, err)
	}
	safe, _ := parseBlock(resps[1]) // unknown on chains without safe/finalized
	fin, _ := parseBlock(resps[2])
	return Heads{Latest: latest, Safe: safe, Finalized: fin, UpdatedAt: t.clock.Now()}, nil
}

// pollSingle polls an upstream that refuses batches. Safe and finalized
// are asked every extrasEvery polls (and again at the next poll when the
// rate budget did not allow it); in between, the last known ones are kept.
func (t *Tracker) pollSingle(ctx context.Context, u *upstream.Upstream, st *upState, round uint64, prev Heads) (Heads, error) {
	resp, err := u.Call(ctx, "eth_getBlockByNumber", paramsLatest)
	if err != nil {
		return Heads{}, err
	}
	latest, err := parseBlock(resp)
	if err != nil {
		return Heads{}, fmt.Errorf("%s: latest block: %w", u.Name, err)
	}
	h := Heads{Latest: latest, Safe: prev.Safe, Finalized: prev.Finalized}

	t.mu.Lock()
	due := !st.extrasDone || round-st.extrasRound >= extrasEvery
	t.mu.Unlock()
	if due {
		safe, okSafe := t.fetchTag(ctx, u, paramsSafe)
		fin, okFin := t.fetchTag(ctx, u, paramsFinalized)
		if okSafe {
			h.Safe = safe
		}
		if okFin {
			h.Finalized = fin
		}
		if okSafe && okFin {
			t.mu.Lock()
			st.extrasDone, st.extrasRound = true, round
			t.mu.Unlock()
		}
	}
	h.UpdatedAt = t.clock.Now()
	return h, nil
}

// fetchTag asks for one tagged block. ok is false when nothing was learnt
// (no budget, or no answer); an error answer or null is the zero Block.
func (t *Tracker) fetchTag(ctx context.Context, u *upstream.Upstream, params json.RawMessage) (block.Block, bool) {
	if ok, _ := u.Budget().Take(); !ok {
		return block.Block{}, false
	}
	resp, err := u.Call(ctx, "eth_getBlockByNumber", params)
	if err != nil {
		return block.Block{}, false
	}
	b, _ := parseBlock(resp)
	return b, true
}

// parseBlock reads a block answer. An error answer, null or a malformed
// block is an error and the zero Block.
func parseBlock(resp *jsonrpc.Response) (block.Block, error) {
	if resp.Error != nil {
		return block.Block{}, resp.Error
	}
	if raw := bytes.TrimSpace(resp.Result); len(raw) == 0 || bytes.Equal(raw, []byte("null")) {
		return block.Block{}, errors.New("no such block (null)")
	}
	var b block.Block
	if err := json.Unmarshal(resp.Result, &b); err != nil {
		return block.Block{}, fmt.Errorf("malformed block: %w", err)
	}
	return b, nil
}

// pollOutcome counts a poll and logs a change between failing and
// succeeding (not every failure: a dead upstream is polled every interval).
func (t *Tracker) pollOutcome(u *upstream.Upstream, st *upState, err error) {
	t.mu.Lock()
	wasFailing := st.failing
	st.failing = err != nil
	t.mu.Unlock()
	if err != nil {
		t.metrics.poll(t.network, u, "error")
		if !wasFailing {
			t.log.Warn("head poll failed", "upstream", u.Name, "operator", u.Operator, "err", err)
		}
		return
	}
	t.metrics.poll(t.network, u, "ok")
	if wasFailing {
		t.log.Info("head poll recovered", "upstream", u.Name, "operator", u.Operator)
	}
}

// pollOutcome is what a finished head poll says about its upstream: a dead
// upstream is noticed even when no client request reaches it.
func pollOutcome(latency time.Duration, err error) upstream.Outcome {
	if err == nil {
		return upstream.Outcome{Kind: upstream.Success, Latency: latency, Poll: true}
	}
	o := upstream.FailureOf(err, upstream.PollClass, latency)
	o.Poll = true
	return o
}
