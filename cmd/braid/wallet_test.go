package main

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"math/big"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum"
	"github.com/ethereum/go-ethereum/accounts/abi/bind/v2"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/ethclient"

	"github.com/braidrpc/braid/internal/devnet"
)

// startDemo runs `braid demo` with o until the test ends and returns its
// HTTP endpoint once it is ready.
func startDemo(t *testing.T, o demoOptions) string {
	t.Helper()
	pr, pw := io.Pipe()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- demo(ctx, o, pw, slog.New(slog.DiscardHandler))
		pw.Close()
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			t.Error("demo did not stop")
		}
	})
	endpoint := ""
	re := regexp.MustCompile(`endpoint\s+(http://\S+)`)
	sc := bufio.NewScanner(pr)
	for sc.Scan() && endpoint == "" {
		if m := re.FindStringSubmatch(sc.Text()); m != nil {
			endpoint = m[1]
		}
	}
	go io.Copy(io.Discard, pr)
	if endpoint == "" {
		t.Fatal("no endpoint in the banner")
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(endpoint + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return endpoint
			}
		}
		if time.Now().After(deadline) {
			t.Fatal("demo never became ready")
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestWalletOnStrictDemo uses `braid demo --verify strict` as a wallet
// does, with go-ethereum's ethclient over WebSocket and a bound ERC-20
// contract: it reads a token balance (eth_call on the local EVM),
// estimates, signs and sends an ETH transfer and an ERC-20 transfer with
// the pending nonce and suggested fees, waits for their receipts, and
// receives the Transfer log over a WebSocket subscription. /status says
// which methods are proven.
func TestWalletOnStrictDemo(t *testing.T) {
	endpoint := startDemo(t, demoOptions{listen: "127.0.0.1:0", providers: 3, blockTime: 200 * time.Millisecond, verify: "strict"})
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	client, err := ethclient.DialContext(ctx, "ws"+strings.TrimPrefix(endpoint, "http"))
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	key, err := crypto.HexToECDSA(devnet.UserKey[2:])
	if err != nil {
		t.Fatal(err)
	}
	user := crypto.PubkeyToAddress(key.PublicKey)
	chainID, err := client.ChainID(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var info devnet.Info
	getJSON(t, endpoint+"/demo/info", &info)
	token := bind.NewBoundContract(info.Token, devnet.TokenABI(), client, client, client)
	recipient := common.HexToAddress("0x00000000000000000000000000000000000f00d1")

	// The token balance, on the local EVM.
	balance := tokenBalance(t, token, user)
	if balance.Sign() <= 0 {
		t.Fatalf("user's token balance %s", balance)
	}

	// Subscribe to the user's Transfer logs before sending.
	transfer := crypto.Keccak256Hash([]byte("Transfer(address,address,uint256)"))
	logs := make(chan types.Log, 16)
	sub, err := client.SubscribeFilterLogs(ctx, ethereum.FilterQuery{Addresses: []common.Address{info.Token},
		Topics: [][]common.Hash{{transfer}, {common.BytesToHash(user[:])}}}, logs)
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Unsubscribe()

	// An ETH transfer as a wallet builds it: pending nonce, estimate, fees.
	nonce, err := client.PendingNonceAt(ctx, user)
	if err != nil {
		t.Fatal(err)
	}
	value := big.NewInt(1_000_000)
	gas, err := client.EstimateGas(ctx, ethereum.CallMsg{From: user, To: &recipient, Value: value})
	if err != nil || gas != 21_000 {
		t.Fatalf("estimate of an ETH transfer: %d %v", gas, err)
	}
	tip, err := client.SuggestGasTipCap(ctx)
	if err != nil {
		t.Fatal(err)
	}
	head, err := client.HeaderByNumber(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	feeCap := new(big.Int).Add(tip, new(big.Int).Mul(head.BaseFee, big.NewInt(2)))
	tx, err := types.SignNewTx(key, types.LatestSignerForChainID(chainID), &types.DynamicFeeTx{ChainID: chainID, Nonce: nonce,
		GasTipCap: tip, GasFeeCap: feeCap, Gas: gas, To: &recipient, Value: value})
	if err != nil {
		t.Fatal(err)
	}
	if err := client.SendTransaction(ctx, tx); err != nil {
		t.Fatal(err)
	}
	if r, err := bind.WaitMined(ctx, client, tx.Hash()); err != nil || r.Status != types.ReceiptStatusSuccessful {
		t.Fatalf("ETH transfer: %+v %v", r, err)
	}
	if got, err := client.BalanceAt(ctx, recipient, nil); err != nil || got.Cmp(value) < 0 {
		t.Fatalf("recipient's balance %v %v", got, err)
	}

	// An ERC-20 transfer through the bound contract (it asks for the
	// pending nonce, the fees and an estimate itself).
	amount := big.NewInt(12345)
	ttx, err := token.Transact(bind.NewKeyedTransactor(key, chainID), "transfer", recipient, amount)
	if err != nil {
		t.Fatal(err)
	}
	if ttx.Nonce() != nonce+1 {
		t.Errorf("token transfer nonce %d, want %d", ttx.Nonce(), nonce+1)
	}
	if r, err := bind.WaitMined(ctx, client, ttx.Hash()); err != nil || r.Status != types.ReceiptStatusSuccessful {
		t.Fatalf("token transfer: %+v %v", r, err)
	}
	select {
	case l := <-logs:
		if l.TxHash != ttx.Hash() || l.Address != info.Token || new(big.Int).SetBytes(l.Data).Cmp(amount) != 0 {
			t.Errorf("Transfer log %+v", l)
		}
	case err := <-sub.Err():
		t.Fatal(err)
	case <-ctx.Done():
		t.Fatal("no Transfer log over the subscription")
	}
	if got := tokenBalance(t, token, recipient); got.Cmp(amount) != 0 {
		t.Errorf("recipient's token balance %s, want %s", got, amount)
	}

	var status struct {
		Networks []struct {
			Methods struct {
				Proven  []string          `json:"proven"`
				Refused map[string]string `json:"refused"`
			} `json:"methods"`
		} `json:"networks"`
	}
	getJSON(t, endpoint+"/status", &status)
	proven := strings.Join(status.Networks[0].Methods.Proven, " ")
	for _, m := range []string{"eth_call", "eth_estimateGas", "eth_createAccessList", "eth_getBalance"} {
		if !strings.Contains(proven, m) {
			t.Errorf("/status does not list %s as proven: %s", m, proven)
		}
	}
}

func tokenBalance(t *testing.T, token *bind.BoundContract, who common.Address) *big.Int {
	t.Helper()
	var out []any
	if err := token.Call(&bind.CallOpts{}, &out, "balanceOf", who); err != nil {
		t.Fatal(err)
	}
	return out[0].(*big.Int)
}

func getJSON(t *testing.T, url string, v any) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Fatal(err)
	}
}
