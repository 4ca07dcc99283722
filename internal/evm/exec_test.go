package evm

import (
	"fmt"
	"math/big"
	"slices"
	"testing"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/params"

	"github.com/braidrpc/braid/internal/devnet"
)

// blockInfo is runtime code that returns NUMBER, TIMESTAMP, GASLIMIT,
// COINBASE, PREVRANDAO, BASEFEE and BLOBBASEFEE as seven words, written
// by hand: for each opcode, <op> PUSH1 32*i MSTORE; then PUSH1 224 PUSH0
// RETURN.
var blockInfo = func() hexutil.Bytes {
	var code []byte
	for i, op := range []byte{0x43, 0x42, 0x45, 0x41, 0x44, 0x48, 0x4a} {
		code = append(code, op, 0x60, byte(32*i), 0x52)
	}
	return append(code, 0x60, 0xe0, 0x5f, 0xf3)
}()

var allMethods = []string{MethodCall, MethodEstimateGas, MethodCreateAccessList}

// localCase is one call compared between the node and the local EVM.
type localCase struct {
	name      string
	call      map[string]any
	state     map[string]any // state overrides; nil for none
	overrides map[string]any // block overrides; nil for none (then eth_createAccessList too)
	methods   []string       // nil: all three
	anyBlock  bool           // also at a block by number and by hash
}

// balanceSlot is the storage slot of balanceOf[who] in Token (mapping at
// slot 3: name, symbol, totalSupply come first).
func balanceSlot(who common.Address) common.Hash {
	return keccak(append(common.LeftPadBytes(who[:], 32), common.LeftPadBytes([]byte{3}, 32)...))
}

// ecrecoverInput is the input of the ecrecover precompile for a digest
// signed by the user.
func ecrecoverInput(t *testing.T, e *env) hexutil.Bytes {
	digest := keccak([]byte("braid"))
	sig, err := crypto.Sign(digest[:], e.key)
	if err != nil {
		t.Fatal(err)
	}
	in := append(digest.Bytes(), common.LeftPadBytes([]byte{sig[64] + 27}, 32)...)
	return append(in, sig[:64]...)
}

func localCases(t *testing.T, e *env, head uint64) []localCase {
	var (
		tok       = e.tokens[0]
		recipient = devnet.Recipients[0]
		poor      = common.HexToAddress("0x00000000000000000000000000000000000bad00")
		fresh     = common.HexToAddress("0x00000000000000000000000000000000000c0de0")
		moved     = common.HexToAddress("0x000000000000000000000000000000000000beef")
		oneToken  = big.NewInt(params.Ether)
		huge      = new(big.Int).Lsh(big.NewInt(1), 200)
		gwei      = (*hexutil.Big)(big.NewInt(params.GWei))
	)
	blockHash := func(n uint64) hexutil.Bytes { return pack(t, e.multiABI, "getBlockHash", new(big.Int).SetUint64(n)) }
	transfer := func(to common.Address, v *big.Int) hexutil.Bytes { return pack(t, e.tokenABI, "transfer", to, v) }
	balanceOf := pack(t, e.tokenABI, "balanceOf", e.user)
	auth := e.authorization(t, e.multicall)
	return []localCase{
		{name: "balanceOf", call: map[string]any{"to": tok, "data": balanceOf}, anyBlock: true},
		{name: "balanceOf as input", call: map[string]any{"to": tok, "input": balanceOf}, anyBlock: true},
		{name: "transfer", call: map[string]any{"from": e.user, "to": tok, "data": transfer(recipient, oneToken)}, anyBlock: true},
		{name: "transfer reverts", call: map[string]any{"from": e.user, "to": tok, "data": transfer(recipient, huge)}, anyBlock: true},
		{name: "transfer to zero reverts", call: map[string]any{"from": e.user, "to": tok, "data": transfer(common.Address{}, oneToken)}},
		{name: "out of gas", call: map[string]any{"from": e.user, "to": tok, "data": transfer(recipient, oneToken), "gas": hexutil.Uint64(24_000)}},
		{name: "ETH transfer", call: map[string]any{"from": e.user, "to": recipient, "value": (*hexutil.Big)(oneToken)}, anyBlock: true},
		{name: "ETH transfer without funds", call: map[string]any{"from": poor, "to": recipient, "value": (*hexutil.Big)(oneToken)}},
		{name: "1559 fees", call: map[string]any{"from": e.user, "to": tok, "data": transfer(recipient, oneToken),
			"maxFeePerGas": (*hexutil.Big)(new(big.Int).Mul(gwei.ToInt(), big.NewInt(50))), "maxPriorityFeePerGas": gwei}},
		{name: "gas price", call: map[string]any{"from": e.user, "to": tok, "data": transfer(recipient, oneToken), "gasPrice": gwei}},
		{name: "fee without funds", call: map[string]any{"from": poor, "to": tok, "data": balanceOf, "gasPrice": gwei}},
		{name: "max fee only", call: map[string]any{"from": e.user, "to": tok, "data": balanceOf,
			"maxFeePerGas": (*hexutil.Big)(new(big.Int).Mul(gwei.ToInt(), big.NewInt(50)))}},
		{name: "contract creation", call: map[string]any{"from": e.user, "data": hexutil.Bytes(e.tokenInit)}, anyBlock: true},
		{name: "multicall of 10 tokens", call: map[string]any{"to": e.multicall, "data": e.multicallOf(t, e.user, e.tokens)}, anyBlock: true},
		{name: "multicall reverts", call: map[string]any{"to": e.multicall,
			"data": pack(t, e.multiABI, "aggregate", []struct {
				Target   common.Address
				CallData []byte
			}{{tok, transfer(recipient, oneToken)}})}},
		{name: "BLOCKHASH of the parent", call: map[string]any{"to": e.multicall, "data": blockHash(head - 1)}, anyBlock: true},
		{name: "BLOCKHASH 2 back", call: map[string]any{"to": e.multicall, "data": blockHash(head - 2)}, anyBlock: true},
		{name: "BLOCKHASH 9 back", call: map[string]any{"to": e.multicall, "data": blockHash(head - 9)}, anyBlock: true},
		{name: "BLOCKHASH of genesis", call: map[string]any{"to": e.multicall, "data": blockHash(0)}},
		{name: "BLOCKHASH of the head", call: map[string]any{"to": e.multicall, "data": blockHash(head)}, anyBlock: true},
		{name: "BLOCKHASH ahead", call: map[string]any{"to": e.multicall, "data": blockHash(head + 3)}},
		{name: "state diff", call: map[string]any{"to": tok, "data": balanceOf},
			state: map[string]any{tok.Hex(): map[string]any{"stateDiff": map[string]any{balanceSlot(e.user).Hex(): common.BigToHash(big.NewInt(42))}}}, anyBlock: true},
		{name: "state replaced", call: map[string]any{"to": tok, "data": balanceOf},
			state: map[string]any{tok.Hex(): map[string]any{"state": map[string]any{balanceSlot(recipient).Hex(): common.BigToHash(big.NewInt(7))}}}},
		{name: "balance and nonce overridden, creation", call: map[string]any{"from": poor, "data": hexutil.Bytes(e.tokenInit)},
			state: map[string]any{poor.Hex(): map[string]any{"balance": "0xde0b6b3a7640000", "nonce": "0x7"}}},
		{name: "code overridden", call: map[string]any{"to": fresh},
			state: map[string]any{fresh.Hex(): map[string]any{"code": blockInfo}}, anyBlock: true},
		{name: "precompile moved", call: map[string]any{"to": moved, "data": ecrecoverInput(t, e)},
			state: map[string]any{"0x0000000000000000000000000000000000000001": map[string]any{"movePrecompileToAddress": moved}}},
		{name: "state and stateDiff", call: map[string]any{"to": tok, "data": balanceOf},
			state: map[string]any{tok.Hex(): map[string]any{"state": map[string]any{}, "stateDiff": map[string]any{}}}},
		{name: "block overridden", call: map[string]any{"to": fresh},
			state: map[string]any{fresh.Hex(): map[string]any{"code": blockInfo}},
			overrides: map[string]any{"number": hexutil.Uint64(head + 100), "time": hexutil.Uint64(1 << 40), "gasLimit": "0x1c9c380",
				"feeRecipient": recipient, "prevRandao": keccak([]byte("randao")), "baseFeePerGas": "0x7", "blobBaseFee": "0x3"}, anyBlock: true},
		{name: "block override names geth does not know", call: map[string]any{"to": fresh},
			state:     map[string]any{fresh.Hex(): map[string]any{"code": blockInfo}},
			overrides: map[string]any{"coinbase": recipient, "baseFee": "0x7", "Number": "0x5", "DIFFICULTY": "0x9"}},
		{name: "BLOCKHASH with the number overridden", call: map[string]any{"to": e.multicall, "data": blockHash(head - 2)},
			overrides: map[string]any{"number": hexutil.Uint64(head + 3)}},
		{name: "beaconRoot overridden", call: map[string]any{"to": tok, "data": balanceOf},
			overrides: map[string]any{"beaconRoot": common.Hash{1}}, methods: []string{MethodCall}},
		{name: "blob fee cap without blobs", call: map[string]any{"to": tok, "maxFeePerBlobGas": "0x1"}},
		{name: "blob call", call: map[string]any{"from": e.user, "to": tok, "data": balanceOf,
			"blobVersionedHashes": []common.Hash{{1}}, "maxFeePerBlobGas": "0x3b9aca00"}},
		{name: "gasPrice and maxFeePerGas", call: map[string]any{"to": tok, "gasPrice": "0x1", "maxFeePerGas": "0x2"}},
		{name: "chain id mismatch", call: map[string]any{"to": tok, "chainId": "0x1"}},
		{name: "access list given", call: map[string]any{"from": e.user, "to": tok, "data": balanceOf,
			"accessList": types.AccessList{{Address: e.multicall, StorageKeys: []common.Hash{{2}}}}}},
		{name: "authorization list", call: map[string]any{"from": e.user, "to": e.user, "data": pack(t, e.multiABI, "getEthBalance", e.user),
			"authorizationList": []types.SetCodeAuthorization{auth}}},
	}
}

// authorization is the user's EIP-7702 delegation to target, valid in a
// call the user sends (its nonce is the one after the call's).
func (e *env) authorization(t *testing.T, target common.Address) types.SetCodeAuthorization {
	nonce, err := e.eth.NonceAt(t.Context(), e.user, nil)
	if err != nil {
		t.Fatal(err)
	}
	auth, err := types.SignSetCode(e.key, types.SetCodeAuthorization{
		ChainID: *uint256From(e.d.ChainID()), Address: target, Nonce: nonce + 1,
	})
	if err != nil {
		t.Fatal(err)
	}
	return auth
}

// TestLocalEqualsNode runs each case through the node and through the
// local EVM (state from devnet providers, every proof checked) and wants
// the same answer: result bytes, or error code, message and data.
func TestLocalEqualsNode(t *testing.T) {
	e := testEnv(t)
	head := e.head(t)
	n := head.Number.Uint64()
	byNumber := hexutil.Uint64(n - 3)
	byHash := map[string]any{"blockHash": e.resolve(t, nil).ParentHash}
	src := newDevSource(e.d.Providers()...)
	for _, c := range localCases(t, e, n) {
		blocks := []any{"latest"}
		if c.anyBlock {
			blocks = append(blocks, byNumber, byHash)
		}
		methods := c.methods
		if methods == nil {
			methods = allMethods
		}
		for _, m := range methods {
			if m == MethodCreateAccessList && c.overrides != nil {
				continue
			}
			for _, b := range blocks {
				params := []any{c.call, b}
				if c.state != nil || (c.overrides != nil && m != MethodCreateAccessList) {
					params = append(params, c.state)
				}
				if c.overrides != nil {
					params = append(params, c.overrides)
				}
				t.Run(fmt.Sprintf("%s/%s/%v", c.name, m, b), func(t *testing.T) {
					want := e.node(t, m, params...)
					got, _ := e.local(t, src, m, params...)
					if !sameAnswer(got, want) {
						t.Errorf("local EVM answers\n%s\nnode answers\n%s", got, want)
					}
				})
			}
		}
	}
	for _, p := range e.d.Providers() {
		if n := src.struck(p.Name); n != 0 {
			t.Errorf("honest provider %s struck %d times", p.Name, n)
		}
	}
}

// TestParamErrors: malformed parameters get geth's own errors, with no
// round trip.
func TestParamErrors(t *testing.T) {
	e := testEnv(t)
	src := newDevSource(e.d.Providers()...)
	tok := e.tokens[0]
	cases := [][]any{
		nil,
		{nil},
		{map[string]any{"to": tok}, "latest", nil, nil, nil},
		{map[string]any{"to": tok, "gas": "0xzz"}},
		{map[string]any{"to": tok, "gas": 5}},
		{map[string]any{"to": "0x12"}},
		{map[string]any{"to": tok}, "latest", map[string]any{tok.Hex(): map[string]any{"balance": "1"}}},
		{map[string]any{"to": tok}, "latest", nil, map[string]any{"number": "0xg"}},
		{"a string"},
		{map[string]any{"to": tok}, "latest", "a string"},
		{map[string]any{"to": tok}, "latest", map[string]any{tok.Hex(): "a string"}},
		{map[string]any{"to": tok}, "latest", nil, "a string"},
		{map[string]any{"to": tok}, "0x"},
		{map[string]any{"to": tok}, map[string]any{"blockHash": "0x1"}},
	}
	for _, params := range cases {
		for _, m := range allMethods {
			if len(params) == 5 && m == MethodCreateAccessList {
				params = params[:4]
			}
			want := e.node(t, m, params...)
			got, stats := e.local(t, src, m, params...)
			if !sameAnswer(got, want) {
				t.Errorf("%s %v: local EVM answers\n%s\nnode answers\n%s", m, params, got, want)
			}
			if stats.RoundTrips() != 0 {
				t.Errorf("%s %v: %d round trips for a malformed call", m, params, stats.RoundTrips())
			}
		}
	}
	if got := slices.Contains(allMethods, "eth_sendTransaction"); got {
		t.Fatal("unexpected method")
	}
}
