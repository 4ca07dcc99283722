package integration

import (
	"context"
	"encoding/json"
	"errors"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/ethclient"
	"github.com/ethereum/go-ethereum/rpc"

	"github.com/braidrpc/braid/internal/await"
	"github.com/braidrpc/braid/internal/config"
	"github.com/braidrpc/braid/internal/devnet"
	"github.com/braidrpc/braid/internal/jsonrpc"
	"github.com/braidrpc/braid/internal/quorum"
)

// strictStack is a devnet that mines only when told, with braid in front
// in verify: strict mode, once braid's tip is the chain's head.
func strictStack(t *testing.T) *liveStack {
	t.Helper()
	s := newLiveStackWith(t, liveOptions{manual: true, verify: config.Verify{Mode: config.VerifyStrict}})
	ctx := context.Background()
	for range 4 {
		if _, err := s.dn.Step(ctx); err != nil {
			t.Fatal(err)
		}
	}
	head, err := ethclient.NewClient(s.dn.RPC()).BlockNumber(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !await.Poll(10*time.Second, func() bool { return s.tip().Latest.Number == head }) {
		t.Fatalf("braid's tip %d never reached the chain's head %d", s.tip().Latest.Number, head)
	}
	return s
}

type verifiedCase struct {
	name   string
	method string
	params []any
}

// verifiedCases covers every verified method at the chain's head: by tag,
// number and hash; absent accounts, empty storage, a contract with
// storage, blocks with transactions and logs.
func verifiedCases(t *testing.T, s *liveStack) []verifiedCase {
	t.Helper()
	ctx := context.Background()
	ec := ethclient.NewClient(s.dn.RPC())
	head, err := ec.BlockByNumber(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	var tokenTx *types.Transaction
	var txBlock *types.Block
	for n := head.NumberU64(); n > 0 && tokenTx == nil; n-- {
		b, err := ec.BlockByNumber(ctx, new(big.Int).SetUint64(n))
		if err != nil {
			t.Fatal(err)
		}
		for _, tx := range b.Transactions() {
			if tx.To() != nil && *tx.To() == s.token {
				tokenTx, txBlock = tx, b
				break
			}
		}
	}
	if tokenTx == nil {
		t.Fatal("no token transfer on the chain")
	}
	num := hexutil.EncodeUint64(txBlock.NumberU64())
	absent := common.HexToAddress("0x00000000000000000000000000000000000000aa")
	byHash := map[string]any{"blockHash": txBlock.Hash()}
	transferTopic := crypto.Keccak256Hash([]byte("Transfer(address,address,uint256)"))
	return []verifiedCase{
		{"balance latest", "eth_getBalance", []any{s.user, "latest"}},
		{"balance by number", "eth_getBalance", []any{s.user, num}},
		{"balance by hash", "eth_getBalance", []any{s.user, byHash}},
		{"balance of an absent account", "eth_getBalance", []any{absent, "latest"}},
		{"balance earliest", "eth_getBalance", []any{s.user, "earliest"}},
		{"nonce", "eth_getTransactionCount", []any{s.user, "latest"}},
		{"nonce by number", "eth_getTransactionCount", []any{s.user, num}},
		{"contract code", "eth_getCode", []any{s.token, "latest"}},
		{"code of an account without code", "eth_getCode", []any{s.user, num}},
		{"code of an absent account", "eth_getCode", []any{absent, "latest"}},
		{"storage of a contract", "eth_getStorageAt", []any{s.token, "0x2", "latest"}},
		{"storage slot 0 by number", "eth_getStorageAt", []any{s.token, "0x0", num}},
		{"empty storage", "eth_getStorageAt", []any{s.user, "0x0", "latest"}},
		{"storage by hash", "eth_getStorageAt", []any{s.token, "0x2", byHash}},
		{"proof with storage", "eth_getProof", []any{s.token, []string{"0x0", "0x2"}, "latest"}},
		{"proof of an absent account", "eth_getProof", []any{absent, []string{}, num}},
		{"block latest", "eth_getBlockByNumber", []any{"latest", false}},
		{"block by number, full", "eth_getBlockByNumber", []any{num, true}},
		{"block by hash, full", "eth_getBlockByHash", []any{txBlock.Hash(), true}},
		{"block by hash", "eth_getBlockByHash", []any{txBlock.Hash(), false}},
		{"unknown block", "eth_getBlockByHash", []any{common.Hash{1}, false}},
		{"transaction", "eth_getTransactionByHash", []any{tokenTx.Hash()}},
		{"unknown transaction", "eth_getTransactionByHash", []any{common.Hash{2}}},
		{"transaction by block hash and index", "eth_getTransactionByBlockHashAndIndex", []any{txBlock.Hash(), "0x0"}},
		{"transaction by number and index", "eth_getTransactionByBlockNumberAndIndex", []any{num, "0x0"}},
		{"transaction past the last index", "eth_getTransactionByBlockHashAndIndex", []any{txBlock.Hash(), "0x400"}},
		{"receipt", "eth_getTransactionReceipt", []any{tokenTx.Hash()}},
		{"unknown receipt", "eth_getTransactionReceipt", []any{common.Hash{3}}},
		{"block receipts", "eth_getBlockReceipts", []any{num}},
		{"logs over the chain", "eth_getLogs", []any{map[string]any{"fromBlock": "0x0", "toBlock": "latest", "address": s.token}}},
		{"logs by topic", "eth_getLogs", []any{map[string]any{"fromBlock": "0x1", "topics": []any{transferTopic}}}},
		{"logs of one block", "eth_getLogs", []any{map[string]any{"blockHash": txBlock.Hash()}}},
		{"logs that match nothing", "eth_getLogs", []any{map[string]any{"fromBlock": "0x0", "address": absent}}},
	}
}

// checkVerified asks every case through braid and of the honest chain.
func checkVerified(t *testing.T, s *liveStack, cases []verifiedCase) {
	t.Helper()
	ctx := context.Background()
	for _, c := range cases {
		var got, want json.RawMessage
		if err := s.rpc.CallContext(ctx, &got, c.method, c.params...); err != nil {
			t.Errorf("%s: through braid: %v", c.name, err)
			continue
		}
		if err := s.dn.RPC().CallContext(ctx, &want, c.method, c.params...); err != nil {
			t.Fatalf("%s: honest: %v", c.name, err)
		}
		if string(quorum.Canonical(got, nil)) != string(quorum.Canonical(want, nil)) {
			t.Errorf("%s: braid answered\n%.300s\nthe chain says\n%.300s", c.name, got, want)
		}
	}
}

// TestVerifiedAnswersEqualTheChain: in strict mode every verified method
// answers exactly what the chain says.
func TestVerifiedAnswersEqualTheChain(t *testing.T) {
	s := strictStack(t)
	cases := verifiedCases(t, s)
	checkVerified(t, s, cases)
	for _, op := range s.gw.Status().Networks[0].Operators {
		if op.Strikes > 0 {
			t.Errorf("honest operator %s struck", op.Name)
		}
	}
	// A method braid cannot check is refused, clearly.
	var out json.RawMessage
	err := s.rpc.CallContext(context.Background(), &out, "eth_call", map[string]any{"to": s.token, "data": "0x18160ddd"}, "latest")
	var re rpc.Error
	if !errors.As(err, &re) || re.ErrorCode() != jsonrpc.CodeUnverifiable || !strings.Contains(err.Error(), "allow_unverified") {
		t.Errorf("eth_call in strict mode: %v, want -32046 naming allow_unverified", err)
	}
}

// TestVerifiedReadsSurviveThreeLiars: three of four providers lie — values
// altered, a transaction or log dropped, one added — and one is honest.
// Every read still answers the truth, and the liars are caught.
func TestVerifiedReadsSurviveThreeLiars(t *testing.T) {
	s := strictStack(t)
	cases := verifiedCases(t, s)
	s.dn.Provider("p2").SetFaults(devnet.Faults{Lie: true})
	s.dn.Provider("p3").SetFaults(devnet.Faults{Lie: true, LieKind: devnet.LieDrop})
	s.dn.Provider("p4").SetFaults(devnet.Faults{Lie: true, LieKind: devnet.LieAdd})
	for range 3 {
		checkVerified(t, s, cases)
	}
	caught := map[string]bool{}
	for _, op := range s.gw.Status().Networks[0].Operators {
		caught[op.Name] = op.Strikes > 0 || op.QuarantinedUntil != nil
	}
	if caught["operator-1"] {
		t.Error("the honest operator was struck")
	}
	for _, liar := range []string{"operator-2", "operator-3", "operator-4"} {
		if !caught[liar] {
			t.Errorf("%s lied and was not caught: %v", liar, caught)
		}
	}
	// /status lists the lies (for the status page), newest first.
	lies := s.gw.Status().Networks[0].Lies
	listed := map[string]bool{}
	for i, l := range lies {
		listed[l.Operator] = true
		if l.Method == "" || l.Upstream == "" || !strings.Contains(l.Reason, "verification failed") ||
			(i > 0 && l.Time.After(lies[i-1].Time)) {
			t.Errorf("lie %d: %+v", i, l)
		}
	}
	if listed["operator-1"] || !listed["operator-2"] || !listed["operator-3"] || !listed["operator-4"] {
		t.Errorf("/status lies name %v", listed)
	}
}
