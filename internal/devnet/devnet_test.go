package devnet

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/ethdb/memorydb"
	"github.com/ethereum/go-ethereum/params"
	"github.com/ethereum/go-ethereum/rlp"
	"github.com/ethereum/go-ethereum/trie"

	"github.com/braidrpc/braid/internal/await"
)

// newTestDevnet starts a devnet with manual blocks and steps it a few
// times, so there are blocks with transactions, receipts and logs.
func newTestDevnet(t *testing.T, steps int) *Devnet {
	t.Helper()
	d, err := New(t.Context(), Options{Providers: 2})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() { d.Close() })
	for range steps {
		if _, err := d.Step(t.Context()); err != nil {
			t.Fatalf("Step: %v", err)
		}
	}
	return d
}

// response is a decoded JSON-RPC response as a client sees it.
type response struct {
	ID     json.RawMessage `json:"id"`
	Result json.RawMessage `json:"result"`
	Error  *rpcError       `json:"error"`
}

// post sends a raw body to a provider.
func post(t *testing.T, url, body string) (*http.Response, []byte, error) {
	t.Helper()
	resp, err := http.Post(url, "application/json", strings.NewReader(body))
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp, b, err
}

// call sends one call through a provider and returns its result or error.
func call(t *testing.T, p *Provider, method string, params ...any) (json.RawMessage, *rpcError) {
	t.Helper()
	if params == nil {
		params = []any{}
	}
	body, err := json.Marshal(map[string]any{"jsonrpc": "2.0", "id": 7, "method": method, "params": params})
	if err != nil {
		t.Fatal(err)
	}
	resp, b, err := post(t, p.URL, string(body))
	if err != nil {
		t.Fatalf("%s via %s: %v", method, p.Name, err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("%s via %s: HTTP %d: %s", method, p.Name, resp.StatusCode, b)
	}
	var r response
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatalf("%s via %s: bad answer %q: %v", method, p.Name, b, err)
	}
	if string(r.ID) != "7" {
		t.Fatalf("%s via %s: id %s, want 7", method, p.Name, r.ID)
	}
	if r.Error == nil && r.Result == nil {
		t.Fatalf("%s via %s: answer has neither result nor error: %s", method, p.Name, b)
	}
	return r.Result, r.Error
}

// mustCall is call that fails the test on a JSON-RPC error.
func mustCall(t *testing.T, p *Provider, method string, params ...any) json.RawMessage {
	t.Helper()
	res, e := call(t, p, method, params...)
	if e != nil {
		t.Fatalf("%s via %s: %v", method, p.Name, e)
	}
	return res
}

// honest asks the chain directly, with no faults in between.
func honest(t *testing.T, d *Devnet, method string, params ...any) (json.RawMessage, *rpcError) {
	t.Helper()
	var raw json.RawMessage
	if err := d.RPC().CallContext(t.Context(), &raw, method, params...); err != nil {
		return nil, toRPCError(err)
	}
	if raw == nil {
		raw = nullJSON
	}
	return raw, nil
}

func mustHonest(t *testing.T, d *Devnet, method string, params ...any) json.RawMessage {
	t.Helper()
	res, e := honest(t, d, method, params...)
	if e != nil {
		t.Fatalf("%s: %v", method, e)
	}
	return res
}

func decodeQuantity(t *testing.T, raw json.RawMessage) *big.Int {
	t.Helper()
	var q hexutil.Big
	if err := json.Unmarshal(raw, &q); err != nil {
		t.Fatalf("not a quantity: %s", raw)
	}
	return q.ToInt()
}

// decodeWord decodes a 32-byte ABI word answered by eth_call.
func decodeWord(t *testing.T, raw json.RawMessage) *big.Int {
	t.Helper()
	var b hexutil.Bytes
	if err := json.Unmarshal(raw, &b); err != nil || len(b) != 32 {
		t.Fatalf("not an ABI word: %s", raw)
	}
	return new(big.Int).SetBytes(b)
}

func headNumber(t *testing.T, d *Devnet) uint64 {
	t.Helper()
	return decodeQuantity(t, mustHonest(t, d, "eth_blockNumber")).Uint64()
}

func balanceOfCall(d *Devnet, who common.Address) map[string]any {
	return map[string]any{"to": d.Token(), "data": hexutil.Bytes(d.token.pack("balanceOf", who))}
}

func callMsg(d *Devnet, method string, args ...any) ethereum.CallMsg {
	to := d.Token()
	return ethereum.CallMsg{To: &to, Data: d.token.pack(method, args...)}
}

// transferTopic is the Transfer event's topic.
func transferTopic() common.Hash { return TokenABI().Events["Transfer"].ID }

func TestChainServesDemoState(t *testing.T) {
	d := newTestDevnet(t, 0)
	p := d.Providers()[0]
	user := d.UserAccount().Address

	if got := mustCall(t, p, "eth_chainId"); string(got) != `"0x539"` {
		t.Errorf("eth_chainId = %s, want \"0x539\"", got)
	}
	if d.ChainID() != 1337 {
		t.Errorf("ChainID() = %d, want 1337", d.ChainID())
	}
	if c := d.ChainConfig(); c.ChainID.Uint64() != d.ChainID() || !c.IsOsaka(big.NewInt(0), 0) {
		t.Errorf("ChainConfig() = chain %v, Osaka at genesis %v; want chain %d with every fork", c.ChainID, c.IsOsaka(big.NewInt(0), 0), d.ChainID())
	}
	if c := d.ChainConfig(); c == params.AllDevChainProtocolChanges {
		t.Error("ChainConfig() returns go-ethereum's shared configuration, not a copy")
	}
	want := new(big.Int).Mul(big.NewInt(10_000), big.NewInt(params.Ether))
	if got := decodeQuantity(t, mustCall(t, p, "eth_getBalance", user, "latest")); got.Cmp(want) != 0 {
		t.Errorf("user balance = %s, want %s", got, want)
	}
	if got := mustCall(t, p, "eth_getCode", d.Token(), "latest"); len(got) < 10 {
		t.Errorf("token has no code: %s", got)
	}
	out := mustCall(t, p, "eth_call", balanceOfCall(d, user), "latest")
	if got := decodeWord(t, out); got.Cmp(UserTokens) != 0 {
		t.Errorf("balanceOf(user) = %s, want %s", got, UserTokens)
	}
	var name string
	res, err := d.eth.CallContract(t.Context(), callMsg(d, "name"), nil)
	if err != nil || TokenABI().UnpackIntoInterface(&name, "name", res) != nil || name != TokenName {
		t.Errorf("name() = %q (%v), want %q", name, err, TokenName)
	}
	if acct := d.UserAccount(); acct.Address != crypto.PubkeyToAddress(d.UserPrivateKey().PublicKey) ||
		acct.Address != common.HexToAddress("0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266") {
		t.Errorf("user account %s does not match its key", acct.Address)
	}
}

func TestStepMinesDemoTransactions(t *testing.T) {
	d := newTestDevnet(t, 0)
	p := d.Providers()[1]
	before := decodeQuantity(t, mustCall(t, p, "eth_getBalance", Recipients[0], "latest"))

	var blocks []common.Hash
	for range 4 {
		h, err := d.Step(t.Context())
		if err != nil {
			t.Fatalf("Step: %v", err)
		}
		blocks = append(blocks, h)
	}
	var sawLogs bool
	for _, h := range blocks {
		var block struct {
			Number       hexutil.Uint64 `json:"number"`
			Transactions []common.Hash  `json:"transactions"`
		}
		if err := json.Unmarshal(mustCall(t, p, "eth_getBlockByHash", h, false), &block); err != nil {
			t.Fatal(err)
		}
		if n := len(block.Transactions); n < 2 || n > 4 {
			t.Errorf("block %d has %d transactions, want 2 to 4", block.Number, n)
		}
		for _, tx := range block.Transactions {
			var rcpt types.Receipt
			if err := json.Unmarshal(mustCall(t, p, "eth_getTransactionReceipt", tx), &rcpt); err != nil {
				t.Fatal(err)
			}
			if rcpt.Status != types.ReceiptStatusSuccessful || rcpt.BlockHash != h {
				t.Errorf("tx %s: status %d in %s", tx, rcpt.Status, rcpt.BlockHash)
			}
			sawLogs = sawLogs || len(rcpt.Logs) > 0
		}
	}
	if !sawLogs {
		t.Error("no receipt has logs")
	}
	after := decodeQuantity(t, mustCall(t, p, "eth_getBalance", Recipients[0], "latest"))
	if after.Cmp(before) <= 0 {
		t.Errorf("recipient balance %s did not grow from %s", after, before)
	}

	var logs []types.Log
	filter := map[string]any{"fromBlock": "0x0", "toBlock": "latest", "address": d.Token(),
		"topics": []any{transferTopic()}}
	if err := json.Unmarshal(mustCall(t, p, "eth_getLogs", filter), &logs); err != nil {
		t.Fatal(err)
	}
	// Mint, user funding, and at least one per step.
	if len(logs) < 2+len(blocks) {
		t.Errorf("eth_getLogs found %d Transfer logs, want at least %d", len(logs), 2+len(blocks))
	}
}

func TestGetProofVerifies(t *testing.T) {
	d := newTestDevnet(t, 1)
	p := d.Providers()[0]
	var block struct {
		StateRoot common.Hash    `json:"stateRoot"`
		Number    hexutil.Uint64 `json:"number"`
	}
	if err := json.Unmarshal(mustCall(t, p, "eth_getBlockByNumber", "latest", false), &block); err != nil {
		t.Fatal(err)
	}
	var proof struct {
		Balance      *hexutil.Big    `json:"balance"`
		Nonce        hexutil.Uint64  `json:"nonce"`
		StorageHash  common.Hash     `json:"storageHash"`
		CodeHash     common.Hash     `json:"codeHash"`
		AccountProof []hexutil.Bytes `json:"accountProof"`
	}
	res := mustCall(t, p, "eth_getProof", d.Token(), []string{}, hexutil.Uint64(block.Number))
	if err := json.Unmarshal(res, &proof); err != nil {
		t.Fatal(err)
	}
	db := memorydb.New()
	for _, node := range proof.AccountProof {
		db.Put(crypto.Keccak256(node), node)
	}
	val, err := trie.VerifyProof(block.StateRoot, crypto.Keccak256(d.Token().Bytes()), db)
	if err != nil || val == nil {
		t.Fatalf("account proof does not verify: %v", err)
	}
	var acct types.StateAccount
	if err := rlp.DecodeBytes(val, &acct); err != nil {
		t.Fatal(err)
	}
	if acct.Root != proof.StorageHash || common.BytesToHash(acct.CodeHash) != proof.CodeHash {
		t.Errorf("proved account %+v does not match the answer", acct)
	}
}

func TestBlockLoopStreamsTransactions(t *testing.T) {
	d, err := New(t.Context(), Options{Providers: 1, BlockTime: 10 * time.Millisecond, TxStream: true})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	start := headNumber(t, d)
	await.Until(t, "the block loop committing 3 blocks", func() bool { return headNumber(t, d) >= start+3 })
	var count hexutil.Uint64
	res := mustCall(t, d.Providers()[0], "eth_getBlockTransactionCountByNumber", hexutil.Uint64(start+2))
	if err := json.Unmarshal(res, &count); err != nil || count < 2 {
		t.Errorf("loop block has %d transactions (%v), want at least 2", count, err)
	}
	if err := d.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
}

func TestUpstreams(t *testing.T) {
	d := newTestDevnet(t, 0)
	ups := d.Upstreams()
	if len(ups) != 2 {
		t.Fatalf("%d upstreams, want 2", len(ups))
	}
	for i, u := range ups {
		name, op := fmt.Sprintf("p%d", i+1), fmt.Sprintf("operator-%d", i+1)
		if u.Name != name || u.Operator != op || u.URL != d.Providers()[i].URL ||
			!strings.HasPrefix(u.URL, "http://127.0.0.1:") || !strings.HasSuffix(u.URL, "/") {
			t.Errorf("upstream %d = %+v", i, u)
		}
		if d.Provider(name) != d.Providers()[i] {
			t.Errorf("Provider(%q) is not the %dth provider", name, i+1)
		}
	}
	if d.Provider("p9") != nil {
		t.Error("Provider(p9) is not nil")
	}
}

func TestDefaultProviders(t *testing.T) {
	d, err := New(t.Context(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if n := len(d.Providers()); n != DefaultProviders {
		t.Errorf("%d providers, want %d", n, DefaultProviders)
	}
	if _, err := New(t.Context(), Options{Providers: -1}); err == nil {
		t.Error("New accepted -1 providers")
	}
}

func TestCloseStopsEverything(t *testing.T) {
	d, err := New(t.Context(), Options{Providers: 2, BlockTime: 5 * time.Millisecond, TxStream: true})
	if err != nil {
		t.Fatal(err)
	}
	p := d.Providers()[0]
	mustCall(t, p, "eth_blockNumber")
	// A slow request in flight must not hold Close up.
	p.SetFaults(Faults{LatencyMS: 60_000})
	inflight := make(chan error, 1)
	go func() {
		_, _, err := post(t, p.URL, `{"jsonrpc":"2.0","id":1,"method":"eth_blockNumber"}`)
		inflight <- err
	}()
	time.Sleep(20 * time.Millisecond)

	var wg sync.WaitGroup
	errs := make([]error, 3)
	for i := range errs {
		wg.Go(func() { errs[i] = d.Close() })
	}
	wg.Wait()
	// Had the slow request held Close up, the providers' graceful
	// shutdown would have run out of its grace period and Close would
	// say so (a wall-clock bound here failed on a loaded machine).
	for _, err := range append(errs, d.Close()) {
		if err != nil {
			t.Errorf("Close: %v", err)
		}
	}
	<-inflight
	if _, _, err := post(t, p.URL, `{"jsonrpc":"2.0","id":1,"method":"eth_blockNumber"}`); err == nil {
		t.Error("a provider still answers after Close")
	}
	if _, err := d.Step(context.Background()); err != ErrClosed {
		t.Errorf("Step after Close = %v, want ErrClosed", err)
	}
	if h := d.Commit(); h != (common.Hash{}) {
		t.Errorf("Commit after Close = %s, want zero", h)
	}
	waitNoDevnetGoroutines(t)
}

// waitNoDevnetGoroutines fails if goroutines of this package's servers or
// loop outlive Close. (go-ethereum keeps a few process-wide goroutines of
// its own; they are not counted.)
func waitNoDevnetGoroutines(t *testing.T) {
	t.Helper()
	markers := []string{"devnet.(*Devnet)", "devnet.(*Provider)", "devnet.(*wsConn)", "devnet.startProvider",
		"net/http.(*Server).Serve", "net/http.(*conn).serve"}
	var left string
	if !await.Poll(3*time.Second, func() bool {
		buf := make([]byte, 1<<20)
		buf = buf[:runtime.Stack(buf, true)]
		left = ""
		for _, g := range bytes.Split(buf, []byte("\n\n")) {
			for _, m := range markers {
				if bytes.Contains(g, []byte(m)) {
					left += string(g) + "\n\n"
					break
				}
			}
		}
		return left == ""
	}) {
		t.Errorf("goroutines left after Close:\n%s", left)
	}
}

func TestConcurrentUse(t *testing.T) {
	d := newTestDevnet(t, 1)
	var wg sync.WaitGroup
	for i, p := range d.Providers() {
		wg.Go(func() {
			for j := range 20 {
				p.SetFaults(Faults{LagBlocks: uint64(j % 3), Lie: j%2 == 0, ErrorRate: float64(i) / 4})
				call(t, p, "eth_getBalance", Recipients[0], "latest")
				call(t, p, "eth_getLogs", map[string]any{"fromBlock": "0x0"})
				_ = p.Requests()
			}
		})
	}
	wg.Go(func() {
		for range 5 {
			if _, err := d.Step(t.Context()); err != nil {
				t.Errorf("Step: %v", err)
			}
			d.Commit()
		}
	})
	wg.Wait()
	for _, p := range d.Providers() {
		if p.Requests() < 40 {
			t.Errorf("%s served %d calls, want at least 40", p.Name, p.Requests())
		}
	}
}
