package integration

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"math/big"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/accounts/abi"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/ethclient"
	"github.com/ethereum/go-ethereum/params"
	"github.com/ethereum/go-ethereum/rpc"

	"github.com/braidrpc/braid/internal/await"
	"github.com/braidrpc/braid/internal/config"
	"github.com/braidrpc/braid/internal/devnet"
)

// evmEnv is a strict braid over a devnet that mines only when told, with
// the local EVM on, a Multicall contract and 9 more tokens held by the
// user (10 with the devnet's own), a few blocks of history, and a
// counting proxy in front of every provider.
type evmEnv struct {
	s         *liveStack
	count     *upstreamCounter
	multicall common.Address
	tokens    []common.Address
	tokenABI  abi.ABI
	multiABI  abi.ABI
	tokenInit []byte
	benchWho  int // BenchmarkStrictCall's last fresh account
}

func newEVMEnv(t testing.TB) *evmEnv {
	t.Helper()
	return newEVMEnvWith(t, 0)
}

// newEVMEnvWith is newEVMEnv with the gateway's probe share (0: its
// default).
func newEVMEnvWith(t testing.TB, probeShare float64) *evmEnv {
	t.Helper()
	return newEVMEnvFront(t, probeShare, nil)
}

// newEVMEnvFront is newEVMEnvWith with front, when set, given the URL of
// each provider's counting proxy and returning the URL braid is given (a
// proxy in front of it that behaves as some providers do).
func newEVMEnvFront(t testing.TB, probeShare float64, front func(url string) string) *evmEnv {
	t.Helper()
	count := &upstreamCounter{}
	s := newLiveStackWith(t, liveOptions{manual: true, evm: true, verify: config.Verify{Mode: config.VerifyStrict},
		probeShare: probeShare, front: func(p *devnet.Provider) string {
			u := count.front(t, p.URL)
			if front != nil {
				u = front(u)
			}
			return u
		}})
	e := &evmEnv{s: s, count: count, tokens: []common.Address{s.token}, tokenABI: devnet.TokenABI()}
	var err error
	if e.multiABI, err = readABI("../evm/testdata/contracts/Multicall.abi"); err != nil {
		t.Fatal(err)
	}
	e.deploy(t)
	ctx := context.Background()
	for range 10 { // history for BLOCKHASH and reads by number
		if _, err := s.dn.Step(ctx); err != nil {
			t.Fatal(err)
		}
	}
	e.waitTip(t)
	return e
}

// waitTip waits until braid's tip is the chain's head.
func (e *evmEnv) waitTip(t testing.TB) {
	t.Helper()
	head, err := ethclient.NewClient(e.s.dn.RPC()).BlockNumber(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if !await.Poll(10*time.Second, func() bool { return e.s.tip().Latest.Number == head }) {
		t.Fatalf("braid's tip %d never reached the chain's head %d", e.s.tip().Latest.Number, head)
	}
}

func readABI(path string) (abi.ABI, error) {
	f, err := os.Open(path)
	if err != nil {
		return abi.ABI{}, err
	}
	defer f.Close()
	return abi.JSON(f)
}

func readBin(t testing.TB, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return common.FromHex(strings.TrimSpace(string(b)))
}

// deploy creates the Multicall contract and 9 tokens from the user
// account in one block, through the honest node.
func (e *evmEnv) deploy(t testing.TB) {
	t.Helper()
	ctx := context.Background()
	ec := ethclient.NewClient(e.s.dn.RPC())
	multi := readBin(t, "../evm/testdata/contracts/Multicall.bin")
	tokenBin := readBin(t, "../devnet/contracts/Token.bin")
	supply := new(big.Int).Mul(big.NewInt(1_000_000), big.NewInt(params.Ether))
	nonce, err := ec.PendingNonceAt(ctx, e.s.user)
	if err != nil {
		t.Fatal(err)
	}
	signer := types.LatestSignerForChainID(new(big.Int).SetUint64(e.s.dn.ChainID()))
	// Lowest nonce last: the pool queues the others until it arrives and
	// then makes them all executable at once, so none is stranded in its
	// queue and CommitAll need not re-send one under another hash.
	txs := make([]*types.Transaction, 10)
	for i := len(txs) - 1; i >= 0; i-- {
		code := multi
		if i > 0 {
			args, err := e.tokenABI.Pack("", fmt.Sprintf("Token %d", i), fmt.Sprintf("T%d", i), supply)
			if err != nil {
				t.Fatal(err)
			}
			code = append(append([]byte{}, tokenBin...), args...)
			if e.tokenInit == nil {
				e.tokenInit = code
			}
		}
		tx, err := types.SignNewTx(e.s.dn.UserPrivateKey(), signer, &types.DynamicFeeTx{Nonce: nonce + uint64(i),
			GasTipCap: big.NewInt(params.GWei), GasFeeCap: big.NewInt(100 * params.GWei), Gas: 3_000_000, Data: code})
		if err != nil {
			t.Fatal(err)
		}
		if err := ec.SendTransaction(ctx, tx); err != nil {
			t.Fatal(err)
		}
		txs[i] = tx
	}
	if _, err := e.s.dn.CommitAll(ctx, e.s.dn.UserPrivateKey(), nonce+uint64(len(txs))); err != nil {
		t.Fatal(err)
	}
	for i, tx := range txs {
		r, err := ec.TransactionReceipt(ctx, tx.Hash())
		if err != nil || r.Status != types.ReceiptStatusSuccessful {
			t.Fatalf("deployment %d failed: %v", i, err)
		}
		if i == 0 {
			e.multicall = r.ContractAddress
		} else {
			e.tokens = append(e.tokens, r.ContractAddress)
		}
	}
}

func (e *evmEnv) pack(t testing.TB, a abi.ABI, method string, args ...any) hexutil.Bytes {
	t.Helper()
	b, err := a.Pack(method, args...)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// multicallOf is Multicall.aggregate of balanceOf(who) on every token.
func (e *evmEnv) multicallOf(t testing.TB, who common.Address) hexutil.Bytes {
	type call struct {
		Target   common.Address
		CallData []byte
	}
	calls := make([]call, len(e.tokens))
	for i, tok := range e.tokens {
		calls[i] = call{tok, e.pack(t, e.tokenABI, "balanceOf", who)}
	}
	return e.pack(t, e.multiABI, "aggregate", calls)
}

// answer is a JSON-RPC answer: a result or an error, member for member.
type answer struct {
	Result json.RawMessage
	Code   int
	Msg    string
	Data   string
}

func (a answer) String() string {
	if a.Code != 0 {
		return fmt.Sprintf("error %d %q data %s", a.Code, a.Msg, a.Data)
	}
	return string(a.Result)
}

// call asks c and returns its answer, errors included.
func call(t testing.TB, c *rpc.Client, method string, params ...any) answer {
	t.Helper()
	var res json.RawMessage
	err := c.CallContext(context.Background(), &res, method, params...)
	if err == nil {
		return answer{Result: res}
	}
	var re rpc.Error
	if !errors.As(err, &re) {
		t.Fatalf("%s: %v", method, err)
	}
	a := answer{Code: re.ErrorCode(), Msg: re.Error()}
	var de rpc.DataError
	if errors.As(err, &de) && de.ErrorData() != nil {
		a.Data = fmt.Sprint(de.ErrorData())
	}
	return a
}

// upstreamCounter is a proxy in front of each provider that counts the
// HTTP requests braid sends about state and execution (not head polls)
// and the bytes answered to them.
type upstreamCounter struct {
	mu       sync.Mutex
	requests int
	bytes    int
	methods  map[string]int
}

// counted are the methods whose requests the counter counts: everything a
// call on the local EVM and a verified read ask.
var counted = []string{`"eth_getProof"`, `"eth_getCode"`, `"eth_createAccessList"`, `"eth_getBlockByHash"`, `"eth_call"`, `"eth_estimateGas"`}

func (c *upstreamCounter) front(t testing.TB, target string) string {
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	client := &http.Client{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		req, _ := http.NewRequestWithContext(r.Context(), r.Method, u.String(), bytes.NewReader(body))
		req.Header = r.Header.Clone()
		resp, err := client.Do(req)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		defer resp.Body.Close()
		out, _ := io.ReadAll(resp.Body)
		c.note(body, len(out))
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(resp.StatusCode)
		_, _ = w.Write(out)
	}))
	t.Cleanup(srv.Close)
	t.Cleanup(client.CloseIdleConnections)
	return srv.URL
}

func (c *upstreamCounter) note(body []byte, n int) {
	hit := false
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.methods == nil {
		c.methods = map[string]int{}
	}
	for _, m := range counted {
		if k := bytes.Count(body, []byte(m)); k > 0 {
			hit = true
			c.methods[strings.Trim(m, `"`)] += k
		}
	}
	if hit {
		c.requests++
		c.bytes += n
	}
}

// methodCounts is a copy of the calls counted so far, by method (the
// proxy goes on counting: reading c.methods unlocked races it).
func (c *upstreamCounter) methodCounts() map[string]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return maps.Clone(c.methods)
}

// snapshot returns the requests and bytes counted so far.
func (c *upstreamCounter) snapshot() (requests, bytes int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.requests, c.bytes
}

// keccak is the Keccak-256 hash of b.
func keccak(b []byte) common.Hash { return crypto.Keccak256Hash(b) }

// signedTransfer is the user's transfer of 1 wei to 0x…dEaD at nonce,
// signed.
func (e *evmEnv) signedTransfer(t testing.TB, nonce uint64) []byte {
	t.Helper()
	to := common.HexToAddress("0x000000000000000000000000000000000000dEaD")
	signer := types.LatestSignerForChainID(new(big.Int).SetUint64(e.s.dn.ChainID()))
	tx, err := types.SignNewTx(e.s.dn.UserPrivateKey(), signer, &types.DynamicFeeTx{Nonce: nonce,
		GasTipCap: big.NewInt(params.GWei), GasFeeCap: big.NewInt(100 * params.GWei), Gas: 21_000, To: &to, Value: big.NewInt(1)})
	if err != nil {
		t.Fatal(err)
	}
	raw, err := tx.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	return raw
}
