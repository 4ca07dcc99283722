package trust

import (
	"context"
	"encoding/json"
	"errors"
	"math/big"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/params"

	"github.com/braidrpc/braid/internal/block"
	"github.com/braidrpc/braid/internal/config"
	"github.com/braidrpc/braid/internal/ethjson"
	"github.com/braidrpc/braid/internal/jsonrpc"
	"github.com/braidrpc/braid/internal/plan"
	"github.com/braidrpc/braid/internal/route"
	"github.com/braidrpc/braid/internal/upstream"
)

// uncleBlock is a proof-of-work block (number 100) with two uncles, its
// answers as a node renders them.
type uncleBlock struct {
	header *types.Header
	uncles []*types.Header
	full   json.RawMessage // eth_getBlockByHash, full transactions
	hashes json.RawMessage // eth_getBlockByHash, transaction hashes
}

func newUncleBlock(t *testing.T) *uncleBlock {
	t.Helper()
	uncle := func(extra string) *types.Header {
		return &types.Header{ParentHash: common.Hash{0x98}, UncleHash: types.EmptyUncleHash, Coinbase: common.Address{0xc0},
			TxHash: types.EmptyTxsHash, ReceiptHash: types.EmptyReceiptsHash, Difficulty: big.NewInt(1000),
			Number: big.NewInt(99), GasLimit: 5000, Time: 1000, Extra: []byte(extra)}
	}
	u := []*types.Header{uncle("uncle a"), uncle("uncle b")}
	h := &types.Header{ParentHash: common.Hash{0x99}, UncleHash: types.CalcUncleHash(u), Coinbase: common.Address{0xc1},
		TxHash: types.EmptyTxsHash, ReceiptHash: types.EmptyReceiptsHash, Difficulty: big.NewInt(1000),
		Number: big.NewInt(100), GasLimit: 5000, Time: 1012, Extra: []byte("braid uncle test")}
	rd := ethjson.New(params.MainnetChainConfig)
	b, err := rd.NewBlock(h, &types.Body{Uncles: u}, nil)
	if err != nil {
		t.Fatal(err)
	}
	ub := &uncleBlock{header: h, uncles: u}
	if ub.full, err = rd.Block(b, true); err != nil {
		t.Fatal(err)
	}
	if ub.hashes, err = rd.Block(b, false); err != nil {
		t.Fatal(err)
	}
	return ub
}

// uncleOperator answers a block and its uncles, as its faults say.
type uncleOperator struct {
	name string
	b    *uncleBlock
	// listWrong swaps the uncle list in its block answers.
	listWrong bool
	// forgeUncle answers uncle 1 with a header that is not the uncle.
	forgeUncle bool
}

func (o *uncleOperator) answer(t *testing.T, c route.Call) json.RawMessage {
	var p []json.RawMessage
	if err := json.Unmarshal(c.Params, &p); err != nil || len(p) != 2 {
		t.Errorf("%s params %s", c.Method, c.Params)
		return json.RawMessage("null")
	}
	switch c.Method {
	case "eth_getBlockByHash":
		raw := o.b.hashes
		if string(p[1]) == "true" {
			raw = o.b.full
		}
		if !o.listWrong {
			return raw
		}
		var m map[string]json.RawMessage
		_ = json.Unmarshal(raw, &m)
		m["uncles"], _ = json.Marshal([]common.Hash{o.b.uncles[1].Hash(), o.b.uncles[0].Hash()})
		out, _ := json.Marshal(m)
		return out
	case uncleMethod:
		var i hexutil.Uint64
		_ = json.Unmarshal(p[1], &i)
		if int(i) >= len(o.b.uncles) {
			return json.RawMessage("null")
		}
		u := o.b.uncles[i]
		if o.forgeUncle && i == 1 {
			u = types.CopyHeader(u)
			u.Extra = []byte("forged")
		}
		out, _ := json.Marshal(u)
		return out
	}
	t.Errorf("unexpected method %s", c.Method)
	return json.RawMessage("null")
}

// uncleFetcher asks its operators in order, skipping those excluded.
type uncleFetcher struct {
	t     *testing.T
	ops   []*uncleOperator
	mu    sync.Mutex
	calls map[string]int
}

func (f *uncleFetcher) Do(_ context.Context, c route.Call) (*route.Result, error) {
	f.mu.Lock()
	f.calls[c.Method]++
	f.mu.Unlock()
	for _, o := range f.ops {
		if !slices.Contains(c.Exclude, o.name) {
			return &route.Result{Upstream: &upstream.Upstream{Name: o.name, Operator: o.name},
				Response: &jsonrpc.Response{Result: o.answer(f.t, c)}}, nil
		}
	}
	return nil, &route.Failure{Code: jsonrpc.CodeUnavailable, Message: "no upstream left"}
}

func uncleReader(t *testing.T, b *uncleBlock, ops ...*uncleOperator) (*Reader, *uncleFetcher, *lies) {
	f := &uncleFetcher{t: t, ops: ops, calls: map[string]int{}}
	l := &lies{}
	tip := block.Block{Number: b.header.Number.Uint64(), Hash: b.header.Hash(), ParentHash: b.header.ParentHash}
	r := New(Options{Network: "mainnet", Verify: config.Verify{Mode: config.VerifyStrict, HeaderCache: 64, HistoryHops: 1},
		Timeout: 10 * time.Second, Fetch: f, OnLie: l.add, Root: fixedRoot{block.Tip{Known: true, Latest: tip}}})
	r.headers.Add(b.header)
	return r, f, l
}

func blockPlan(hash common.Hash, full bool) *plan.Plan {
	return &plan.Plan{Method: "eth_getBlockByHash", Args: []json.RawMessage{json.RawMessage(`"` + hash.Hex() + `"`), json.RawMessage(map[bool]string{true: "true", false: "false"}[full])}}
}

// A block's uncle list is proven: the uncle headers are fetched and
// checked against the trusted header's uncle hash, and a block answer
// listing other uncles is a lie (its operator struck, the next one asked),
// in the block served to clients (both forms) and in the body the history
// stage stores.
func TestBlockUnclesAreProven(t *testing.T) {
	b := newUncleBlock(t)
	ctx := context.Background()
	for _, full := range []bool{true, false} {
		r, _, l := uncleReader(t, b, &uncleOperator{name: "liar", b: b, listWrong: true}, &uncleOperator{name: "honest", b: b})
		got, err := r.verifiedBlock(ctx, blockPlan(b.header.Hash(), full))
		if err != nil {
			t.Fatalf("full %v: %v", full, err)
		}
		want := b.hashes
		if full {
			want = b.full
		}
		if string(got) != string(want) {
			t.Fatalf("full %v: served %s, want %s", full, got, want)
		}
		// With hashes, the full block is read first (for the transaction
		// hashes): the liar lies in both answers.
		wantStruck := []string{"liar"}
		if !full {
			wantStruck = []string{"liar", "liar"}
		}
		if ops := l.list(); !slices.Equal(ops, wantStruck) {
			t.Fatalf("full %v: struck %v, want %v", full, ops, wantStruck)
		}
	}

	r, f, l := uncleReader(t, b, &uncleOperator{name: "liar", b: b, listWrong: true}, &uncleOperator{name: "honest", b: b})
	body, err := r.Body(ctx, b.header)
	if err != nil {
		t.Fatal(err)
	}
	if len(body.Uncles) != 2 || body.Uncles[0].Hash() != b.uncles[0].Hash() || body.Uncles[1].Hash() != b.uncles[1].Hash() {
		t.Fatalf("body uncles %v", body.Uncles)
	}
	if ops := l.list(); !slices.Equal(ops, []string{"liar"}) {
		t.Fatalf("Body struck %v, want the liar", ops)
	}
	// Two uncles: asked for by index 0 and 1 (at most two exist).
	if n := f.calls[uncleMethod]; n != 2 {
		t.Fatalf("%d uncle fetches, want 2", n)
	}
}

// A forged uncle header fails the read with a verification failure, and
// no operator is struck: the headers may come from several operators.
func TestForgedUncleRefused(t *testing.T) {
	b := newUncleBlock(t)
	r, f, l := uncleReader(t, b, &uncleOperator{name: "forger", b: b, forgeUncle: true}, &uncleOperator{name: "honest", b: b})
	_, err := r.verifiedBlock(context.Background(), blockPlan(b.header.Hash(), true))
	var vf *VerifyFailure
	if !errors.As(err, &vf) || vf.Method != uncleMethod || jsonrpc.FromError(err).Code != jsonrpc.CodeVerificationFailed {
		t.Fatalf("error %v (%T), want a VerifyFailure of %s", err, err, uncleMethod)
	}
	if !strings.Contains(vf.Attempts[0].Error, "uncles hash to") || vf.Attempts[0].Operator != "forger" {
		t.Fatalf("attempts %+v", vf.Attempts)
	}
	if ops := l.list(); len(ops) != 0 {
		t.Fatalf("struck %v", ops)
	}
	if n := f.calls["eth_getBlockByHash"]; n != 0 {
		t.Fatalf("the block was fetched %d times after its uncles failed", n)
	}
}

// A block that commits to no uncles costs no uncle fetch.
func TestNoUnclesNoFetch(t *testing.T) {
	b := newUncleBlock(t)
	h := types.CopyHeader(b.header)
	h.UncleHash = types.EmptyUncleHash
	r, f, _ := uncleReader(t, b)
	if us, err := r.blockUncles(context.Background(), h); err != nil || us != nil {
		t.Fatalf("uncles %v, %v", us, err)
	}
	if n := f.calls[uncleMethod]; n != 0 {
		t.Fatalf("%d uncle fetches", n)
	}
}
