package braid_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/ethclient"
	"github.com/ethereum/go-ethereum/rpc"

	"github.com/braidrpc/braid"
	"github.com/braidrpc/braid/internal/await"
	"github.com/braidrpc/braid/internal/devnet"
)

// newLibrary runs a devnet with n providers and braid in-process in front
// of it, configured as `braid demo` would be.
func newLibrary(t *testing.T, n int) (*devnet.Devnet, *braid.Braid) {
	t.Helper()
	dn, err := devnet.New(t.Context(), devnet.Options{Providers: n, WebSocket: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { dn.Close() })
	cfg := braid.DefaultConfig()
	cfg.Networks = []braid.Network{{Name: "devnet", ChainID: dn.ChainID(), Upstreams: dn.Upstreams(),
		Head: braid.Head{PollInterval: 50 * time.Millisecond}}}
	b, err := braid.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return dn, b
}

// waitBlock waits (bounded) until b serves block want as its own tip
// (eth_blockNumber alone cannot tell: before the tip is known it is
// forwarded to a provider).
func waitBlock(t *testing.T, b *braid.Braid, want uint64) {
	t.Helper()
	await.Until(t, fmt.Sprintf("block %d served", want), func() bool {
		rec := httptest.NewRecorder()
		b.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/status", nil))
		var st struct {
			Networks []struct {
				Tip struct {
					Known  bool `json:"known"`
					Latest struct {
						Number hexutil.Uint64 `json:"number"`
					} `json:"latest"`
				} `json:"tip"`
			} `json:"networks"`
		}
		return json.Unmarshal(rec.Body.Bytes(), &st) == nil && len(st.Networks) > 0 &&
			st.Networks[0].Tip.Known && uint64(st.Networks[0].Tip.Latest.Number) >= want
	})
}

// TestLibraryClientPassesTheMethodTable drives the core method table with
// ethclient over braid.New(...).Client(): every typed call works, and the
// raw answers equal a provider's own, byte for byte.
func TestLibraryClientPassesTheMethodTable(t *testing.T) {
	dn, b := newLibrary(t, 3)
	ctx := t.Context()
	for range 3 {
		if _, err := dn.Step(ctx); err != nil {
			t.Fatal(err)
		}
	}
	direct, err := rpc.DialHTTP(dn.Provider("p2").URL)
	if err != nil {
		t.Fatal(err)
	}
	defer direct.Close()
	dec := ethclient.NewClient(direct)
	head, err := dec.BlockByNumber(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	ec := ethclient.NewClient(b.Client())
	waitBlock(t, b, head.NumberU64())

	// Typed ethclient calls.
	if id, err := ec.ChainID(ctx); err != nil || id.Uint64() != dn.ChainID() {
		t.Fatalf("ChainID = %v, %v", id, err)
	}
	user, token := dn.Info().Account.Address, dn.Info().Token
	if len(head.Transactions()) == 0 {
		t.Fatal("the head block has no transactions")
	}
	tx := head.Transactions()[len(head.Transactions())-1]
	checks := []struct {
		name string
		run  func() error
	}{
		{"BalanceAt", func() error { _, err := ec.BalanceAt(ctx, user, head.Number()); return err }},
		{"NonceAt", func() error { _, err := ec.NonceAt(ctx, user, nil); return err }},
		{"CodeAt", func() error {
			code, err := ec.CodeAt(ctx, token, head.Number())
			if err == nil && len(code) == 0 {
				err = fmt.Errorf("token has no code")
			}
			return err
		}},
		{"StorageAt", func() error { _, err := ec.StorageAt(ctx, token, common.Hash{}, head.Number()); return err }},
		{"BlockByNumber", func() error {
			got, err := ec.BlockByNumber(ctx, head.Number())
			if err == nil && got.Hash() != head.Hash() {
				err = fmt.Errorf("hash %s, want %s", got.Hash(), head.Hash())
			}
			return err
		}},
		{"BlockByHash", func() error { _, err := ec.BlockByHash(ctx, head.Hash()); return err }},
		{"HeaderByNumber latest", func() error { _, err := ec.HeaderByNumber(ctx, nil); return err }},
		{"TransactionByHash", func() error {
			got, pending, err := ec.TransactionByHash(ctx, tx.Hash())
			if err == nil && (pending || got.Hash() != tx.Hash()) {
				err = fmt.Errorf("pending %v, hash %s", pending, got.Hash())
			}
			return err
		}},
		{"TransactionReceipt", func() error {
			r, err := ec.TransactionReceipt(ctx, tx.Hash())
			if err == nil && r.BlockHash != head.Hash() {
				err = fmt.Errorf("receipt in block %s", r.BlockHash)
			}
			return err
		}},
		{"unknown transaction", func() error {
			_, _, err := ec.TransactionByHash(ctx, common.HexToHash("0x01"))
			if err != ethereum.NotFound {
				return fmt.Errorf("err %v, want NotFound", err)
			}
			return nil
		}},
		{"FilterLogs", func() error {
			logs, err := ec.FilterLogs(ctx, ethereum.FilterQuery{FromBlock: big.NewInt(0), ToBlock: head.Number(), Addresses: []common.Address{token}})
			if err == nil && len(logs) == 0 {
				err = fmt.Errorf("no token logs")
			}
			return err
		}},
		{"CallContract", func() error {
			data := hexutil.MustDecode("0x70a08231" + strings.Repeat("0", 24) + strings.TrimPrefix(strings.ToLower(user.Hex()), "0x"))
			_, err := ec.CallContract(ctx, ethereum.CallMsg{To: &token, Data: data}, nil)
			return err
		}},
		{"EstimateGas", func() error {
			_, err := ec.EstimateGas(ctx, ethereum.CallMsg{From: user, To: &user, Value: big.NewInt(1)})
			return err
		}},
		{"SuggestGasPrice", func() error { _, err := ec.SuggestGasPrice(ctx); return err }},
		{"FeeHistory", func() error { _, err := ec.FeeHistory(ctx, 2, head.Number(), []float64{25, 75}); return err }},
	}
	for _, c := range checks {
		if err := c.run(); err != nil {
			t.Errorf("%s: %v", c.name, err)
		}
	}

	// Raw answers equal the provider's own.
	num := hexutil.EncodeUint64(head.NumberU64())
	raw := []struct {
		method string
		params []any
	}{
		{"eth_getBalance", []any{user, num}},
		{"eth_getBlockByNumber", []any{num, true}},
		{"eth_getBlockByHash", []any{head.Hash(), false}},
		{"eth_getTransactionByHash", []any{tx.Hash()}},
		{"eth_getTransactionReceipt", []any{tx.Hash()}},
		{"eth_getLogs", []any{map[string]any{"fromBlock": "0x0", "toBlock": num, "address": token}}},
		{"eth_getCode", []any{token, num}},
		{"eth_getStorageAt", []any{token, "0x2", num}},
		{"eth_getTransactionCount", []any{user, num}},
		{"eth_getProof", []any{token, []string{"0x0"}, num}},
	}
	for _, c := range raw {
		var viaBraid, viaProvider json.RawMessage
		if err := b.Client().CallContext(ctx, &viaBraid, c.method, c.params...); err != nil {
			t.Errorf("%s through braid: %v", c.method, err)
			continue
		}
		if err := direct.CallContext(ctx, &viaProvider, c.method, c.params...); err != nil {
			t.Fatalf("%s direct: %v", c.method, err)
		}
		if !bytes.Equal(viaBraid, viaProvider) {
			t.Errorf("%s: braid answered\n%s\nthe provider answered\n%s", c.method, viaBraid, viaProvider)
		}
	}

	// A transaction sent through the library client lands.
	signer := types.LatestSignerForChainID(new(big.Int).SetUint64(dn.ChainID()))
	nonce, err := ec.PendingNonceAt(ctx, user)
	if err != nil {
		t.Fatal(err)
	}
	tip, err := ec.SuggestGasTipCap(ctx)
	if err != nil {
		t.Fatal(err)
	}
	signed, err := types.SignNewTx(dn.UserPrivateKey(), signer, &types.DynamicFeeTx{
		ChainID: signer.ChainID(), Nonce: nonce, GasTipCap: tip, GasFeeCap: new(big.Int).Mul(head.BaseFee(), big.NewInt(4)),
		Gas: 21000, To: &common.Address{0x42}, Value: big.NewInt(1),
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := ec.SendTransaction(ctx, signed); err != nil {
		t.Fatalf("SendTransaction: %v", err)
	}
	if _, err := dn.Step(ctx); err != nil {
		t.Fatal(err)
	}
	await.Until(t, "the transaction sent through the library client mined", func() bool {
		r, err := ec.TransactionReceipt(ctx, signed.Hash())
		return err == nil && r.Status == types.ReceiptStatusSuccessful
	})
}

// TestLibraryClientSubscribes: the in-process client carries
// notifications, so ethclient's SubscribeNewHead works.
func TestLibraryClientSubscribes(t *testing.T) {
	dn, b := newLibrary(t, 2)
	ctx := t.Context()
	ec := ethclient.NewClient(b.Client())
	if _, err := dn.Step(ctx); err != nil {
		t.Fatal(err)
	}
	heads := make(chan *types.Header, 16)
	sub, err := ec.SubscribeNewHead(ctx, heads)
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Unsubscribe()
	want, err := dn.Step(ctx)
	if err != nil {
		t.Fatal(err)
	}
	timeout := time.After(10 * time.Second)
	for {
		select {
		case h := <-heads:
			if h.Hash() == want {
				return
			}
		case err := <-sub.Err():
			t.Fatalf("subscription ended: %v", err)
		case <-timeout:
			t.Fatal("no newHeads notification for the new block within 10s")
		}
	}
}

// TestLibraryHandlerServesHTTP: Handler mounted in another server answers
// JSON-RPC, health and metrics like `braid serve`.
func TestLibraryHandlerServesHTTP(t *testing.T) {
	dn, b := newLibrary(t, 2)
	mux := http.NewServeMux()
	mux.Handle("/rpc/", http.StripPrefix("/rpc", b.Handler()))
	srv := httptest.NewServer(mux)
	defer srv.Close()
	resp, err := http.Post(srv.URL+"/rpc/devnet", "application/json", strings.NewReader(`{"jsonrpc":"2.0","id":7,"method":"eth_chainId"}`))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	want := fmt.Sprintf(`{"jsonrpc":"2.0","id":7,"result":"0x%x"}`, dn.ChainID())
	if strings.TrimSpace(string(body)) != want {
		t.Fatalf("got %s, want %s", body, want)
	}
	for _, path := range []string{"/rpc/healthz", "/rpc/metrics"} {
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Errorf("%s: HTTP %d", path, resp.StatusCode)
		}
	}
}

func TestLibraryRejectsABadConfig(t *testing.T) {
	cfg := braid.DefaultConfig() // no networks
	if _, err := braid.New(cfg); err == nil || !strings.Contains(err.Error(), "no networks configured") {
		t.Fatalf("New without networks: %v", err)
	}
	if _, err := braid.New(nil); err == nil {
		t.Fatal("New(nil) did not fail")
	}
}

func TestLibraryClose(t *testing.T) {
	_, b := newLibrary(t, 1)
	c := b.Client()
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	if err := b.Close(); err != nil { // twice is fine
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var id hexutil.Uint64
	if err := c.CallContext(ctx, &id, "eth_chainId"); err == nil {
		t.Fatal("a call after Close succeeded")
	}
	if err := b.Client().CallContext(ctx, &id, "eth_chainId"); err == nil || !strings.Contains(err.Error(), "closed") {
		t.Fatalf("Client after Close: %v", err)
	}
	if _, err := b.NetworkClient("nope"); err == nil {
		t.Fatal("NetworkClient of a closed braid did not fail")
	}
}

// TestLibraryWarnsAboutARepeatedURL configures one devnet provider's URL a
// second time under another operator: braid starts, logs a warning naming
// both upstreams (never the URL's path), and its centralization report
// counts the endpoint once and carries the same warning.
func TestLibraryWarnsAboutARepeatedURL(t *testing.T) {
	dn, err := devnet.New(t.Context(), devnet.Options{Providers: 2})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { dn.Close() })
	ups := dn.Upstreams()
	copyOf := ups[0]
	copyOf.Name, copyOf.Operator, copyOf.URL = "copy", "someone-else", strings.TrimSuffix(copyOf.URL, "/")+"/"
	cfg := braid.DefaultConfig()
	cfg.Networks = []braid.Network{{Name: "devnet", ChainID: dn.ChainID(), Upstreams: append(ups, copyOf),
		Head: braid.Head{PollInterval: 50 * time.Millisecond}}}
	var logs syncBuffer
	b, err := braid.New(cfg, braid.WithLogger(slog.New(slog.NewTextHandler(&logs, nil))))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })

	want := fmt.Sprintf(`upstreams \"%s\" (operator %s) and \"copy\" (operator someone-else) have the same URL`, ups[0].Name, ups[0].Operator)
	var line string
	for l := range strings.SplitSeq(logs.String(), "\n") {
		if strings.Contains(l, want) {
			line = l
		}
	}
	if !strings.Contains(line, "level=WARN") || !strings.Contains(line, "network=devnet") {
		t.Fatalf("no WARN line with %s in the log:\n%s", want, logs.String())
	}
	rec := httptest.NewRecorder()
	b.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/status/centralization", nil))
	var rep struct {
		Networks []struct {
			Operators []struct{ Name string } `json:"operators"`
			Warnings  []string                `json:"warnings"`
		} `json:"networks"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &rep); err != nil || len(rep.Networks) != 1 {
		t.Fatalf("centralization: %v\n%s", err, rec.Body.String())
	}
	if n := rep.Networks[0]; len(n.Operators) != 2 || len(n.Warnings) == 0 ||
		!strings.Contains(n.Warnings[0], strings.ReplaceAll(want, `\"`, `"`)) {
		t.Errorf("centralization counts %d operators, warnings %q; want 2 and the same-URL warning", len(n.Operators), n.Warnings)
	}
	if path := strings.SplitN(strings.TrimPrefix(ups[0].URL, "http://"), "/", 2); len(path) == 2 && path[1] != "" &&
		(strings.Contains(logs.String(), path[1]) || strings.Contains(rec.Body.String(), path[1])) {
		t.Errorf("the URL's path %q is shown", path[1])
	}
}

// syncBuffer is a bytes.Buffer safe for a logger and a test to share.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
