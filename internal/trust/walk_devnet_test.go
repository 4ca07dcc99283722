package trust

import (
	"context"
	"encoding/json"
	"errors"
	"math/big"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/ethclient"

	"github.com/braidrpc/braid/internal/block"
	"github.com/braidrpc/braid/internal/config"
	"github.com/braidrpc/braid/internal/devnet"
	"github.com/braidrpc/braid/internal/evm"
	"github.com/braidrpc/braid/internal/jsonrpc"
	"github.com/braidrpc/braid/internal/route"
	"github.com/braidrpc/braid/internal/upstream"
)

// countingFetcher counts the round trips a Fetcher makes.
type countingFetcher struct {
	f     Fetcher
	trips atomic.Int64
}

func (c *countingFetcher) Do(ctx context.Context, call route.Call) (*route.Result, error) {
	c.trips.Add(1)
	return c.f.Do(ctx, call)
}

// fixedHeads are the upstreams' heads, for the router: the first one's
// is top, the others' lag (0: 2) below it.
type fixedHeads struct {
	first *upstream.Upstream
	top   uint64
	lag   uint64
}

func (h fixedHeads) Head(u *upstream.Upstream) (uint64, bool) {
	if u == h.first {
		return h.top, true
	}
	if h.lag == 0 {
		return h.top - 2, true
	}
	return h.top - h.lag, true
}

// walkDevnet is a devnet of three providers with blocks 1..tip, an ETH
// transfer in block old+1 (so the user's balance at old is not its
// latest), and readers over its upstreams.
type walkDevnet struct {
	dn  *devnet.Devnet
	ec  *ethclient.Client
	ups []*upstream.Upstream
	tip *types.Header
	// lag is how far the other providers' heads are below the first's,
	// for the router (0: 2).
	lag uint64
}

func newWalkDevnet(t *testing.T, old, blocks int) *walkDevnet {
	t.Helper()
	ctx := context.Background()
	dn, err := devnet.New(ctx, devnet.Options{Providers: 3})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { dn.Close() })
	ec := ethclient.NewClient(dn.RPC())
	key, err := crypto.HexToECDSA(strings.TrimPrefix(devnet.UserKey, "0x"))
	if err != nil {
		t.Fatal(err)
	}
	for i := range blocks {
		if i == old {
			nonce, err := ec.NonceAt(ctx, dn.UserAccount().Address, nil)
			if err != nil {
				t.Fatal(err)
			}
			to := common.HexToAddress("0x000000000000000000000000000000000000dEaD")
			tx, err := types.SignNewTx(key, types.LatestSignerForChainID(new(big.Int).SetUint64(dn.ChainID())), &types.DynamicFeeTx{
				Nonce: nonce, To: &to, Value: big.NewInt(1e15), Gas: 21000, GasFeeCap: big.NewInt(1e11), GasTipCap: big.NewInt(1e9)})
			if err != nil {
				t.Fatal(err)
			}
			if err := ec.SendTransaction(ctx, tx); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := dn.Step(ctx); err != nil {
			t.Fatal(err)
		}
	}
	w := &walkDevnet{dn: dn, ec: ec}
	for _, uc := range dn.Upstreams() {
		u := upstream.New(uc, upstream.Options{Network: "devnet"})
		if err := u.Verify(ctx, dn.ChainID()); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(u.Close)
		w.ups = append(w.ups, u)
	}
	if w.tip, err = ec.HeaderByNumber(ctx, nil); err != nil {
		t.Fatal(err)
	}
	return w
}

// reader trusts the devnet's head, with the history contract's reach cut
// to reach blocks and walks of batch headers, so that the devnet's few
// blocks are reached by walking parent hashes.
func (w *walkDevnet) reader(parentWalk int, reach, batch uint64) (*Reader, *countingFetcher, *lies) {
	f := &countingFetcher{f: route.New(w.ups, route.Options{Network: "devnet", MaxAttempts: 4, ProbeShare: -1,
		Heads: fixedHeads{first: w.ups[0], top: w.tip.Number.Uint64(), lag: w.lag}})}
	l := &lies{}
	r := New(Options{Network: "devnet",
		Verify:  config.Verify{Mode: config.VerifyStrict, HeaderCache: 256, HistoryHops: 1, ParentWalk: parentWalk, MaxLogRange: 16},
		Timeout: 10 * time.Second, Fetch: f, OnLie: l.add,
		Root: fixedRoot{block.Tip{Known: true, Latest: block.Block{Number: w.tip.Number.Uint64(), Hash: w.tip.Hash(), ParentHash: w.tip.ParentHash}}}})
	r.reach, r.walkBatch = reach, batch
	return r, f, l
}

// Blocks beyond the history contract's reach are reached by walking
// parent hashes down from the trusted head: the hash by number, the
// balance and an eth_call at the old block, and BLOCKHASH's hashes equal
// the node's; a provider forging old headers under an honest head is
// caught and struck, and another one serves the walk; a second read
// costs no round trip; a block further back than verify.parent_walk is
// refused, saying why.
func TestWalkOnDevnet(t *testing.T) {
	const old = 3
	w := newWalkDevnet(t, old, 30)
	ctx := context.Background()
	top := w.tip.Number.Uint64()
	// The walk starts at the oldest block the (cut) history contract
	// window names, top-4. The first provider forges every block below
	// top-6, and it alone is known to hold block top-5 (the others' heads
	// are top-6): the first walk step's batch (top-5 down to top-12) is
	// asked of it, links for two headers, then fails to: a lie, not
	// another chain. The rest of the walk is served by the others (or by
	// it, until it lies).
	w.lag = 6
	w.dn.Providers()[0].SetFaults(devnet.Faults{Lie: true, LieMethod: "eth_getBlockByNumber", LieBelow: top - 6})
	r, f, l := w.reader(1000, 4, 8)

	hash, err := r.CanonicalHash(ctx, old)
	if err != nil {
		t.Fatal(err)
	}
	want, err := w.ec.HeaderByNumber(ctx, big.NewInt(old))
	if err != nil {
		t.Fatal(err)
	}
	if hash != want.Hash() {
		t.Fatalf("hash of block %d = %s, the node's is %s", old, hash.Hex(), want.Hash().Hex())
	}
	l.mu.Lock()
	struck := append([]string(nil), l.ops...)
	l.mu.Unlock()
	if len(struck) == 0 || struck[0] != w.ups[0].Operator {
		t.Fatalf("struck %v, want the forging provider %s", struck, w.ups[0].Operator)
	}
	for _, op := range struck {
		if op != w.ups[0].Operator {
			t.Fatalf("an honest provider (%s) was struck", op)
		}
	}

	// A second read over the walked blocks costs nothing (BLOCKHASH from
	// the block the walk started at, and a hash by number).
	trips := f.trips.Load()
	start, err := r.CanonicalHash(ctx, top-4)
	if err != nil {
		t.Fatal(err)
	}
	hashes, err := r.EVMSource().BlockHashes(ctx, mustHeader(t, r, start), []uint64{old, old + 1, top - 5, top - 7})
	if err != nil {
		t.Fatal(err)
	}
	for i, num := range []uint64{old, old + 1, top - 5, top - 7} {
		h, err := w.ec.HeaderByNumber(ctx, new(big.Int).SetUint64(num))
		if err != nil {
			t.Fatal(err)
		}
		if hashes[i] != h.Hash() {
			t.Fatalf("BLOCKHASH(%d) = %s, the node's is %s", num, hashes[i].Hex(), h.Hash().Hex())
		}
	}
	if again, err := r.CanonicalHash(ctx, old+2); err != nil || f.trips.Load() != trips {
		t.Fatalf("a second read cost %d round trips (%s, %v), want none: headers are cached", f.trips.Load()-trips, again.Hex(), err)
	}

	// State at the old block, proven against the walked header's root.
	h, err := r.Header(ctx, hash)
	if err != nil {
		t.Fatal(err)
	}
	user := w.dn.UserAccount().Address
	acct, err := r.Account(ctx, h, user, nil)
	if err != nil {
		t.Fatal(err)
	}
	balance, err := w.ec.BalanceAt(ctx, user, big.NewInt(old))
	if err != nil {
		t.Fatal(err)
	}
	latest, _ := w.ec.BalanceAt(ctx, user, nil)
	if acct.Balance.Cmp(balance) != 0 || balance.Cmp(latest) == 0 {
		t.Fatalf("balance at %d = %s, the node's %s (latest %s)", old, acct.Balance, balance, latest)
	}
	w.checkCall(t, r, h)

	// Further back than verify.parent_walk: refused, naming why.
	r2, _, _ := w.reader(5, 4, 8)
	_, err = r2.CanonicalHash(ctx, old)
	var rpcErr *jsonrpc.Error
	if !errors.As(err, &rpcErr) || rpcErr.Code != jsonrpc.CodeUnverifiable || !strings.Contains(rpcErr.Message, "verify.parent_walk = 5") {
		t.Fatalf("block %d, %d below the trusted head with parent_walk 5: %v", old, top-old, err)
	}
}

// checkCall runs eth_call (the token's balanceOf and the block number)
// on the local EVM at h and compares it with the node's.
func (w *walkDevnet) checkCall(t *testing.T, r *Reader, h *types.Header) {
	t.Helper()
	ctx := context.Background()
	ex, err := evm.New(evm.Config{Chain: w.dn.ChainConfig()})
	if err != nil {
		t.Fatal(err)
	}
	data := append(crypto.Keccak256([]byte("balanceOf(address)"))[:4], common.LeftPadBytes(w.dn.UserAccount().Address.Bytes(), 32)...)
	msg := map[string]any{"to": w.dn.Token(), "data": hexutil.Bytes(data)}
	params, _ := json.Marshal([]any{msg, map[string]any{"blockHash": h.Hash()}})
	req, err := evm.ParseRequest(evm.MethodCall, params)
	if err != nil {
		t.Fatal(err)
	}
	res, err := ex.Do(ctx, r.EVMSource(), h, req)
	if err != nil {
		t.Fatal(err)
	}
	var got hexutil.Bytes
	if err := json.Unmarshal(res.Value, &got); err != nil {
		t.Fatal(err)
	}
	to := w.dn.Token()
	want, err := w.ec.CallContract(ctx, ethereumCall(to, data), h.Number)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != string(want) || len(want) != 32 {
		t.Fatalf("eth_call at block %d: %x, the node's %x", h.Number, got, want)
	}
}

func mustHeader(t *testing.T, r *Reader, hash common.Hash) *types.Header {
	t.Helper()
	h, err := r.Header(context.Background(), hash)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func ethereumCall(to common.Address, data []byte) ethereum.CallMsg {
	return ethereum.CallMsg{To: &to, Data: data}
}
