package integration

import (
	"context"
	"encoding/json"
	"math/big"
	"slices"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/ethclient"

	"github.com/braidrpc/braid/internal/await"
	"github.com/braidrpc/braid/internal/devnet"
)

// transferTopic is the ERC-20 Transfer event's topic.
var transferTopic = common.HexToHash("0xddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef")

// stepAndServe mines one block with demo transactions and waits until
// braid serves it.
func (s *liveStack) stepAndServe(t *testing.T) common.Hash {
	t.Helper()
	h, err := s.dn.Step(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if !await.Poll(liveTipWait, func() bool { return s.tip().Latest.Hash == h }) {
		t.Fatalf("braid did not serve block %s within %s", h, liveTipWait)
	}
	return h
}

// setDown takes a provider down or brings it back.
func (s *liveStack) setDown(name string, down bool) {
	s.dn.Provider(name).SetFaults(devnet.Faults{Down: down})
}

// TestFiltersSurviveUpstreamDeath: filters are braid's own, fed by its
// block stream, so taking down whichever provider answered last (one at a
// time, every provider in turn) loses no block hash and no log, and polls
// never fail.
func TestFiltersSurviveUpstreamDeath(t *testing.T) {
	s := newLiveStackWith(t, liveOptions{manual: true, providers: 3})
	ctx := context.Background()
	install := func(method string, params ...any) string {
		t.Helper()
		var id string
		if err := s.rpc.CallContext(ctx, &id, method, params...); err != nil {
			t.Fatalf("%s: %v", method, err)
		}
		return id
	}
	// The filters are fed by the stream, which starts at the served tip.
	start := s.tip().Latest.Number
	logFilter := install("eth_newFilter", map[string]any{"address": s.token, "topics": []any{transferTopic},
		"fromBlock": hexutil.Uint64(start + 1)})
	blockFilter := install("eth_newBlockFilter")

	var mined []common.Hash
	var gotBlocks []common.Hash
	var gotLogs []types.Log
	poll := func() {
		t.Helper()
		var hashes []common.Hash
		if err := s.rpc.CallContext(ctx, &hashes, "eth_getFilterChanges", blockFilter); err != nil {
			t.Fatalf("block filter poll: %v", err)
		}
		gotBlocks = append(gotBlocks, hashes...)
		var logs []types.Log
		if err := s.rpc.CallContext(ctx, &logs, "eth_getFilterChanges", logFilter); err != nil {
			t.Fatalf("log filter poll: %v", err)
		}
		gotLogs = append(gotLogs, logs...)
	}
	for round, down := range []string{"", "p1", "p2", "p3", ""} {
		for _, p := range []string{"p1", "p2", "p3"} {
			s.setDown(p, p == down)
		}
		for range 3 {
			mined = append(mined, s.stepAndServe(t))
		}
		// Wait until the stream has passed the last block to the filter.
		if !await.Poll(liveTipWait, func() bool {
			poll()
			return len(gotBlocks) > 0 && gotBlocks[len(gotBlocks)-1] == mined[len(mined)-1]
		}) {
			t.Fatalf("round %d (%s down): block filter has %d of %d blocks", round, down, len(gotBlocks), len(mined))
		}
	}
	if !slices.Equal(gotBlocks, mined) {
		t.Fatalf("block filter gave %d hashes, want the %d mined in order:\n got %v\nwant %v", len(gotBlocks), len(mined), gotBlocks, mined)
	}

	want, err := ethclient.NewClient(s.dn.RPC()).FilterLogs(ctx, ethereum.FilterQuery{
		FromBlock: new(big.Int).SetUint64(start + 1), ToBlock: new(big.Int).SetUint64(start + uint64(len(mined))),
		Addresses: []common.Address{s.token}, Topics: [][]common.Hash{{transferTopic}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(want) == 0 {
		t.Fatal("the chain has no Transfer logs to compare")
	}
	if !sameLogs(gotLogs, want) {
		t.Fatalf("log filter gave %d logs, eth_getLogs over the same blocks %d", len(gotLogs), len(want))
	}

	// eth_getFilterLogs runs the filter's criteria as eth_getLogs: from
	// its fromBlock to the tip.
	var all []types.Log
	if err := s.rpc.CallContext(ctx, &all, "eth_getFilterLogs", logFilter); err != nil {
		t.Fatal(err)
	}
	if !sameLogs(all, want) {
		t.Errorf("eth_getFilterLogs gave %d logs, eth_getLogs %d", len(all), len(want))
	}
	var ok bool
	if err := s.rpc.CallContext(ctx, &ok, "eth_uninstallFilter", logFilter); err != nil || !ok {
		t.Fatalf("uninstall: %v %v", ok, err)
	}
	var again []json.RawMessage
	if err := s.rpc.CallContext(ctx, &again, "eth_getFilterChanges", logFilter); err == nil || err.Error() != "filter not found" {
		t.Fatalf("poll after uninstall: %v", err)
	}
}

// TestPendingFilterSeesSentTransactions: a pending-transaction filter is
// fed from the upstreams' pools, de-duplicated across them.
func TestPendingFilterSeesSentTransactions(t *testing.T) {
	s := newLiveStackWith(t, liveOptions{manual: true, providers: 3})
	ctx := context.Background()
	var id string
	if err := s.rpc.CallContext(ctx, &id, "eth_newPendingTransactionFilter"); err != nil {
		t.Fatal(err)
	}
	ec := ethclient.NewClient(s.rpc)
	sent := map[common.Hash]bool{}
	seen := map[common.Hash]int{}
	// The upstream filters start when braid's first pending listener
	// arrives; a transaction sent before they are installed is not seen, so
	// keep sending (a bounded number) until one is.
	for attempt := 0; attempt < 20 && len(seen) == 0; attempt++ {
		tx := signTransfer(t, s, ec, 0)
		var h common.Hash
		if err := s.rpc.CallContext(ctx, &h, "eth_sendRawTransaction", hexutil.Bytes(mustBinary(t, tx))); err != nil {
			t.Fatal(err)
		}
		sent[h] = true
		await.Poll(2*time.Second, func() bool {
			var hashes []common.Hash
			if err := s.rpc.CallContext(ctx, &hashes, "eth_getFilterChanges", id); err != nil {
				t.Fatalf("poll: %v", err)
			}
			for _, h := range hashes {
				seen[h]++
			}
			return len(seen) > 0
		})
	}
	if len(seen) == 0 {
		t.Fatal("the pending filter saw none of the transactions sent")
	}
	for h, n := range seen {
		if !sent[h] {
			t.Errorf("pending filter gave %s, which was never sent", h)
		}
		if n != 1 {
			t.Errorf("pending filter gave %s %d times (three upstreams saw it)", h, n)
		}
	}
	if _, err := s.dn.Step(ctx); err != nil { // clear the pool for the next test
		t.Fatal(err)
	}
}

func mustBinary(t *testing.T, tx *types.Transaction) []byte {
	t.Helper()
	b, err := tx.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// sameLogs compares logs by block, transaction, index and content.
func sameLogs(got, want []types.Log) bool {
	if len(got) != len(want) {
		return false
	}
	for i := range got {
		g, w := got[i], want[i]
		if g.BlockHash != w.BlockHash || g.TxHash != w.TxHash || g.Index != w.Index || g.Address != w.Address ||
			!slices.Equal(g.Topics, w.Topics) || string(g.Data) != string(w.Data) || g.Removed != w.Removed {
			return false
		}
	}
	return true
}
