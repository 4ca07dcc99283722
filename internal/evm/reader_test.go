package evm

import (
	"context"
	"encoding/json"
	"errors"
	"math/big"
	"sync"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/core"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/params"

	"github.com/braidrpc/braid/internal/clock"
	"github.com/braidrpc/braid/internal/devnet"
	"github.com/braidrpc/braid/internal/jsonrpc"
)

// brokenSource wraps a Source and breaks its contract one way.
type brokenSource struct {
	Source
	mode string
}

func (b *brokenSource) Proofs(ctx context.Context, block *types.Header, qs []Query) ([]Proven, error) {
	out, err := b.Source.Proofs(ctx, block, qs)
	if err != nil || len(out) == 0 {
		return out, err
	}
	switch b.mode {
	case "count":
		out = out[:len(out)-1]
	case "address":
		a := *out[0].Account
		a.Address = common.Address{0xee}
		out[0].Account = &a
	case "slot":
		for i, q := range qs {
			if len(q.Slots) > 0 {
				a := *out[i].Account
				a.Storage = nil
				out[i].Account = &a
			}
		}
	case "code":
		for i, q := range qs {
			if q.Code {
				out[i].Code = []byte{0xfe}
			}
		}
	case "nil":
		out[0].Account = nil
	}
	return out, nil
}

func (b *brokenSource) Code(ctx context.Context, block *types.Header, a common.Address, h common.Hash) ([]byte, error) {
	if b.mode == "code" {
		return []byte{0xfe}, nil
	}
	return b.Source.Code(ctx, block, a, h)
}

func (b *brokenSource) BlockHashes(ctx context.Context, block *types.Header, numbers []uint64) ([]common.Hash, error) {
	return nil, nil // never the right count
}

// TestBrokenSource: a Source whose answers do not fit the questions fails
// the call with a *StateError, whichever way it breaks.
func TestBrokenSource(t *testing.T) {
	e := testEnv(t)
	call := map[string]any{"to": e.multicall, "data": e.multicallOf(t, e.user, e.tokens[:3])}
	for _, mode := range []string{"count", "address", "slot", "code", "nil"} {
		t.Run(mode, func(t *testing.T) {
			src := &brokenSource{Source: newDevSource(e.d.Providers()...), mode: mode}
			raw, _ := json.Marshal([]any{call, "latest"})
			req, _ := ParseRequest(MethodCall, raw)
			_, err := freshExecutor(t, e).Do(t.Context(), src, e.head(t), req)
			var se *StateError
			if !errors.As(err, &se) {
				t.Fatalf("err = %v, want a *StateError", err)
			}
		})
	}
	t.Run("block hashes", func(t *testing.T) {
		cfg := preprague(e)
		x, _ := New(Config{Chain: cfg})
		src := &brokenSource{Source: newDevSource(e.d.Providers()...)}
		head := e.head(t)
		raw, _ := json.Marshal([]any{map[string]any{"to": e.multicall,
			"data": pack(t, e.multiABI, "getBlockHash", new(big.Int).Sub(head.Number, big.NewInt(3)))}, "latest"})
		req, _ := ParseRequest(MethodCall, raw)
		_, err := x.Do(t.Context(), src, head, req)
		var se *StateError
		if !errors.As(err, &se) {
			t.Fatalf("err = %v, want a *StateError", err)
		}
	})
}

// preprague is the devnet's configuration with Prague (and later forks)
// never active: BLOCKHASH must then come from the Source.
func preprague(e *env) *params.ChainConfig {
	c := e.d.ChainConfig()
	c.PragueTime, c.OsakaTime, c.BogotaTime = nil, nil, nil
	return c
}

// TestBlockHashes: BLOCKHASH through go-ethereum's chain walk (what the
// gas estimator uses) and through the block context (eth_call) gives the
// node's hashes, from the history contract's storage and, before Prague,
// from the Source.
func TestBlockHashes(t *testing.T) {
	e := testEnv(t)
	head := e.head(t)
	n := head.Number.Uint64()
	for name, cfg := range map[string]*params.ChainConfig{"prague": e.d.ChainConfig(), "before prague": preprague(e)} {
		t.Run(name, func(t *testing.T) {
			x, _ := New(Config{Chain: cfg})
			src := newDevSource(e.d.Providers()...)
			r := x.newRun(t.Context(), src, head, &Request{Method: MethodCall})
			walk := core.GetHashFn(head, r.chain)
			for _, k := range []uint64{1, 2, 3, 7, n} {
				want, err := e.eth.HeaderByNumber(t.Context(), new(big.Int).SetUint64(n-k))
				if err != nil {
					t.Fatal(err)
				}
				if got := walk(n - k); got != want.Hash() {
					t.Errorf("walk: hash of %d = %s, want %s", n-k, got, want.Hash())
				}
				if got := r.anc.hash(n - k); got != want.Hash() {
					t.Errorf("block context: hash of %d = %s, want %s", n-k, got, want.Hash())
				}
			}
			for _, k := range []uint64{n, n + 1} {
				if got := walk(k); got != (common.Hash{}) {
					t.Errorf("hash of %d (not an ancestor) = %s, want zero", k, got)
				}
			}
			st := r.reader.Stats()
			if r.reader.Err() != nil {
				t.Fatal(r.reader.Err())
			}
			if pre := name == "before prague"; pre != (st.BlockHashes > 0) {
				t.Errorf("%s: %d Source.BlockHashes calls", name, st.BlockHashes)
			}
			t.Logf("%s: %+v", name, st)
		})
	}
}

// blockingSource blocks Proofs that ask for a storage slot until ctx ends.
type blockingSource struct {
	Source
	blocked chan struct{}
}

func (b *blockingSource) Proofs(ctx context.Context, block *types.Header, qs []Query) ([]Proven, error) {
	for _, q := range qs {
		if len(q.Slots) > 0 {
			close(b.blocked)
			<-ctx.Done()
			return nil, ctx.Err()
		}
	}
	return b.Source.Proofs(ctx, block, qs)
}

func (b *blockingSource) AccessList(context.Context, *types.Header, *TransactionArgs, StateOverride) (types.AccessList, error) {
	return nil, errors.New("no hint")
}

// TestTimeout: eth_call's timeout, on the executor's clock, ends a call
// stuck fetching state with geth's "execution aborted" answer.
func TestTimeout(t *testing.T) {
	e := testEnv(t)
	clk := clock.NewFake(time.Unix(0, 0))
	x, _ := New(Config{Chain: e.d.ChainConfig(), Clock: clk, Timeout: 3 * time.Second})
	src := &blockingSource{Source: newDevSource(e.d.Providers()...), blocked: make(chan struct{})}
	raw, _ := json.Marshal([]any{map[string]any{"to": e.tokens[0], "data": pack(t, e.tokenABI, "balanceOf", e.user)}, "latest"})
	req, _ := ParseRequest(MethodCall, raw)
	errc := make(chan error, 1)
	go func() {
		_, err := x.Do(t.Context(), src, e.head(t), req)
		errc <- err
	}()
	select {
	case <-src.blocked:
	case <-time.After(30 * time.Second):
		t.Fatal("the call never asked for the slot")
	}
	clk.Advance(3 * time.Second)
	select {
	case err := <-errc:
		want := &jsonrpc.Error{Code: -32000, Message: "execution aborted (timeout = 3s)"}
		if got := jsonrpc.FromError(err); got.Code != want.Code || got.Message != want.Message {
			t.Errorf("err = %v, want %v", got, want)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the timeout did not end the call")
	}
}

// TestFetchBudget: a call that needs more fetches on demand than allowed
// fails with -32005, and an empty hint makes a multicall need many.
func TestFetchBudget(t *testing.T) {
	e := testEnv(t)
	x, _ := New(Config{Chain: e.d.ChainConfig(), MaxFetches: 3})
	src := newDevSource(e.d.Providers()...)
	src.tamper = func(_, m string, r json.RawMessage) json.RawMessage {
		if m == "eth_createAccessList" {
			return json.RawMessage(`{"accessList":[],"gasUsed":"0x0"}`)
		}
		return r
	}
	raw, _ := json.Marshal([]any{map[string]any{"to": e.multicall, "data": e.multicallOf(t, e.user, e.tokens)}, "latest"})
	req, _ := ParseRequest(MethodCall, raw)
	res, err := x.Do(t.Context(), src, e.head(t), req)
	var answer *Error
	if !errors.As(err, &answer) || answer.Code != jsonrpc.CodeLimitExceeded {
		t.Fatalf("err = %v, want a -32005 *Error", err)
	}
	if res.Stats.Misses > 3 {
		t.Errorf("%d fetches on demand, budget 3", res.Stats.Misses)
	}
}

// TestConcurrentCalls: calls on one executor and one block at once share
// proven state safely and all get the node's answers.
func TestConcurrentCalls(t *testing.T) {
	e := testEnv(t)
	x := freshExecutor(t, e)
	src := newDevSource(e.d.Providers()...)
	holders := append([]common.Address{e.user}, devnet.Recipients...)
	type job struct {
		method string
		params []any
	}
	var jobs []job
	for _, h := range holders {
		for _, m := range allMethods {
			jobs = append(jobs, job{m, []any{map[string]any{"to": e.tokens[0], "data": pack(t, e.tokenABI, "balanceOf", h)}, "latest"}})
			jobs = append(jobs, job{m, []any{map[string]any{"to": e.multicall, "data": e.multicallOf(t, h, e.tokens)}, "latest"}})
		}
	}
	want := make([]answer, len(jobs))
	for i, j := range jobs {
		want[i] = e.node(t, j.method, j.params...)
	}
	head := e.head(t)
	var wg sync.WaitGroup
	errs := make([]string, len(jobs))
	for i, j := range jobs {
		wg.Go(func() {
			raw, _ := json.Marshal(j.params)
			req, err := ParseRequest(j.method, raw)
			if err != nil {
				errs[i] = err.Error()
				return
			}
			res, err := x.Do(context.Background(), src, head, req)
			got := answer{Result: res.Value}
			if err != nil {
				got = answer{Err: jsonrpc.FromError(err)}
			}
			if !sameAnswer(got, want[i]) {
				errs[i] = "local " + got.String() + ", node " + want[i].String()
			}
		})
	}
	wg.Wait()
	for i, msg := range errs {
		if msg != "" {
			t.Errorf("%s %d: %s", jobs[i].method, i, msg)
		}
	}
}

// TestCacheLimit: proven state that does not fit the block's cache is
// kept for the call alone; answers stay right, and a call whose state did
// not fit is not taken as loaded for the next.
func TestCacheLimit(t *testing.T) {
	e := testEnv(t)
	x, _ := New(Config{Chain: e.d.ChainConfig(), CacheEntries: 3, CodeCacheBytes: 100})
	src := newDevSource(e.d.Providers()...)
	call := map[string]any{"to": e.multicall, "data": e.multicallOf(t, e.user, e.tokens)}
	first, _ := localWith(t, e, x, src, MethodCall, call, "latest")
	second, trips := localWith(t, e, x, src, MethodEstimateGas, call, "latest")
	if trips == 0 || second.Misses != 0 {
		t.Errorf("after an overflow: %d round trips, %+v; want the hint and batch again (first call: %+v)", trips, second, first)
	}
}

// TestErrorCodes: the error types map to the JSON-RPC codes the trust
// stage and clients see.
func TestErrorCodes(t *testing.T) {
	revert := revertError(hexutil.MustDecode("0x08c379a0" +
		"0000000000000000000000000000000000000000000000000000000000000020" +
		"0000000000000000000000000000000000000000000000000000000000000002" +
		"6869000000000000000000000000000000000000000000000000000000000000"))
	cases := []struct {
		err  error
		code int
		msg  string
		data string
	}{
		{revert, 3, "execution reverted: hi", `"0x08c379a0000000000000000000000000000000000000000000000000000000000000002000000000000000000000000000000000000000000000000000000000000000026869000000000000000000000000000000000000000000000000000000000000"`},
		{revertError(nil), 3, "execution reverted", `"0x"`},
		{answerf("out of gas"), -32000, "out of gas", ""},
		{&StateError{Err: errors.New("x")}, jsonrpc.CodeVerificationFailed, "no proven state for the call: x", ""},
		{&StateError{Err: context.DeadlineExceeded}, jsonrpc.CodeTimeout, "no proven state for the call: context deadline exceeded", ""},
		{&StateError{Err: jsonrpc.Errorf(-32041, "all failed").WithData([]int{1})}, -32041, "all failed", "[1]"}, // jsonrpc.FromError keeps a wrapped *jsonrpc.Error as it is
	}
	for _, c := range cases {
		got := jsonrpc.FromError(c.err)
		if got.Code != c.code || got.Message != c.msg || string(got.Data) != c.data {
			t.Errorf("%v: got %d %q %s, want %d %q %s", c.err, got.Code, got.Message, got.Data, c.code, c.msg, c.data)
		}
	}
}

// TestChainConfigs: the presets are go-ethereum's, Holešky's is complete.
func TestChainConfigs(t *testing.T) {
	for id, want := range map[uint64]*params.ChainConfig{1: params.MainnetChainConfig, 11155111: params.SepoliaChainConfig, 560048: params.HoodiChainConfig} {
		if got, err := ChainConfig(id); err != nil || got != want {
			t.Errorf("chain %d: %v %v", id, got, err)
		}
	}
	h, err := ChainConfig(HoleskyChainID)
	if err != nil || h.ChainID.Uint64() != HoleskyChainID || h.OsakaTime == nil || *h.OsakaTime != 1759308480 ||
		h.BlobScheduleConfig == nil || h.BlobScheduleConfig.BPO2 == nil || h.DepositContractAddress != common.HexToAddress("0x4242424242424242424242424242424242424242") {
		t.Errorf("holesky: %+v %v", h, err)
	}
	if err := h.CheckConfigForkOrder(); err != nil {
		t.Errorf("holesky fork order: %v", err)
	}
	if _, err := ChainConfig(1337); err == nil {
		t.Error("a devnet chain id has a preset")
	}
	if _, err := New(Config{}); err == nil {
		t.Error("New without a chain configuration")
	}
	dev, _ := json.Marshal(map[string]any{"config": params.AllDevChainProtocolChanges, "alloc": map[string]any{}})
	if c, err := ParseChainConfig(dev, 1337); err != nil || c.PragueTime == nil || c.ChainID.Uint64() != 1337 {
		t.Errorf("genesis file: %+v %v", c, err)
	}
	bare, _ := json.Marshal(params.SepoliaChainConfig)
	if c, err := ParseChainConfig(bare, SepoliaChainID); err != nil || c.ChainID.Uint64() != SepoliaChainID {
		t.Errorf("bare configuration: %+v %v", c, err)
	}
	for _, bad := range []string{`[`, `{"config":{"chainId":"x"}}`, `{"chainId":5}`, `{}`} {
		if _, err := ParseChainConfig([]byte(bad), SepoliaChainID); err == nil {
			t.Errorf("%s: accepted", bad)
		}
	}
}

// TestDoNeedsItsInputs: Do refuses to run without a Source, a complete
// header or a request, instead of panicking.
func TestDoNeedsItsInputs(t *testing.T) {
	x, _ := New(Config{Chain: devChain()})
	h := &types.Header{Number: big.NewInt(1), Difficulty: new(big.Int)}
	req := &Request{Method: MethodCall}
	src := &fixtureSource{}
	for name, f := range map[string]func() error{
		"source":     func() error { _, err := x.Do(t.Context(), nil, h, req); return err },
		"header":     func() error { _, err := x.Do(t.Context(), src, nil, req); return err },
		"difficulty": func() error { _, err := x.Do(t.Context(), src, &types.Header{Number: big.NewInt(1)}, req); return err },
		"request":    func() error { _, err := x.Do(t.Context(), src, h, nil); return err },
	} {
		if err := f(); !errors.Is(err, errNoBlock) {
			t.Errorf("without a %s: %v", name, err)
		}
	}
	res, err := x.Do(t.Context(), src, h, &Request{Method: "eth_sendTransaction"})
	if got := jsonrpc.FromError(err); got.Code != -32601 || res == nil {
		t.Errorf("another method: %v", got)
	}
}

// TestParseRequestKeepsTheBlock: the block parameter comes back decoded
// and as written.
func TestParseRequestKeepsTheBlock(t *testing.T) {
	req, err := ParseRequest(MethodCall, json.RawMessage(`[{"to":"0x0000000000000000000000000000000000000001"}, {"blockHash":"0x0000000000000000000000000000000000000000000000000000000000000002","requireCanonical":true}]`))
	if err != nil {
		t.Fatal(err)
	}
	if h, ok := req.Block.Hash(); !ok || h != (common.Hash{31: 2}) || !req.Block.RequireCanonical {
		t.Errorf("Block = %+v", req.Block)
	}
	if string(req.BlockParam) != `{"blockHash":"0x0000000000000000000000000000000000000000000000000000000000000002","requireCanonical":true}` {
		t.Errorf("BlockParam = %s", req.BlockParam)
	}
	req, _ = ParseRequest(MethodCall, json.RawMessage(`[{}, null]`))
	if req.Block != nil || req.BlockParam != nil {
		t.Errorf("a null block: %+v %s", req.Block, req.BlockParam)
	}
}
