package integration

import (
	"context"
	"fmt"
	"math/big"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/ethclient"

	"github.com/braidrpc/braid/internal/config"
	"github.com/braidrpc/braid/internal/devnet"
)

// wsURL is braid's WebSocket endpoint.
func (s *liveStack) wsURL() string { return "ws" + strings.TrimPrefix(s.url, "http") }

// subscriber is go-ethereum's ethclient over WebSocket to braid with a
// newHeads and a token Transfer logs subscription.
type subscriber struct {
	ec    *ethclient.Client
	heads chan *types.Header
	logs  chan types.Log
	hsub  ethereum.Subscription
	lsub  ethereum.Subscription
}

func subscribe(t *testing.T, s *liveStack) *subscriber {
	t.Helper()
	ctx := context.Background()
	ec, err := ethclient.DialContext(ctx, s.wsURL())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(ec.Close)
	sub := &subscriber{ec: ec, heads: make(chan *types.Header, 4096), logs: make(chan types.Log, 16384)}
	if sub.hsub, err = ec.SubscribeNewHead(ctx, sub.heads); err != nil {
		t.Fatal(err)
	}
	if sub.lsub, err = ec.SubscribeFilterLogs(ctx, ethereum.FilterQuery{
		Addresses: []common.Address{s.token}, Topics: [][]common.Hash{{transferTopic}},
	}, sub.logs); err != nil {
		t.Fatal(err)
	}
	return sub
}

// nextHead waits (bounded) for the next header.
func (sub *subscriber) nextHead(t *testing.T) *types.Header {
	t.Helper()
	select {
	case h := <-sub.heads:
		return h
	case err := <-sub.hsub.Err():
		t.Fatalf("newHeads subscription ended: %v", err)
	case err := <-sub.lsub.Err():
		t.Fatalf("logs subscription ended: %v", err)
	case <-time.After(liveTipWait):
		t.Fatalf("no header within %s", liveTipWait)
	}
	return nil
}

// logsQuiet is how long after the logs a test expects it waits for an
// extra one: a bound on looking for what must not come.
const logsQuiet = 2 * time.Second

// logsUpTo collects logs until n have arrived (waiting up to liveTipWait
// for each: a slow machine is no reason to stop short), then any more
// that come within logsQuiet, so that an extra one shows. Only for a
// chain that is not mining meanwhile.
func (sub *subscriber) logsUpTo(t *testing.T, n int) []types.Log {
	t.Helper()
	return sub.collectLogs(t, n, func(types.Log) (bool, bool) { return true, false })
}

// logsIn is logsUpTo for the logs of blocks from..last of a chain that
// goes on mining: it ignores other blocks' logs and stops at the first
// log of a block after last (the stream delivers in order, so no log of
// the range can follow it).
func (sub *subscriber) logsIn(t *testing.T, from, last uint64, n int) []types.Log {
	t.Helper()
	return sub.collectLogs(t, n, func(l types.Log) (bool, bool) {
		return l.BlockNumber >= from && l.BlockNumber <= last, l.BlockNumber > last
	})
}

// collectLogs reads logs, keeping those keep says to, until n are kept
// and either logsQuiet passes or keep says the range is over.
func (sub *subscriber) collectLogs(t *testing.T, n int, keep func(types.Log) (in, past bool)) []types.Log {
	t.Helper()
	var out []types.Log
	for {
		wait := liveTipWait
		if len(out) >= n {
			wait = logsQuiet
		}
		select {
		case l := <-sub.logs:
			in, past := keep(l)
			if in {
				out = append(out, l)
			}
			if past && len(out) >= n {
				return out
			}
		case err := <-sub.lsub.Err():
			t.Fatalf("logs subscription ended: %v", err)
		case <-time.After(wait):
			return out
		}
	}
}

// TestSubscriptionsSurviveProviderFailures: a go-ethereum client
// subscribed to braid over WebSocket sees every block of 72 exactly once
// and in order, and the Transfer logs equal eth_getLogs over the same
// blocks, while the providers (which push heads over WebSocket) are taken
// down and brought back one by one.
func TestSubscriptionsSurviveProviderFailures(t *testing.T) {
	s := newLiveStackWith(t, liveOptions{ws: true, blockTime: 100 * time.Millisecond})
	ctx := context.Background()
	sub := subscribe(t, s)
	// The logs subscription is made after the newHeads one: blocks the
	// stream sent in between went to newHeads only. Every block above the
	// tip braid served once both exist goes to both.
	bothFrom := s.tip().Latest.Number + 1
	const perPhase = 12
	var heads []*types.Header
	for _, down := range []string{"", "p1", "p2", "p3", "p4", ""} {
		for _, p := range []string{"p1", "p2", "p3", "p4"} {
			s.setDown(p, p == down)
		}
		for range perPhase {
			heads = append(heads, sub.nextHead(t))
		}
	}
	first, last := heads[0].Number.Uint64(), heads[len(heads)-1].Number.Uint64()
	chain := ethclient.NewClient(s.dn.RPC())
	for i, h := range heads {
		want, err := chain.HeaderByNumber(ctx, h.Number)
		if err != nil {
			t.Fatal(err)
		}
		if h.Number.Uint64() != first+uint64(i) || h.Hash() != want.Hash() {
			t.Fatalf("header %d: block %d %s, want block %d %s (every block once, in order)",
				i, h.Number, h.Hash(), first+uint64(i), want.Hash())
		}
	}
	from := max(first, bothFrom)
	want, err := chain.FilterLogs(ctx, ethereum.FilterQuery{
		FromBlock: new(big.Int).SetUint64(from), ToBlock: new(big.Int).SetUint64(last),
		Addresses: []common.Address{s.token}, Topics: [][]common.Hash{{transferTopic}},
	})
	if err != nil {
		t.Fatal(err)
	}
	got := sub.logsIn(t, from, last, len(want))
	if len(want) < int(last-from+1) || !sameLogs(got, want) {
		t.Fatalf("logs subscription gave %d Transfer logs for blocks %d..%d, eth_getLogs %d:\n%s\nwant\n%s",
			len(got), from, last, len(want), describeLogs(got), describeLogs(want))
	}
	t.Logf("%d blocks (%d..%d), %d Transfer logs of %d..%d, through 4 provider outages", len(heads), first, last, len(got), from, last)
}

// TestSubscriptionsFollowReorg: after a reorg on the devnet, newHeads
// gives the new branch's heads in order, and the logs subscription gives
// the old branch's logs again with removed: true, then the new branch's,
// as go-ethereum does.
func TestSubscriptionsFollowReorg(t *testing.T) {
	s := newLiveStackWith(t, liveOptions{ws: true, manual: true, providers: 3})
	ctx := context.Background()
	sub := subscribe(t, s)
	var before []common.Hash
	for range 3 {
		before = append(before, s.stepAndServe(t))
	}
	for _, want := range before {
		if h := sub.nextHead(t); h.Hash() != want {
			t.Fatalf("head %s, want %s", h.Hash(), want)
		}
	}
	chain := ethclient.NewClient(s.dn.RPC())
	var wantOld []types.Log
	for _, h := range before {
		logs, err := chain.FilterLogs(ctx, ethereum.FilterQuery{BlockHash: &h,
			Addresses: []common.Address{s.token}, Topics: [][]common.Hash{{transferTopic}}})
		if err != nil {
			t.Fatal(err)
		}
		wantOld = append(wantOld, logs...)
	}
	oldLogs := sub.logsUpTo(t, len(wantOld))
	if len(oldLogs) == 0 || !sameLogs(oldLogs, wantOld) {
		t.Fatalf("Transfer logs before the reorg:\n%s\nwant\n%s", describeLogs(oldLogs), describeLogs(wantOld))
	}

	dropped, added, err := s.dn.Reorg(ctx, 2, 3)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(dropped, before[1:]) {
		t.Fatalf("reorg dropped %v, want the last two blocks %v", dropped, before[1:])
	}
	for _, want := range added {
		h := sub.nextHead(t)
		if h.Hash() != want {
			t.Fatalf("head after reorg %d %s, want the new branch's %s (all: %v)", h.Number, h.Hash(), want, added)
		}
	}
	select {
	case h := <-sub.heads:
		t.Fatalf("an extra head after the new branch: %d %s", h.Number, h.Hash())
	case <-time.After(500 * time.Millisecond):
	}

	var wantRemoved []types.Log
	for _, l := range oldLogs {
		if slices.Contains(dropped, l.BlockHash) {
			l.Removed = true
			wantRemoved = append(wantRemoved, l)
		}
	}
	var wantAdded []types.Log
	for _, h := range added {
		logs, err := chain.FilterLogs(ctx, ethereum.FilterQuery{BlockHash: &h,
			Addresses: []common.Address{s.token}, Topics: [][]common.Hash{{transferTopic}}})
		if err != nil {
			t.Fatal(err)
		}
		wantAdded = append(wantAdded, logs...)
	}
	got := sub.logsUpTo(t, len(wantRemoved)+len(wantAdded))
	if len(wantRemoved) == 0 || len(wantAdded) == 0 {
		t.Fatalf("the reorg has %d removed and %d added Transfer logs to compare", len(wantRemoved), len(wantAdded))
	}
	if !sameLogs(got, append(wantRemoved, wantAdded...)) {
		t.Fatalf("logs after the reorg:\n%s\nwant %d removed then %d added", describeLogs(got), len(wantRemoved), len(wantAdded))
	}
}

func describeLogs(logs []types.Log) string {
	var b strings.Builder
	for _, l := range logs {
		fmt.Fprintf(&b, "  block %d %s tx %s index %d removed %v\n", l.BlockNumber, l.BlockHash.Hex()[:10], l.TxHash.Hex()[:10], l.Index, l.Removed)
	}
	return b.String()
}

// TestSubscriptionsUnderStrictVerification: with verify: strict and two
// of five providers lying (values altered, a log dropped), the heads and
// logs subscribers get are the chain's own: the block stream fetches them
// through the verified path. (More liars would also corrupt their head
// reports, and without a majority of operators agreeing the tip stops, by
// design.)
func TestSubscriptionsUnderStrictVerification(t *testing.T) {
	s := newLiveStackWith(t, liveOptions{manual: true, ws: true, providers: 5, verify: config.Verify{Mode: config.VerifyStrict}})
	ctx := context.Background()
	sub := subscribe(t, s)
	s.dn.Provider("p1").SetFaults(devnet.Faults{Lie: true})
	s.dn.Provider("p2").SetFaults(devnet.Faults{Lie: true, LieKind: devnet.LieDrop})
	var mined []common.Hash
	for range 6 {
		mined = append(mined, s.stepAndServe(t))
	}
	chain := ethclient.NewClient(s.dn.RPC())
	var want []types.Log
	for _, h := range mined {
		got := sub.nextHead(t)
		header, err := chain.HeaderByHash(ctx, h)
		if err != nil {
			t.Fatal(err)
		}
		if got.Hash() != h || got.Root != header.Root || got.ReceiptHash != header.ReceiptHash || got.Bloom != header.Bloom {
			t.Fatalf("head %d: %s (root %s), want %s (root %s)", got.Number, got.Hash(), got.Root, h, header.Root)
		}
		logs, err := chain.FilterLogs(ctx, ethereum.FilterQuery{BlockHash: &h,
			Addresses: []common.Address{s.token}, Topics: [][]common.Hash{{transferTopic}}})
		if err != nil {
			t.Fatal(err)
		}
		want = append(want, logs...)
	}
	got := sub.logsUpTo(t, len(want))
	if len(want) == 0 || !sameLogs(got, want) {
		t.Fatalf("logs under three liars:\n%s\nwant %d logs", describeLogs(got), len(want))
	}
	struck := 0
	for _, op := range s.gw.Status().Networks[0].Operators {
		if op.Name != "operator-1" && op.Name != "operator-2" && op.Strikes > 0 {
			t.Errorf("honest %s was struck", op.Name)
		}
		struck += op.Strikes
	}
	t.Logf("%d heads and %d logs true; %d strikes against the liars", len(mined), len(got), struck)
}
