package trust

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/core/types"

	"github.com/braidrpc/braid/internal/block"
	"github.com/braidrpc/braid/internal/config"
	"github.com/braidrpc/braid/internal/jsonrpc"
	"github.com/braidrpc/braid/internal/route"
	"github.com/braidrpc/braid/internal/upstream"
)

// fakeChain is a chain of n+1 headers (0..n) linked by parent hash.
func fakeChain(n int) []*types.Header {
	hs := make([]*types.Header, n+1)
	parent := common.Hash{}
	for i := range hs {
		hs[i] = &types.Header{ParentHash: parent, Number: big.NewInt(int64(i)), Difficulty: new(big.Int),
			GasLimit: 30_000_000, Time: uint64(i) * 12, Extra: []byte("braid walk test")}
		parent = hs[i].Hash()
	}
	return hs
}

// walkOperator answers eth_getBlockByNumber batches and eth_getBlockByHash
// from its chain, as its faults say.
type walkOperator struct {
	name  string
	chain []*types.Header
	// null answers null for by-number requests of these blocks.
	null func(num uint64) bool
	// forge, when it returns true, answers a header for num that does
	// not hash to what its child names (a lie).
	forge func(num uint64) bool
	// short truncates every batch answer to this many answers (0: none).
	short int
	// maxBatch refuses batches of more calls, as a node over its batch
	// limit does (0: no limit; -1: no batches at all).
	maxBatch int
}

func (o *walkOperator) header(num uint64) json.RawMessage {
	if num >= uint64(len(o.chain)) || (o.null != nil && o.null(num)) {
		return json.RawMessage("null")
	}
	h := o.chain[num]
	if o.forge != nil && o.forge(num) {
		c := types.CopyHeader(h)
		c.Root = common.Hash{1}
		h = c
	}
	raw, _ := json.Marshal(h)
	return raw
}

// walkFetcher is a Fetcher over fake operators, asked in order, counting
// round trips.
type walkFetcher struct {
	ops   []*walkOperator
	mu    sync.Mutex
	trips int
}

func (f *walkFetcher) Do(_ context.Context, c route.Call) (*route.Result, error) {
	f.mu.Lock()
	f.trips++
	f.mu.Unlock()
	var refused []route.Attempt
	for _, o := range f.ops {
		if containsOp(c.Exclude, o.name) {
			continue
		}
		if len(c.Batch) > 0 && (o.maxBatch < 0 || (o.maxBatch > 0 && len(c.Batch) > o.maxBatch)) {
			refused = append(refused, route.Attempt{Operator: o.name, Upstream: o.name, BatchRefused: true})
			continue
		}
		res := &route.Result{Upstream: &upstream.Upstream{Name: o.name, Operator: o.name}, Response: &jsonrpc.Response{}}
		for _, b := range c.Batch {
			var p []json.RawMessage
			var num hexutil.Uint64
			if err := json.Unmarshal(b.Params, &p); err != nil || json.Unmarshal(p[0], &num) != nil {
				return nil, errors.New("bad batch params")
			}
			res.Batch = append(res.Batch, &jsonrpc.Response{Result: o.header(uint64(num))})
		}
		if o.short > 0 && len(res.Batch) > o.short {
			res.Batch = res.Batch[:o.short]
		}
		if c.Method == "eth_getBlockByHash" {
			var p []json.RawMessage
			var want common.Hash
			if err := json.Unmarshal(c.Params, &p); err != nil || len(p) == 0 || json.Unmarshal(p[0], &want) != nil {
				return nil, fmt.Errorf("bad eth_getBlockByHash params %s", c.Params)
			}
			res.Response.Result = json.RawMessage("null")
			for _, h := range o.chain {
				if h.Hash() == want {
					res.Response.Result, _ = json.Marshal(h)
				}
			}
		}
		return res, nil
	}
	if len(refused) > 0 {
		return nil, &route.Failure{Code: jsonrpc.CodeUpstreamsFailed, Message: "every upstream tried failed", Attempts: refused}
	}
	return nil, &route.Failure{Code: jsonrpc.CodeUnavailable, Message: "no upstream left"}
}

func (f *walkFetcher) roundTrips() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.trips
}

func containsOp(ops []string, op string) bool {
	for _, o := range ops {
		if o == op {
			return true
		}
	}
	return false
}

// walkReader is a Reader trusting chain's last header, over ops.
func walkReader(chain []*types.Header, parentWalk int, ops ...*walkOperator) (*Reader, *walkFetcher, *lies) {
	for _, o := range ops {
		if o.chain == nil {
			o.chain = chain
		}
	}
	f := &walkFetcher{ops: ops}
	tip := chain[len(chain)-1]
	l := &lies{}
	r := New(Options{Network: "devnet",
		Verify:  config.Verify{Mode: config.VerifyStrict, HeaderCache: 4096, HistoryHops: 1, ParentWalk: parentWalk},
		Timeout: 10 * time.Second, Fetch: f, OnLie: l.add,
		Root: fixedRoot{block.Tip{Known: true, Latest: block.Block{Number: tip.Number.Uint64(), Hash: tip.Hash(), ParentHash: tip.ParentHash}}}})
	r.headers.Add(tip)
	return r, f, l
}

func checkHashes(t *testing.T, chain []*types.Header, numbers []uint64, got []common.Hash) {
	t.Helper()
	if len(got) != len(numbers) {
		t.Fatalf("%d hashes for %d numbers", len(got), len(numbers))
	}
	for i, num := range numbers {
		if got[i] != chain[num].Hash() {
			t.Fatalf("hash of block %d = %s, the chain has %s", num, got[i].Hex(), chain[num].Hash().Hex())
		}
	}
}

func (l *lies) list() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.ops...)
}

// The walk reaches genesis in batches of walkBatch, one round trip each,
// and a second walk over the same blocks costs none: verified headers are
// cached. Block numbers that sit on a batch's edges come out right.
func TestWalkToGenesisInBatchesAndCaches(t *testing.T) {
	chain := fakeChain(300)
	r, f, l := walkReader(chain, 1000, &walkOperator{name: "a"})
	ctx := context.Background()
	numbers := []uint64{0, 1, 43, 44, 171, 172, 299}
	got, err := r.ancestorHashes(ctx, chain[300], numbers)
	if err != nil {
		t.Fatal(err)
	}
	checkHashes(t, chain, numbers, got)
	if n := f.roundTrips(); n != 3 { // 299..200, 199..100, 99..0
		t.Fatalf("%d round trips for 300 headers, want 3 batches of at most %d", n, defaultWalkBatch)
	}
	got, err = r.walkCanonical(ctx, block.Block{Number: 300, Hash: chain[300].Hash()}, numbers)
	if err != nil {
		t.Fatal(err)
	}
	checkHashes(t, chain, numbers, got)
	if n := f.roundTrips(); n != 3 {
		t.Fatalf("the second walk cost %d round trips, want none (headers cached)", n-3)
	}
	if len(l.list()) != 0 {
		t.Fatalf("an honest operator was struck: %v", l.list())
	}
}

// A walk that stops exactly at a batch's lowest block, then one block
// further: the second costs one round trip asking for one header.
func TestWalkBatchBoundary(t *testing.T) {
	const b = defaultWalkBatch
	chain := fakeChain(2 * b)
	r, f, _ := walkReader(chain, 1000, &walkOperator{name: "a"})
	ctx := context.Background()
	got, err := r.ancestorHashes(ctx, chain[2*b], []uint64{b})
	if err != nil {
		t.Fatal(err)
	}
	checkHashes(t, chain, []uint64{b}, got)
	if n := f.roundTrips(); n != 1 {
		t.Fatalf("%d round trips for %d..%d, want 1", n, 2*b-1, b)
	}
	got, err = r.ancestorHashes(ctx, chain[2*b], []uint64{b - 1, b + b/2})
	if err != nil {
		t.Fatal(err)
	}
	checkHashes(t, chain, []uint64{b - 1, b + b/2}, got)
	if n := f.roundTrips(); n != 2 {
		t.Fatalf("%d round trips in all, want 2", n)
	}
	// From genesis' child: the one block below.
	g, err := r.ancestorHashes(ctx, chain[1], []uint64{0})
	if err != nil {
		t.Fatal(err)
	}
	checkHashes(t, chain, []uint64{0}, g)
}

// An operator whose batches are cut short (a node capping its batch size)
// or null below some block (one that lags or pruned headers) is no liar:
// the walk takes what links and goes on, and the answer is right.
func TestWalkShortBatchesAndNulls(t *testing.T) {
	chain := fakeChain(200)
	for _, c := range []struct {
		name string
		ops  []*walkOperator
	}{
		{"truncated batches", []*walkOperator{{name: "a", short: 10}}},
		{"nulls below 150, then another operator", []*walkOperator{
			{name: "a", null: func(n uint64) bool { return n < 150 }}, {name: "b"}}},
		{"only nulls, then another operator", []*walkOperator{
			{name: "a", null: func(uint64) bool { return true }}, {name: "b", short: 50}}},
		{"another chain's first header", []*walkOperator{
			{name: "a", chain: fakeChain(201)[1:]}, {name: "b"}}},
	} {
		t.Run(c.name, func(t *testing.T) {
			r, _, l := walkReader(chain, 1000, c.ops...)
			numbers := []uint64{0, 99, 150, 198}
			got, err := r.ancestorHashes(context.Background(), chain[200], numbers)
			if err != nil {
				t.Fatal(err)
			}
			checkHashes(t, chain, numbers, got)
			if len(l.list()) != 0 {
				t.Fatalf("struck %v for an answer that is no lie", l.list())
			}
		})
	}
}

// Nobody knows the block: the walk ends with an error, not a hang.
func TestWalkNobodyKnows(t *testing.T) {
	chain := fakeChain(20)
	r, _, _ := walkReader(chain, 1000, &walkOperator{name: "a", null: func(uint64) bool { return true }, chain: fakeChain(0)})
	if _, err := r.ancestorHashes(context.Background(), chain[20], []uint64{3}); err == nil {
		t.Fatal("a walk no operator can serve succeeded")
	}
}

// An operator whose batch holds a header that does not hash to its
// child's parent hash is struck; the walk goes on with another operator
// and the answer is the chain's.
func TestWalkLiarIsStruck(t *testing.T) {
	chain := fakeChain(300)
	r, _, l := walkReader(chain, 1000,
		&walkOperator{name: "liar", forge: func(n uint64) bool { return n == 100 }}, &walkOperator{name: "honest"})
	numbers := []uint64{5, 100, 101, 250}
	got, err := r.ancestorHashes(context.Background(), chain[300], numbers)
	if err != nil {
		t.Fatal(err)
	}
	checkHashes(t, chain, numbers, got)
	if struck := l.list(); len(struck) == 0 || struck[0] != "liar" || containsOp(struck, "honest") {
		t.Fatalf("struck %v, want the liar only", struck)
	}
	if lies := r.Lies(); len(lies) == 0 || lies[0].Method != "eth_getBlockByNumber" {
		t.Fatalf("lies kept: %+v", lies)
	}
}

// A block further below the trusted one than verify.parent_walk is
// refused with the reason, before any round trip.
func TestWalkRefusalNamesReason(t *testing.T) {
	chain := fakeChain(300)
	r, f, _ := walkReader(chain, 100, &walkOperator{name: "a"})
	_, err := r.ancestorHashes(context.Background(), chain[300], []uint64{150})
	var rpcErr *jsonrpc.Error
	if !errors.As(err, &rpcErr) || rpcErr.Code != jsonrpc.CodeUnverifiable ||
		!strings.Contains(rpcErr.Message, "verify.parent_walk = 100") || !strings.Contains(rpcErr.Message, "EIP-2935") {
		t.Fatalf("refusal %v, want code %d naming verify.parent_walk and EIP-2935", err, jsonrpc.CodeUnverifiable)
	}
	if n := f.roundTrips(); n != 0 {
		t.Fatalf("a refused walk cost %d round trips", n)
	}
	if _, err := r.ancestorHashes(context.Background(), chain[300], []uint64{300}); err == nil {
		t.Fatal("a block that is no ancestor has a hash")
	}
}

// Operators that cap batches below a walk step's size, or take none: the
// walk still reaches genesis with every hash right, in batches they take
// (the network's limit learned once), or header by header without
// batches; nobody is struck.
func TestWalkUnderBatchLimits(t *testing.T) {
	for _, c := range []struct {
		max       int
		wantLimit int
		maxTrips  int
	}{
		// 100 and 50 refused, 25 taken: 2 refusals, then 12 batches.
		{30, 25, 14},
		// Every batch refused: halved down to single calls, then one
		// header by hash per block.
		{-1, 1, 7 + 300},
	} {
		t.Run(fmt.Sprint(c.max), func(t *testing.T) {
			chain := fakeChain(300)
			r, f, l := walkReader(chain, 1000, &walkOperator{name: "a", maxBatch: c.max}, &walkOperator{name: "b", maxBatch: c.max})
			numbers := []uint64{0, 1, 99, 100, 250, 299}
			got, err := r.ancestorHashes(context.Background(), chain[300], numbers)
			if err != nil {
				t.Fatal(err)
			}
			checkHashes(t, chain, numbers, got)
			if r.batch.get() != c.wantLimit {
				t.Errorf("batch limit learned %d, want %d", r.batch.get(), c.wantLimit)
			}
			if n := f.roundTrips(); n > c.maxTrips {
				t.Errorf("%d round trips, want at most %d", n, c.maxTrips)
			}
			if len(l.list()) != 0 {
				t.Errorf("an honest operator was struck: %v", l.list())
			}
		})
	}
}
