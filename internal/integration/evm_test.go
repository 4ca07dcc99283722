package integration

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/big"
	"net/http"
	"strings"
	"testing"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/ethclient"
	"github.com/ethereum/go-ethereum/params"

	"github.com/braidrpc/braid/internal/devnet"
)

// blockInfo is runtime code returning NUMBER, TIMESTAMP, GASLIMIT,
// COINBASE, PREVRANDAO and BASEFEE as six words.
var blockInfo = func() hexutil.Bytes {
	var code []byte
	for i, op := range []byte{0x43, 0x42, 0x45, 0x41, 0x44, 0x48} {
		code = append(code, op, 0x60, byte(32*i), 0x52)
	}
	return append(code, 0x60, 0xc0, 0x5f, 0xf3)
}()

type evmCase struct {
	name      string
	call      map[string]any
	state     map[string]any // state overrides
	overrides map[string]any // block overrides (eth_call, eth_estimateGas only)
	anyBlock  bool           // also by number and by hash
}

func evmCases(t testing.TB, e *evmEnv, head uint64) []evmCase {
	var (
		tok       = e.tokens[0]
		user      = e.s.user
		recipient = common.HexToAddress("0x000000000000000000000000000000000000dEaD")
		fresh     = common.HexToAddress("0x00000000000000000000000000000000000c0de0")
		one       = big.NewInt(params.Ether)
		huge      = new(big.Int).Lsh(big.NewInt(1), 200)
	)
	transfer := func(v *big.Int) hexutil.Bytes { return e.pack(t, e.tokenABI, "transfer", recipient, v) }
	blockHash := func(n uint64) hexutil.Bytes { return e.pack(t, e.multiABI, "getBlockHash", new(big.Int).SetUint64(n)) }
	balanceOf := e.pack(t, e.tokenABI, "balanceOf", user)
	// balanceOf[who] of Token is at keccak(who . 3).
	slot := keccak(append(common.LeftPadBytes(user[:], 32), common.LeftPadBytes([]byte{3}, 32)...))
	return []evmCase{
		{name: "ERC-20 balanceOf", call: map[string]any{"to": tok, "data": balanceOf}, anyBlock: true},
		{name: "ERC-20 transfer", call: map[string]any{"from": user, "to": tok, "data": transfer(one)}, anyBlock: true},
		{name: "ERC-20 transfer reverts", call: map[string]any{"from": user, "to": tok, "data": transfer(huge)}, anyBlock: true},
		{name: "ETH transfer", call: map[string]any{"from": user, "to": recipient, "value": (*hexutil.Big)(one)}},
		{name: "contract creation", call: map[string]any{"from": user, "data": hexutil.Bytes(e.tokenInit)}},
		{name: "multicall of 10 tokens", call: map[string]any{"to": e.multicall, "data": e.multicallOf(t, user)}, anyBlock: true},
		{name: "BLOCKHASH 2 back", call: map[string]any{"to": e.multicall, "data": blockHash(head - 2)}, anyBlock: true},
		{name: "BLOCKHASH 9 back", call: map[string]any{"to": e.multicall, "data": blockHash(head - 9)}, anyBlock: true},
		{name: "state override", call: map[string]any{"to": tok, "data": balanceOf},
			state: map[string]any{tok.Hex(): map[string]any{"stateDiff": map[string]any{slot.Hex(): common.BigToHash(big.NewInt(42))}}}, anyBlock: true},
		{name: "code override and block overrides", call: map[string]any{"to": fresh},
			state: map[string]any{fresh.Hex(): map[string]any{"code": blockInfo}},
			overrides: map[string]any{"number": hexutil.Uint64(head + 100), "time": hexutil.Uint64(1 << 40),
				"feeRecipient": recipient, "baseFeePerGas": "0x7"}, anyBlock: true},
	}
}

// TestLocalEVMEqualsTheChain: eth_call, eth_estimateGas and
// eth_createAccessList through strict braid (the local EVM over proven
// state) answer what the chain's node answers, results and errors member
// for member, at latest, by number and by hash; no honest operator is
// struck.
func TestLocalEVMEqualsTheChain(t *testing.T) {
	e := newEVMEnv(t)
	ec := ethclient.NewClient(e.s.dn.RPC())
	head, err := ec.HeaderByNumber(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	n := head.Number.Uint64()
	blocks := []any{"latest", hexutil.Uint64(n - 3), map[string]any{"blockHash": head.ParentHash}}
	for _, c := range evmCases(t, e, n) {
		for _, m := range []string{"eth_call", "eth_estimateGas", "eth_createAccessList"} {
			if m == "eth_createAccessList" && c.overrides != nil {
				continue
			}
			for i, b := range blocks {
				if i > 0 && !c.anyBlock {
					break
				}
				params := []any{c.call, b}
				if c.state != nil {
					params = append(params, c.state)
				}
				if c.overrides != nil {
					params = append(params, c.overrides)
				}
				got := call(t, e.s.rpc, m, params...)
				want := call(t, e.s.dn.RPC(), m, params...)
				if got.Code != want.Code || got.Msg != want.Msg || got.Data != want.Data || !bytes.Equal(got.Result, want.Result) {
					t.Errorf("%s %s at %v: braid answers\n%s\nthe node answers\n%s", c.name, m, b, got, want)
				}
			}
		}
	}
	for _, op := range e.s.gw.Status().Networks[0].Operators {
		if op.Strikes > 0 {
			t.Errorf("honest operator %s struck", op.Name)
		}
	}
}

// TestLocalEVMSurvivesThreeLiars: three of four providers lie about
// state (balances in proofs), storage (slot values in proofs), code and
// access lists; every call still answers what the chain says, and the
// operators whose proofs or code lied are struck. A lying access list
// costs round trips only, and strikes nobody.
func TestLocalEVMSurvivesThreeLiars(t *testing.T) {
	// Half the calls try a random operator first, so every liar is asked
	// (with the default share the fastest honest one could answer every
	// call and a liar never be asked: the test failed so once).
	e := newEVMEnvWith(t, 0.5)
	head := e.s.tip().Latest.Number
	cases := evmCases(t, e, head)
	e.s.dn.Provider("p2").SetFaults(devnet.Faults{Lie: true})                          // balances, code, access lists
	e.s.dn.Provider("p3").SetFaults(devnet.Faults{Lie: true, LieVariant: 2})           // storage, code, access lists
	e.s.dn.Provider("p4").SetFaults(devnet.Faults{Lie: true, LieKind: devnet.LieDrop}) // access lists drop an entry
	for round := range 2 {
		for _, c := range cases {
			for _, m := range []string{"eth_call", "eth_estimateGas"} {
				params := []any{c.call, "latest"}
				if c.state != nil {
					params = append(params, c.state)
				}
				if c.overrides != nil {
					params = append(params, c.overrides)
				}
				got := call(t, e.s.rpc, m, params...)
				want := call(t, e.s.dn.RPC(), m, params...)
				if got.String() != want.String() {
					t.Errorf("round %d, %s %s: braid answers\n%s\nthe chain says\n%s", round, c.name, m, got, want)
				}
			}
		}
	}
	caught := map[string]bool{}
	struck := func() bool {
		for _, op := range e.s.gw.Status().Networks[0].Operators {
			caught[op.Name] = op.Strikes > 0 || op.QuarantinedUntil != nil
		}
		return caught["operator-2"] && caught["operator-3"]
	}
	// Code reads of every token at every recent block: each needs a new
	// proof, and both liars lie about code, so each liar is asked (and
	// caught) within a few of them. Bounded: at most every pair once.
	for back := uint64(0); back < 10 && !struck(); back++ {
		for _, tok := range e.tokens {
			at := hexutil.EncodeUint64(head - back)
			got, want := call(t, e.s.rpc, "eth_getCode", tok, at), call(t, e.s.dn.RPC(), "eth_getCode", tok, at)
			if got.String() != want.String() {
				t.Errorf("eth_getCode %s at %s: braid answers %s, the chain %s", tok, at, got, want)
			}
		}
	}
	if caught["operator-1"] || caught["operator-4"] {
		t.Errorf("an operator whose proofs were honest was struck: %v", caught)
	}
	if !caught["operator-2"] || !caught["operator-3"] {
		t.Errorf("operators whose proofs lied were not struck: %v", caught)
	}
}

// TestLocalEVMRoundTrips: with the block's header cached, a multicall of
// 10 token balances costs at most 3 upstream round trips (the access-list
// hint, one batch of proofs and code), and eth_estimateGas of the same
// call afterwards costs none.
func TestLocalEVMRoundTrips(t *testing.T) {
	e := newEVMEnv(t)
	latest := e.s.tip().Latest
	at := map[string]any{"blockHash": latest.Hash}
	// Caches the header (and proves an account the multicall never reads).
	if a := call(t, e.s.rpc, "eth_getBalance", common.HexToAddress("0x00000000000000000000000000000000000000aa"), at); a.Code != 0 {
		t.Fatal(a)
	}
	multicall := map[string]any{"to": e.multicall, "data": e.multicallOf(t, e.s.user)}
	r0, _ := e.count.snapshot()
	got := call(t, e.s.rpc, "eth_call", multicall, at)
	r1, _ := e.count.snapshot()
	if want := call(t, e.s.dn.RPC(), "eth_call", multicall, at); got.String() != want.String() {
		t.Fatalf("multicall: braid %s, chain %s", got, want)
	}
	trips := r1 - r0
	t.Logf("a 10-token multicall: %d upstream round trips (%v)", trips, e.count.methodCounts())
	if trips > 3 || trips < 1 {
		t.Errorf("a 10-token multicall cost %d upstream round trips, want at most 3 (%v)", trips, e.count.methodCounts())
	}
	call(t, e.s.rpc, "eth_estimateGas", multicall, at)
	r2, _ := e.count.snapshot()
	if r2 != r1 {
		t.Errorf("eth_estimateGas after eth_call cost %d round trips, want 0", r2-r1)
	}
	// The multicall of a holder never read: its slots derived from the
	// new arguments go out as one batch beside the hint, which adds
	// nothing: 2 requests, 1 round trip in time.
	other := map[string]any{"to": e.multicall, "data": e.multicallOf(t, common.HexToAddress("0x00000000000000000000000000000000000a11ce"))}
	m0 := e.count.methodCounts()
	got = call(t, e.s.rpc, "eth_call", other, at)
	r3, _ := e.count.snapshot()
	if want := call(t, e.s.dn.RPC(), "eth_call", other, at); got.String() != want.String() {
		t.Fatalf("multicall of another holder: braid %s, chain %s", got, want)
	}
	m1 := e.count.methodCounts()
	if r3-r2 != 2 || m1["eth_createAccessList"]-m0["eth_createAccessList"] != 1 {
		t.Errorf("the multicall of another holder cost %d requests (%v before, %v after), want 2: the hint and one batch beside it", r3-r2, m0, m1)
	}
}

// TestStrictPendingAndFees: the pending nonce counts the operators'
// pooled transactions and is never below the proven nonce; eth_call on
// "pending" runs on the trusted tip; fee methods answer what the node
// answers, base fees from verified headers; each answer that is not fully
// proven carries Braid-Proof naming why, and proven ones do not.
func TestStrictPendingAndFees(t *testing.T) {
	e := newEVMEnv(t)
	ctx := context.Background()
	ec := ethclient.NewClient(e.s.dn.RPC())
	// A transaction in the pool: the pending nonce is one above latest.
	nonce, err := ec.NonceAt(ctx, e.s.user, nil)
	if err != nil {
		t.Fatal(err)
	}
	e.sendETH(t, nonce)
	for _, c := range []struct {
		method string
		params []any
		proof  string // Braid-Proof's prefix; "" for none
	}{
		{"eth_getTransactionCount", []any{e.s.user, "pending"}, "partial; reason=\"the pending nonce is the operators' count"},
		{"eth_getTransactionCount", []any{e.s.user, "latest"}, ""},
		{"eth_gasPrice", nil, "partial; reason=\"the base fee is the trusted tip's"},
		{"eth_maxPriorityFeePerGas", nil, "partial"},
		{"eth_blobBaseFee", nil, ""},
		{"eth_feeHistory", []any{"0x4", "latest", []float64{10, 50, 90}}, "partial; reason=\"the rewards are the operators' median"},
		{"eth_feeHistory", []any{"0x3", "pending", []float64{}}, ""},
		{"eth_feeHistory", []any{"0x3", "latest"}, ""}, // geth: rewardPercentiles is required
		{"eth_call", []any{map[string]any{"to": e.tokens[0], "data": e.pack(t, e.tokenABI, "balanceOf", e.s.user)}, "pending"}, "partial; reason=\"\\\"pending\\\" ran on the trusted latest block"},
		{"eth_getCode", []any{e.tokens[0], "pending"}, "partial; reason=\"\\\"pending\\\" was read at the trusted latest block"},
		{"eth_getBalance", []any{e.multicall, "pending"}, "partial"},
		{"net_version", nil, "none"},
	} {
		got, hdr := e.post(t, c.method, c.params)
		want := call(t, e.s.dn.RPC(), c.method, c.params...)
		if c.method == "eth_feeHistory" && c.params[1] == "pending" {
			// The node answers "pending" with the pending block; braid's
			// newest block is its trusted tip.
			want = call(t, e.s.dn.RPC(), c.method, c.params[0], "latest", c.params[2])
		}
		if got.String() != want.String() {
			t.Errorf("%s %v: braid answers %s, the node %s", c.method, c.params, got, want)
		}
		if !strings.HasPrefix(hdr, c.proof) || (c.proof == "" && hdr != "") {
			t.Errorf("%s %v: Braid-Proof %q, want %q…", c.method, c.params, hdr, c.proof)
		}
	}
}

// sendETH sends 1 wei from the user at nonce to the pool (not mined).
func (e *evmEnv) sendETH(t *testing.T, nonce uint64) {
	t.Helper()
	raw := e.signedTransfer(t, nonce)
	if a := call(t, e.s.dn.RPC(), "eth_sendRawTransaction", hexutil.Bytes(raw)); a.Code != 0 {
		t.Fatal(a)
	}
}

// post sends one call to braid over HTTP and returns its answer and its
// Braid-Proof header.
func (e *evmEnv) post(t *testing.T, method string, params []any) (answer, string) {
	t.Helper()
	if params == nil {
		params = []any{}
	}
	body, _ := json.Marshal(map[string]any{"jsonrpc": "2.0", "id": 1, "method": method, "params": params})
	resp, err := http.Post(e.s.url, "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out struct {
		Result json.RawMessage `json:"result"`
		Error  *struct {
			Code    int             `json:"code"`
			Message string          `json:"message"`
			Data    json.RawMessage `json:"data"`
		} `json:"error"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		t.Fatal(err)
	}
	a := answer{Result: out.Result}
	if out.Error != nil {
		var data any
		_ = json.Unmarshal(out.Error.Data, &data)
		a = answer{Code: out.Error.Code, Msg: out.Error.Message}
		if data != nil {
			a.Data = fmt.Sprint(data)
		}
	}
	return a, resp.Header.Get("Braid-Proof")
}
