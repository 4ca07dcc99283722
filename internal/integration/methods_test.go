package integration

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/big"
	"strings"
	"testing"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/ethclient"
	"github.com/ethereum/go-ethereum/rpc"
)

// TestAnswersEqualTheProvidersOwn checks the core method table: for each
// method, braid's answer is byte for byte the answer a provider gives when
// asked directly, pinned to the same block.
func TestAnswersEqualTheProvidersOwn(t *testing.T) {
	s := newStack(t, 3)
	ctx := context.Background()
	for i := 0; i < 3; i++ {
		if _, err := s.dn.Step(ctx); err != nil {
			t.Fatal(err)
		}
	}
	s.waitTip(t)
	direct := s.provider(t, "p2")
	ec := ethclient.NewClient(direct)
	head, err := ec.BlockByNumber(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(head.Transactions()) == 0 {
		t.Fatal("the head block has no transactions; Step should have sent some")
	}
	num := hexutil.EncodeUint64(head.NumberU64())
	tx := head.Transactions()[len(head.Transactions())-1]
	user := s.dn.Info().Account.Address
	token := s.dn.Info().Token
	balanceOf := "0x70a08231" + strings.Repeat("0", 24) + strings.TrimPrefix(strings.ToLower(user.Hex()), "0x")
	transfer := "0xa9059cbb" + strings.Repeat("0", 24) + strings.Repeat("11", 20) + fmt.Sprintf("%064x", 1)
	callObj := map[string]any{"to": token, "data": balanceOf}
	estObj := map[string]any{"from": user, "to": token, "data": transfer}

	cases := []struct {
		method string
		params []any
	}{
		{"eth_chainId", nil},
		{"eth_blockNumber", nil},
		{"eth_getBalance", []any{user, num}},
		{"eth_getBalance", []any{common.HexToAddress("0x00000000000000000000000000000000000000aa"), num}}, // absent account
		{"eth_getBlockByNumber", []any{num, true}},
		{"eth_getBlockByNumber", []any{num, false}},
		{"eth_getBlockByHash", []any{head.Hash(), true}},
		{"eth_getTransactionByHash", []any{tx.Hash()}},
		{"eth_getTransactionByHash", []any{common.HexToHash("0x01")}}, // unknown: null
		{"eth_getTransactionReceipt", []any{tx.Hash()}},
		{"eth_getLogs", []any{map[string]any{"fromBlock": "0x0", "toBlock": num, "address": token}}},
		{"eth_call", []any{callObj, num}},
		{"eth_estimateGas", []any{estObj, num}},
		{"eth_getCode", []any{token, num}},
		{"eth_getCode", []any{user, num}}, // an account without code: "0x"
		{"eth_getStorageAt", []any{token, "0x0", num}},
		{"eth_getStorageAt", []any{token, "0x2", num}},
		{"eth_getTransactionCount", []any{user, num}},
		{"eth_gasPrice", nil},
		{"eth_feeHistory", []any{"0x3", num, []int{25, 75}}},
		{"eth_getProof", []any{token, []string{"0x0", "0x2"}, num}},
		{"eth_getProof", []any{user, []string{}, head.Hash()}},
	}
	for _, c := range cases {
		t.Run(c.method, func(t *testing.T) {
			var viaBraid, viaProvider json.RawMessage
			if err := s.braid.CallContext(ctx, &viaBraid, c.method, c.params...); err != nil {
				t.Fatalf("through braid: %v", err)
			}
			if err := direct.CallContext(ctx, &viaProvider, c.method, c.params...); err != nil {
				t.Fatalf("direct: %v", err)
			}
			if !bytes.Equal(viaBraid, viaProvider) {
				t.Fatalf("braid answered\n%s\nthe provider answered\n%s", viaBraid, viaProvider)
			}
		})
	}
	if t.Failed() {
		return
	}

	// The logs query must actually have found the token's Transfer events,
	// or the comparison above proved little.
	logs, err := ethclient.NewClient(s.braid).FilterLogs(ctx, ethereumFilter(token, head.Number()))
	if err != nil || len(logs) == 0 {
		t.Fatalf("no token logs through braid (%v)", err)
	}
}

// TestSendRawTransactionThroughBraid sends a signed transfer through braid:
// the answer is the transaction's hash, exactly what a provider answers,
// and the transaction is mined.
func TestSendRawTransactionThroughBraid(t *testing.T) {
	s := newStack(t, 3)
	ctx := context.Background()
	ec := ethclient.NewClient(s.braid)
	key := s.dn.UserPrivateKey()
	from := s.dn.Info().Account.Address
	chainID := new(big.Int).SetUint64(s.dn.ChainID())
	signer := types.LatestSignerForChainID(chainID)
	head, err := ec.HeaderByNumber(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	nonce, err := ec.PendingNonceAt(ctx, from)
	if err != nil {
		t.Fatal(err)
	}
	to := common.HexToAddress("0x00000000000000000000000000000000000000bb")
	sign := func(nonce uint64) *types.Transaction {
		tx, err := types.SignNewTx(key, signer, &types.DynamicFeeTx{
			ChainID: chainID, Nonce: nonce, GasTipCap: big.NewInt(1e9),
			GasFeeCap: new(big.Int).Add(new(big.Int).Mul(head.BaseFee, big.NewInt(2)), big.NewInt(1e9)),
			Gas:       21000, To: &to, Value: big.NewInt(12345),
		})
		if err != nil {
			t.Fatal(err)
		}
		return tx
	}
	viaBraid, viaProvider := sign(nonce), sign(nonce+1)
	var braidHash, providerHash common.Hash
	// Lowest nonce last: the pool queues the provider's until braid's
	// arrives and then makes both executable at once, so neither is
	// stranded in its queue (see devnet.CommitAll).
	raw2, _ := viaProvider.MarshalBinary()
	if err := s.provider(t, "p1").CallContext(ctx, &providerHash, "eth_sendRawTransaction", hexutil.Bytes(raw2)); err != nil {
		t.Fatal(err)
	}
	raw, _ := viaBraid.MarshalBinary()
	if err := s.braid.CallContext(ctx, &braidHash, "eth_sendRawTransaction", hexutil.Bytes(raw)); err != nil {
		t.Fatal(err)
	}
	if braidHash != viaBraid.Hash() || providerHash != viaProvider.Hash() {
		t.Fatalf("hashes: braid %s want %s; provider %s want %s", braidHash, viaBraid.Hash(), providerHash, viaProvider.Hash())
	}
	// Sending the same transaction again is not a failure: braid answers
	// its hash (the provider itself says "already known").
	if err := s.braid.CallContext(ctx, &braidHash, "eth_sendRawTransaction", hexutil.Bytes(raw)); err != nil {
		t.Fatalf("resend through braid: %v", err)
	}
	if braidHash != viaBraid.Hash() {
		t.Fatalf("resend answered %s", braidHash)
	}
	// Both must be executable before the block is sealed: geth's pool
	// promotes each in the background.
	if _, err := s.dn.CommitAll(ctx, key, nonce+2); err != nil {
		t.Fatal(err)
	}
	for _, tx := range []*types.Transaction{viaBraid, viaProvider} {
		r, err := ec.TransactionReceipt(ctx, tx.Hash())
		if err != nil || r.Status != types.ReceiptStatusSuccessful {
			t.Fatalf("receipt of %s: %v %+v", tx.Hash(), err, r)
		}
	}
}

// TestRevertPassesThroughUnchanged: an eth_call revert is the call's
// answer; braid must not fail over on it or change its code and data.
func TestRevertPassesThroughUnchanged(t *testing.T) {
	s := newStack(t, 2)
	ctx := context.Background()
	// transfer more tokens than the zero address holds, from the zero address.
	data := "0xa9059cbb" + strings.Repeat("0", 24) + strings.Repeat("11", 20) + fmt.Sprintf("%064x", 1)
	call := map[string]any{"from": "0x0000000000000000000000000000000000000001", "to": s.dn.Info().Token, "data": data}
	errOf := func(c *rpc.Client) rpc.Error {
		var out json.RawMessage
		err := c.CallContext(ctx, &out, "eth_call", call, "latest")
		re, ok := err.(rpc.Error)
		if !ok {
			t.Fatalf("want a JSON-RPC error, got %v (%s)", err, out)
		}
		return re
	}
	viaBraid, direct := errOf(s.braid), errOf(s.provider(t, "p1"))
	if viaBraid.ErrorCode() != direct.ErrorCode() || viaBraid.Error() != direct.Error() {
		t.Fatalf("braid %d %q, provider %d %q", viaBraid.ErrorCode(), viaBraid.Error(), direct.ErrorCode(), direct.Error())
	}
	bd, _ := viaBraid.(rpc.DataError)
	pd, _ := direct.(rpc.DataError)
	if bd == nil || pd == nil || fmt.Sprint(bd.ErrorData()) != fmt.Sprint(pd.ErrorData()) {
		t.Fatalf("revert data differs: %v vs %v", bd, pd)
	}
	total := uint64(0)
	for _, p := range s.dn.Providers() {
		total += p.Requests()
	}
	_ = total // both providers may have served chain-id checks; the revert itself was one call.
}
