package stream

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"

	"github.com/braidrpc/braid/internal/await"
	"github.com/braidrpc/braid/internal/block"
	"github.com/braidrpc/braid/internal/clock"
)

// fakeChain is a Source over blocks made up by the test. Blocks are named
// "a5" (branch a, number 5); a branch forks from its parent given at
// creation.
type fakeChain struct {
	mu       sync.Mutex
	headers  map[common.Hash]block.Header
	logs     map[common.Hash][]*types.Log
	fail     error
	headerN  int
	logsN    int
	wrongNum bool
}

func newFakeChain() *fakeChain {
	return &fakeChain{headers: map[common.Hash]block.Header{}, logs: map[common.Hash][]*types.Log{}}
}

func hashOf(name string) common.Hash { return crypto.Keccak256Hash([]byte(name)) }

// extend adds blocks branch+from..branch+to on top of parent and returns
// the last one's header. Each block has one log whose data names it.
func (c *fakeChain) extend(branch string, from, to uint64, parent common.Hash) block.Header {
	c.mu.Lock()
	defer c.mu.Unlock()
	var h block.Header
	for n := from; n <= to; n++ {
		name := fmt.Sprintf("%s%d", branch, n)
		h = block.Header{Block: block.Block{Number: n, Hash: hashOf(name), ParentHash: parent}}
		h.JSON = json.RawMessage(fmt.Sprintf(`{"number":"0x%x","name":%q}`, n, name))
		c.headers[h.Hash] = h
		c.logs[h.Hash] = []*types.Log{{Address: common.Address{1}, Topics: []common.Hash{hashOf("Transfer")},
			Data: []byte(name), BlockNumber: n, BlockHash: h.Hash, TxHash: hashOf("tx" + name)}}
		parent = h.Hash
	}
	return h
}

func (c *fakeChain) Header(_ context.Context, hash common.Hash) (block.Header, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.headerN++
	if c.fail != nil {
		return block.Header{}, c.fail
	}
	h, ok := c.headers[hash]
	if !ok {
		return block.Header{}, errors.New("not found")
	}
	if c.wrongNum {
		h.Number++
	}
	return h, nil
}

func (c *fakeChain) Logs(_ context.Context, hash common.Hash) ([]*types.Log, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.logsN++
	if c.fail != nil {
		return nil, c.fail
	}
	return c.logs[hash], nil
}

func (c *fakeChain) setFail(err error) {
	c.mu.Lock()
	c.fail = err
	c.mu.Unlock()
}

// recorder keeps what a subscription was sent, as names.
type recorder struct {
	mu      sync.Mutex
	heads   []string
	logs    []string // "+a5" added, "-a5" removed
	removed []string
}

func (r *recorder) fn(ev Event) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, b := range ev.Removed {
		for _, l := range b.Logs {
			r.logs = append(r.logs, "-"+string(l.Data))
			if !strings.Contains(string(l.RemovedJSON), `"removed":true`) {
				panic("removed log not marked removed: " + string(l.RemovedJSON))
			}
		}
		r.removed = append(r.removed, nameOf(b))
	}
	for _, b := range ev.Added {
		r.heads = append(r.heads, nameOf(b))
		for _, l := range b.Logs {
			r.logs = append(r.logs, "+"+string(l.Data))
			if !strings.Contains(string(l.JSON), `"removed":false`) {
				panic("added log marked removed: " + string(l.JSON))
			}
		}
	}
}

func nameOf(b *Block) string {
	var v struct{ Name string }
	_ = json.Unmarshal(b.JSON, &v)
	return v.Name
}

func (r *recorder) get() (heads, logs, removed []string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.heads...), append([]string(nil), r.logs...), append([]string(nil), r.removed...)
}

func eq(t *testing.T, what string, got, want []string) {
	t.Helper()
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("%s = %v, want %v", what, got, want)
	}
}

func newFollower(c *fakeChain, opts FollowerOptions) *Follower {
	if opts.Clock == nil {
		opts.Clock = clock.NewFake(time.Unix(0, 0))
	}
	return NewFollower(c, opts)
}

func advance(t *testing.T, f *Follower, h block.Header) {
	t.Helper()
	f.Advance(h.Block)
	if err := f.step(context.Background()); err != nil {
		t.Fatalf("step to %d: %v", h.Number, err)
	}
}

func TestFollowerEmitsEveryBlockOnceInOrder(t *testing.T) {
	c := newFakeChain()
	a3 := c.extend("a", 1, 3, common.Hash{})
	f := newFollower(c, FollowerOptions{})
	f.Advance(a3.Block)
	var r recorder
	f.Subscribe(true, r.fn)
	advance(t, f, a3) // the tip at Subscribe: where the stream starts, not sent
	a4 := c.extend("a", 4, 4, a3.Hash)
	advance(t, f, a4)
	advance(t, f, a4) // the same tip again: nothing
	a8 := c.extend("a", 5, 8, a4.Hash)
	advance(t, f, a8) // three blocks missed: fetched by parent hash
	heads, logs, removed := r.get()
	eq(t, "heads", heads, []string{"a4", "a5", "a6", "a7", "a8"})
	eq(t, "logs", logs, []string{"+a4", "+a5", "+a6", "+a7", "+a8"})
	eq(t, "removed", removed, nil)
}

func TestFollowerReorgRemovesOldBranchAddsNew(t *testing.T) {
	c := newFakeChain()
	a5 := c.extend("a", 1, 5, common.Hash{})
	f := newFollower(c, FollowerOptions{})
	f.Advance(block.Block{Number: 2, Hash: hashOf("a2")})
	var r recorder
	f.Subscribe(true, r.fn)
	advance(t, f, a5)
	b7 := c.extend("b", 4, 7, hashOf("a3"))
	advance(t, f, b7)
	heads, logs, removed := r.get()
	eq(t, "heads", heads, []string{"a3", "a4", "a5", "b4", "b5", "b6", "b7"})
	// go-ethereum's order: removed logs oldest block first, then the new
	// branch's logs.
	eq(t, "logs", logs, []string{"+a3", "+a4", "+a5", "-a4", "-a5", "+b4", "+b5", "+b6", "+b7"})
	eq(t, "removed", removed, []string{"a4", "a5"})

	// Back to a shorter branch that is an ancestor: only removals.
	advance(t, f, c.headers[hashOf("b5")])
	_, logs, removed = r.get()
	eq(t, "removed", removed, []string{"a4", "a5", "b6", "b7"})
	if got := logs[len(logs)-2:]; strings.Join(got, ",") != "-b6,-b7" {
		t.Errorf("last logs = %v, want -b6,-b7", got)
	}
}

func TestFollowerTakesBackOnlyWhatAConsumerWasSent(t *testing.T) {
	c := newFakeChain()
	a4 := c.extend("a", 1, 4, common.Hash{})
	f := newFollower(c, FollowerOptions{})
	f.Advance(block.Block{Number: 3, Hash: hashOf("a3")})
	var early, late recorder
	f.Subscribe(true, early.fn)
	advance(t, f, a4)
	f.Subscribe(true, late.fn)
	a5 := c.extend("a", 5, 5, a4.Hash)
	advance(t, f, a5)
	b6 := c.extend("b", 4, 6, hashOf("a3"))
	advance(t, f, b6)
	_, _, removed := early.get()
	eq(t, "early removed", removed, []string{"a4", "a5"})
	heads, logs, removed := late.get()
	eq(t, "late heads", heads, []string{"a5", "b4", "b5", "b6"})
	eq(t, "late removed", removed, []string{"a5"})
	eq(t, "late logs", logs, []string{"+a5", "-a5", "+b4", "+b5", "+b6"})
}

func TestFollowerFetchesNothingWithoutConsumers(t *testing.T) {
	c := newFakeChain()
	a3 := c.extend("a", 1, 3, common.Hash{})
	f := newFollower(c, FollowerOptions{})
	advance(t, f, a3)
	if c.headerN+c.logsN != 0 {
		t.Fatalf("%d header and %d logs fetches without a consumer", c.headerN, c.logsN)
	}
	var r recorder
	s := f.Subscribe(false, r.fn) // heads only: no logs fetched
	advance(t, f, a3)
	a5 := c.extend("a", 4, 5, a3.Hash)
	advance(t, f, a5)
	if c.logsN != 0 {
		t.Errorf("%d logs fetches for a heads-only consumer", c.logsN)
	}
	s.Cancel()
	a6 := c.extend("a", 6, 6, a5.Hash)
	advance(t, f, a6)
	heads, _, _ := r.get()
	eq(t, "heads", heads, []string{"a4", "a5"})
	if f.Subscribers() != 0 {
		t.Errorf("subscribers = %d after cancel", f.Subscribers())
	}
}

func TestFollowerFailedFetchEmitsNothingThenCatchesUp(t *testing.T) {
	c := newFakeChain()
	a2 := c.extend("a", 1, 2, common.Hash{})
	f := newFollower(c, FollowerOptions{})
	f.Advance(a2.Block)
	var r recorder
	f.Subscribe(true, r.fn)
	advance(t, f, a2)
	a6 := c.extend("a", 3, 6, a2.Hash)
	c.setFail(errors.New("every upstream down"))
	f.Advance(a6.Block)
	if err := f.step(context.Background()); err == nil {
		t.Fatal("step succeeded while the source fails")
	}
	if heads, _, _ := r.get(); len(heads) != 0 {
		t.Fatalf("emitted %v while the source fails", heads)
	}
	c.setFail(nil)
	a7 := c.extend("a", 7, 7, a6.Hash)
	advance(t, f, a7)
	heads, logs, _ := r.get()
	eq(t, "heads", heads, []string{"a3", "a4", "a5", "a6", "a7"})
	eq(t, "logs", logs, []string{"+a3", "+a4", "+a5", "+a6", "+a7"})
}

// TestFollowerSendsEveryBlockAfterSubscribeWhileFetchesFail: a block
// served after Subscribe returned is sent even when the stream's first
// fetches fail while the tip moves on: the stream starts at the tip of
// the moment the first consumer subscribed, not at the tip of the first
// fetch that works.
func TestFollowerSendsEveryBlockAfterSubscribeWhileFetchesFail(t *testing.T) {
	c := newFakeChain()
	a3 := c.extend("a", 1, 3, common.Hash{})
	f := newFollower(c, FollowerOptions{})
	f.Advance(a3.Block) // the served tip when the client subscribes
	var r recorder
	f.Subscribe(true, r.fn)
	c.setFail(errors.New("every upstream down"))
	tip := a3
	for range 3 {
		tip = c.extend("a", tip.Number+1, tip.Number+1, tip.Hash)
		f.Advance(tip.Block)
		if err := f.step(context.Background()); err == nil {
			t.Fatal("step succeeded while the source fails")
		}
	}
	c.setFail(nil)
	a7 := c.extend("a", 7, 7, tip.Hash)
	advance(t, f, a7)
	heads, logs, removed := r.get()
	eq(t, "heads", heads, []string{"a4", "a5", "a6", "a7"})
	eq(t, "logs", logs, []string{"+a4", "+a5", "+a6", "+a7"})
	eq(t, "removed", removed, nil)
}

// TestFollowerWithoutATipSendsTheFirstOne: subscribed before braid knew
// any tip, the consumer cannot have seen the first one: it is sent.
func TestFollowerWithoutATipSendsTheFirstOne(t *testing.T) {
	c := newFakeChain()
	a3 := c.extend("a", 1, 3, common.Hash{})
	f := newFollower(c, FollowerOptions{})
	var r recorder
	f.Subscribe(false, r.fn)
	c.setFail(errors.New("down"))
	f.Advance(a3.Block)
	if err := f.step(context.Background()); err == nil {
		t.Fatal("step succeeded while the source fails")
	}
	c.setFail(nil)
	a4 := c.extend("a", 4, 4, a3.Hash)
	advance(t, f, a4)
	heads, _, _ := r.get()
	eq(t, "heads", heads, []string{"a3", "a4"})
}

// TestFollowerRestartsAtTheNextFirstConsumer: when every consumer has left,
// the next first consumer starts at the tip of its own Subscribe, neither
// earlier (blocks from before it subscribed) nor later.
func TestFollowerRestartsAtTheNextFirstConsumer(t *testing.T) {
	c := newFakeChain()
	a3 := c.extend("a", 1, 3, common.Hash{})
	f := newFollower(c, FollowerOptions{})
	f.Advance(a3.Block)
	var first, second recorder
	s := f.Subscribe(false, first.fn)
	a4 := c.extend("a", 4, 4, a3.Hash)
	advance(t, f, a4)
	s.Cancel()
	// The stream has not run since: it still holds the first consumer's
	// chain, up to a4.
	a6 := c.extend("a", 5, 6, a4.Hash)
	f.Advance(a6.Block)
	f.Subscribe(false, second.fn)
	c.setFail(errors.New("down"))
	a7 := c.extend("a", 7, 7, a6.Hash)
	f.Advance(a7.Block)
	if err := f.step(context.Background()); err == nil {
		t.Fatal("step succeeded while the source fails")
	}
	c.setFail(nil)
	a8 := c.extend("a", 8, 8, a7.Hash)
	advance(t, f, a8)
	heads, _, _ := first.get()
	eq(t, "first heads", heads, []string{"a4"})
	heads, _, _ = second.get()
	eq(t, "second heads", heads, []string{"a7", "a8"})
}

// TestFollowerReorgAcrossTheStartingPoint: the chain reorgs below the tip
// the consumer subscribed at before any fetch worked. The new branch is
// sent from the starting point's height; the block the consumer was never
// sent is not taken back.
func TestFollowerReorgAcrossTheStartingPoint(t *testing.T) {
	c := newFakeChain()
	a5 := c.extend("a", 1, 5, common.Hash{})
	f := newFollower(c, FollowerOptions{})
	f.Advance(a5.Block)
	var r recorder
	f.Subscribe(true, r.fn)
	b7 := c.extend("b", 4, 7, hashOf("a3"))
	advance(t, f, b7)
	heads, logs, removed := r.get()
	eq(t, "heads", heads, []string{"b5", "b6", "b7"})
	eq(t, "logs", logs, []string{"+b5", "+b6", "+b7"})
	eq(t, "removed", removed, nil)
}

func TestFollowerRefusesAWrongHeader(t *testing.T) {
	c := newFakeChain()
	a2 := c.extend("a", 1, 2, common.Hash{})
	f := newFollower(c, FollowerOptions{})
	f.Subscribe(false, func(Event) {})
	c.wrongNum = true
	f.Advance(a2.Block)
	if err := f.step(context.Background()); !errors.Is(err, ErrWrongHeader) {
		t.Fatalf("err = %v, want ErrWrongHeader", err)
	}
}

func TestFollowerDeepReorgAndLongGap(t *testing.T) {
	c := newFakeChain()
	a10 := c.extend("a", 1, 10, common.Hash{})
	f := newFollower(c, FollowerOptions{Depth: 4, MaxBackfill: 3})
	f.Advance(block.Block{Number: 6, Hash: hashOf("a6")})
	var r recorder
	f.Subscribe(false, r.fn)
	advance(t, f, c.headers[hashOf("a6")])
	for n := 7; n <= 10; n++ {
		advance(t, f, c.headers[hashOf(fmt.Sprintf("a%d", n))])
	}
	// Forked at 5, below the 4 remembered blocks (7..10).
	b9 := c.extend("b", 6, 9, hashOf("a5"))
	advance(t, f, c.headers[hashOf("b7")])
	heads, _, removed := r.get()
	eq(t, "heads", heads, []string{"a7", "a8", "a9", "a10", "b7"})
	eq(t, "removed", removed, []string{"a7", "a8", "a9", "a10"})
	advance(t, f, b9)
	// A gap longer than MaxBackfill: the newest three are sent.
	b20 := c.extend("b", 10, 20, b9.Hash)
	advance(t, f, b20)
	heads, _, _ = r.get()
	eq(t, "heads", heads[5:], []string{"b8", "b9", "b18", "b19", "b20"})
	b21 := c.extend("b", 21, 21, b20.Hash)
	advance(t, f, b21)
	heads, _, _ = r.get()
	if heads[len(heads)-1] != "b21" {
		t.Errorf("after the gap: %v", heads)
	}
	_ = a10
}

func TestFollowerRunRetriesAndFollows(t *testing.T) {
	c := newFakeChain()
	tip := c.extend("a", 1, 1, common.Hash{})
	fake := clock.NewFake(time.Unix(0, 0))
	f := NewFollower(c, FollowerOptions{Clock: fake})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { f.Run(ctx); close(done) }()
	defer func() { cancel(); <-done }()

	got := make(chan uint64, 1000)
	f.Subscribe(false, func(ev Event) {
		for _, b := range ev.Added {
			got <- b.Number
		}
	})
	c.setFail(errors.New("down"))
	f.Advance(tip.Block) // fails; retried after a backoff on the clock
	await.Until(t, "the failed fetch's retry timer", func() bool { return fake.Waiters() > 0 })
	c.setFail(nil)
	// New tips keep coming; once the stream runs (the clock moves on to
	// its retry), every block arrives once and in order.
	var seen []uint64
	await.Advancing(t, fake, retryStart, "five blocks", func() bool {
		for {
			select {
			case n := <-got:
				seen = append(seen, n)
				continue
			default:
			}
			break
		}
		if len(seen) > 0 && tip.Number < 5 {
			tip = c.extend("a", tip.Number+1, tip.Number+1, tip.Hash)
			f.Advance(tip.Block)
		}
		return len(seen) >= 5
	})
	for i := 1; i < len(seen); i++ {
		if seen[i] != seen[i-1]+1 || seen[0] != 1 {
			t.Fatalf("blocks %v: not consecutive from 1", seen)
		}
	}
}

// TestFollowerSubscribedBeforeAnyTipGetsTheFirst: a subscription made
// before braid knew a tip is sent the first one (it may have been mined
// after the subscription), then the rest.
func TestFollowerSubscribedBeforeAnyTipGetsTheFirst(t *testing.T) {
	c := newFakeChain()
	a3 := c.extend("a", 1, 3, common.Hash{})
	f := newFollower(c, FollowerOptions{})
	var r recorder
	f.Subscribe(false, r.fn)
	if err := f.step(context.Background()); err != nil { // no tip yet: nothing
		t.Fatal(err)
	}
	advance(t, f, a3)
	a5 := c.extend("a", 4, 5, a3.Hash)
	advance(t, f, a5)
	heads, _, removed := r.get()
	eq(t, "heads", heads, []string{"a3", "a4", "a5"})
	eq(t, "removed", removed, nil)
	// A reorg of the first tip takes back only what was sent.
	b4 := c.extend("b", 3, 4, hashOf("a2"))
	advance(t, f, b4)
	heads, _, removed = r.get()
	eq(t, "heads", heads, []string{"a3", "a4", "a5", "b3", "b4"})
	eq(t, "removed", removed, []string{"a3", "a4", "a5"})
}

// TestFollowerStartsPastATipReorgedAway: the tip a subscription was made
// at is replaced by a reorg and can no longer be fetched before the
// stream's first step: the stream still starts, with the new branch from
// that height, and takes nothing back it never sent.
func TestFollowerStartsPastATipReorgedAway(t *testing.T) {
	c := newFakeChain()
	a3 := c.extend("a", 1, 3, common.Hash{})
	f := newFollower(c, FollowerOptions{})
	f.Advance(a3.Block)
	var r recorder
	f.Subscribe(true, r.fn)
	b4 := c.extend("b", 3, 4, hashOf("a2"))
	c.mu.Lock()
	delete(c.headers, a3.Hash)
	c.mu.Unlock()
	advance(t, f, b4)
	heads, logs, removed := r.get()
	eq(t, "heads", heads, []string{"b3", "b4"})
	eq(t, "logs", logs, []string{"+b3", "+b4"})
	eq(t, "removed", removed, nil)
}

// TestFollowerDeliversInSubscriptionOrder: each event reaches its
// consumers in the order they subscribed, so that the notifications of one
// connection's subscriptions come in a stable order.
func TestFollowerDeliversInSubscriptionOrder(t *testing.T) {
	c := newFakeChain()
	a1 := c.extend("a", 1, 1, common.Hash{})
	f := newFollower(c, FollowerOptions{})
	f.Advance(a1.Block)
	var got []int
	for i := range 20 {
		f.Subscribe(i%2 == 0, func(Event) { got = append(got, i) })
	}
	advance(t, f, c.extend("a", 2, 2, a1.Hash))
	for i, n := range got {
		if n != i {
			t.Fatalf("delivered to consumers %v, want 0..19 in order", got)
		}
	}
	if len(got) != 20 {
		t.Fatalf("delivered to %d consumers, want 20", len(got))
	}
}
