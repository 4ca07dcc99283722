package evm

import (
	"context"
	"crypto/ecdsa"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum"
	"github.com/ethereum/go-ethereum/accounts/abi"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/ethclient"
	"github.com/ethereum/go-ethereum/params"
	"github.com/ethereum/go-ethereum/rpc"
	"github.com/holiman/uint256"

	"github.com/braidrpc/braid/internal/devnet"
	"github.com/braidrpc/braid/internal/jsonrpc"
)

// env is a devnet shared by the package's tests: 4 honest providers, the
// devnet's token plus 9 more Token contracts held by the user, a Multicall
// contract, and a few blocks of history. Tests that change faults restore
// them; nothing commits blocks after setup.
type env struct {
	d         *devnet.Devnet
	eth       *ethclient.Client
	user      common.Address
	key       *ecdsa.PrivateKey
	tokens    []common.Address // tokens[0] is the devnet's own
	multicall common.Address
	tokenABI  abi.ABI
	multiABI  abi.ABI
	tokenInit []byte // Token's creation code, constructor arguments included
	exec      *Executor
}

var shared struct {
	once sync.Once
	env  *env
	err  error
}

func TestMain(m *testing.M) {
	code := m.Run()
	if shared.env != nil {
		shared.env.d.Close()
	}
	os.Exit(code)
}

// testEnv returns the shared devnet, starting it on first use.
func testEnv(t testing.TB) *env {
	t.Helper()
	shared.once.Do(func() { shared.env, shared.err = newEnv() })
	if shared.err != nil {
		t.Fatalf("devnet: %v", shared.err)
	}
	return shared.env
}

func newEnv() (_ *env, err error) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	d, err := devnet.New(ctx, devnet.Options{Providers: 4})
	if err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			d.Close()
		}
	}()
	e := &env{d: d, eth: ethclient.NewClient(d.RPC()), user: d.UserAccount().Address, key: d.UserPrivateKey(),
		tokens: []common.Address{d.Token()}, tokenABI: devnet.TokenABI()}
	if e.multiABI, err = readABI("testdata/contracts/Multicall.abi"); err != nil {
		return nil, err
	}
	if e.exec, err = New(Config{Chain: d.ChainConfig()}); err != nil {
		return nil, err
	}
	if err := e.deploy(ctx); err != nil {
		return nil, err
	}
	for range 12 { // history for BLOCKHASH
		if _, err := d.Step(ctx); err != nil {
			return nil, err
		}
	}
	return e, nil
}

func readABI(path string) (abi.ABI, error) {
	f, err := os.Open(path)
	if err != nil {
		return abi.ABI{}, err
	}
	defer f.Close()
	return abi.JSON(f)
}

func readBin(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return common.FromHex(strings.TrimSpace(string(b))), nil
}

// deploy creates the Multicall contract and 9 more tokens from the user
// account, in one block.
func (e *env) deploy(ctx context.Context) error {
	multi, err := readBin("testdata/contracts/Multicall.bin")
	if err != nil {
		return err
	}
	tokenBin, err := readBin("../devnet/contracts/Token.bin")
	if err != nil {
		return err
	}
	supply := new(big.Int).Mul(big.NewInt(1_000_000), big.NewInt(params.Ether))
	// Lowest nonce last: the pool queues the others until it arrives and
	// then makes them all executable at once, so none is stranded in its
	// queue (see devnet.CommitAll), and CommitAll mines them all.
	txs := make([]*types.Transaction, 10)
	for i := len(txs) - 1; i >= 0; i-- {
		code := multi
		if i > 0 {
			args, err := e.tokenABI.Pack("", fmt.Sprintf("Token %d", i), fmt.Sprintf("T%d", i), supply)
			if err != nil {
				return err
			}
			code = append(append([]byte{}, tokenBin...), args...)
			if e.tokenInit == nil {
				e.tokenInit = code
			}
		}
		tx, err := e.sendTx(ctx, nil, code, uint64(i))
		if err != nil {
			return err
		}
		txs[i] = tx
	}
	if _, err := e.d.CommitAll(ctx, e.key, txs[len(txs)-1].Nonce()+1); err != nil {
		return err
	}
	for i, tx := range txs {
		r, err := e.eth.TransactionReceipt(ctx, tx.Hash())
		if err != nil || r.Status != types.ReceiptStatusSuccessful {
			return fmt.Errorf("deployment %d failed: %v", i, err)
		}
		if i == 0 {
			e.multicall = r.ContractAddress
		} else {
			e.tokens = append(e.tokens, r.ContractAddress)
		}
	}
	return nil
}

// sendTx signs and sends a transaction from the user, the offset-th after
// its pending nonce.
func (e *env) sendTx(ctx context.Context, to *common.Address, data []byte, offset uint64) (*types.Transaction, error) {
	nonce, err := e.eth.NonceAt(ctx, e.user, nil)
	if err != nil {
		return nil, err
	}
	head, err := e.eth.HeaderByNumber(ctx, nil)
	if err != nil {
		return nil, err
	}
	gas, err := e.eth.EstimateGas(ctx, ethereum.CallMsg{From: e.user, To: to, Data: data})
	if err != nil {
		return nil, err
	}
	tip := big.NewInt(params.GWei)
	tx := types.NewTx(&types.DynamicFeeTx{
		ChainID: new(big.Int).SetUint64(e.d.ChainID()), Nonce: nonce + offset, GasTipCap: tip,
		GasFeeCap: new(big.Int).Add(tip, new(big.Int).Mul(head.BaseFee, big.NewInt(2))), Gas: gas * 2, To: to, Data: data,
	})
	signed, err := types.SignTx(tx, types.LatestSignerForChainID(tx.ChainId()), e.key)
	if err != nil {
		return nil, err
	}
	return signed, e.eth.SendTransaction(ctx, signed)
}

// pack encodes a call of a token or Multicall method.
func pack(t testing.TB, a abi.ABI, method string, args ...any) hexutil.Bytes {
	t.Helper()
	b, err := a.Pack(method, args...)
	if err != nil {
		t.Fatalf("pack %s: %v", method, err)
	}
	return b
}

// multicallOf is a Multicall.aggregate call of balanceOf(who) on each
// token.
func (e *env) multicallOf(t testing.TB, who common.Address, tokens []common.Address) hexutil.Bytes {
	t.Helper()
	type call struct {
		Target   common.Address
		CallData []byte
	}
	calls := make([]call, len(tokens))
	for i, tok := range tokens {
		calls[i] = call{tok, pack(t, e.tokenABI, "balanceOf", who)}
	}
	return pack(t, e.multiABI, "aggregate", calls)
}

// head returns the latest header.
func (e *env) head(t testing.TB) *types.Header {
	t.Helper()
	h, err := e.eth.HeaderByNumber(t.Context(), nil)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// resolve turns a block parameter into its header, as the trust stage
// will (here from the honest node: the header is the test's trust root).
func (e *env) resolve(t testing.TB, b *rpc.BlockNumberOrHash) *types.Header {
	t.Helper()
	var (
		h   *types.Header
		err error
	)
	switch {
	case b == nil:
		h, err = e.eth.HeaderByNumber(t.Context(), nil)
	case b.BlockHash != nil:
		h, err = e.eth.HeaderByHash(t.Context(), *b.BlockHash)
	case b.BlockNumber != nil && *b.BlockNumber >= 0:
		h, err = e.eth.HeaderByNumber(t.Context(), big.NewInt(b.BlockNumber.Int64()))
	default:
		h, err = e.eth.HeaderByNumber(t.Context(), nil)
	}
	if err != nil {
		t.Fatalf("header of %v: %v", b, err)
	}
	return h
}

// answer is a JSON-RPC answer: a result or an error.
type answer struct {
	Result json.RawMessage
	Err    *jsonrpc.Error
}

func (a answer) String() string {
	if a.Err != nil {
		return fmt.Sprintf("error %d %q data %s", a.Err.Code, a.Err.Message, a.Err.Data)
	}
	return string(a.Result)
}

// node is the honest node's answer to the call.
func (e *env) node(t testing.TB, method string, params ...any) answer {
	t.Helper()
	var raw json.RawMessage
	err := e.d.RPC().CallContext(t.Context(), &raw, method, params...)
	if err == nil {
		return answer{Result: raw}
	}
	var re rpc.Error
	if !errors.As(err, &re) {
		t.Fatalf("%s: %v", method, err)
	}
	out := &jsonrpc.Error{Code: re.ErrorCode(), Message: re.Error()}
	var de rpc.DataError
	if errors.As(err, &de) && de.ErrorData() != nil {
		out = out.WithData(de.ErrorData())
	}
	return answer{Err: out}
}

// local is the executor's answer to the call with state from src.
func (e *env) local(t testing.TB, src Source, method string, params ...any) (answer, Stats) {
	t.Helper()
	raw, err := json.Marshal(params)
	if err != nil {
		t.Fatal(err)
	}
	req, err := ParseRequest(method, raw)
	if err != nil {
		return answer{Err: jsonrpc.FromError(err)}, Stats{}
	}
	res, err := e.exec.Do(t.Context(), src, e.resolve(t, req.Block), req)
	if err != nil {
		return answer{Err: jsonrpc.FromError(err)}, res.Stats
	}
	return answer{Result: res.Value}, res.Stats
}

// sameAnswer compares two answers member for member (results byte for
// byte; errors by code, message and data).
func sameAnswer(a, b answer) bool {
	if (a.Err == nil) != (b.Err == nil) {
		return false
	}
	if a.Err != nil {
		return a.Err.Code == b.Err.Code && a.Err.Message == b.Err.Message && string(a.Err.Data) == string(b.Err.Data)
	}
	return string(a.Result) == string(b.Result)
}

func uint256From(v uint64) *uint256.Int { return uint256.NewInt(v) }
