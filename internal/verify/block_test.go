package verify

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/ethclient"
	"github.com/ethereum/go-ethereum/params"

	"github.com/braidrpc/braid/internal/devnet"
)

// chainSeedsFile holds real block and receipts answers with their
// headers: the fuzz corpus and an offline regression set. Rewrite it from
// a fresh devnet with BRAID_WRITE_CHAIN_SEEDS=1 go test -run TestChainSeeds .
var chainSeedsFile = filepath.Join("testdata", "chain_blocks.json")

// chainBlock is one real block as geth answers for it.
type chainBlock struct {
	Name     string          `json:"name"`
	Header   *types.Header   `json:"header"`
	Full     json.RawMessage `json:"full"`     // eth_getBlockByHash(hash, true)
	Hashes   json.RawMessage `json:"hashes"`   // eth_getBlockByHash(hash, false)
	Receipts json.RawMessage `json:"receipts"` // eth_getBlockReceipts
}

// chainLogQuery is an eth_getLogs question and geth's answer.
type chainLogQuery struct {
	name   string
	filter json.RawMessage
	answer json.RawMessage
}

// chainData is everything asked of one devnet, which is closed by then.
type chainData struct {
	blocks  []*chainBlock // by number, from 1
	token   common.Address
	txs     map[common.Hash]json.RawMessage // eth_getTransactionByHash
	byIndex map[common.Hash]json.RawMessage // eth_getTransactionByBlockHashAndIndex, by tx hash
	rcpts   map[common.Hash]json.RawMessage // eth_getTransactionReceipt
	pending json.RawMessage                 // eth_getTransactionByHash before mining
	pendTx  common.Hash
	logs    []chainLogQuery
	special map[string]common.Hash // "legacy", "accessList", "create", "emptyBlock", "mixedBlock"
}

var (
	chainOnce sync.Once
	chainVal  *chainData
	chainErr  error
)

// chain returns the answers of a devnet shared by the tests (built once).
func chain(t testing.TB) *chainData {
	t.Helper()
	chainOnce.Do(func() { chainVal, chainErr = buildChain() })
	if chainErr != nil {
		t.Fatalf("devnet: %v", chainErr)
	}
	return chainVal
}

func buildChain() (_ *chainData, err error) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	dn, err := devnet.New(ctx, devnet.Options{Providers: 1})
	if err != nil {
		return nil, err
	}
	defer dn.Close()
	c, ec := dn.RPC(), ethclient.NewClient(dn.RPC())
	d := &chainData{token: dn.Token(), txs: map[common.Hash]json.RawMessage{}, byIndex: map[common.Hash]json.RawMessage{},
		rcpts: map[common.Hash]json.RawMessage{}, special: map[string]common.Hash{}}
	call := func(method string, args ...any) (json.RawMessage, error) {
		var raw json.RawMessage
		if err := c.CallContext(ctx, &raw, method, args...); err != nil {
			return nil, fmt.Errorf("%s: %w", method, err)
		}
		return raw, nil
	}

	// Blocks 1 and 2 are the devnet's setup (token deployment, funding).
	for range 2 {
		if _, err := dn.Step(ctx); err != nil {
			return nil, err
		}
	}
	d.special["emptyBlock"] = dn.Commit()
	// A block with one transaction of each older type and a contract
	// creation, from the user account; the first one is seen pending.
	sent, err := chainSendKinds(ctx, dn, ec)
	if err != nil {
		return nil, err
	}
	d.pendTx = sent[0].Hash()
	if d.pending, err = call("eth_getTransactionByHash", d.pendTx); err != nil {
		return nil, err
	}
	if d.special["mixedBlock"], err = dn.CommitAll(ctx, dn.UserPrivateKey(), sent[len(sent)-1].Nonce()+1); err != nil {
		return nil, err
	}
	d.special["legacy"], d.special["accessList"], d.special["create"] = sent[0].Hash(), sent[1].Hash(), sent[2].Hash()
	for range 3 {
		if _, err := dn.Step(ctx); err != nil {
			return nil, err
		}
	}

	head, err := ec.BlockNumber(ctx)
	if err != nil {
		return nil, err
	}
	for n := uint64(1); n <= head; n++ {
		h, err := ec.HeaderByNumber(ctx, new(big.Int).SetUint64(n))
		if err != nil {
			return nil, err
		}
		// The trusted header comes from ethclient, as braid's would.
		if h, err = ec.HeaderByHash(ctx, h.Hash()); err != nil {
			return nil, err
		}
		b := &chainBlock{Name: "block " + fmt.Sprint(n), Header: h}
		if b.Full, err = call("eth_getBlockByHash", h.Hash(), true); err != nil {
			return nil, err
		}
		if b.Hashes, err = call("eth_getBlockByHash", h.Hash(), false); err != nil {
			return nil, err
		}
		if b.Receipts, err = call("eth_getBlockReceipts", h.Hash()); err != nil {
			return nil, err
		}
		var blk struct {
			Transactions []common.Hash `json:"transactions"`
		}
		if err := json.Unmarshal(b.Hashes, &blk); err != nil {
			return nil, err
		}
		for i, tx := range blk.Transactions {
			if d.txs[tx], err = call("eth_getTransactionByHash", tx); err != nil {
				return nil, err
			}
			if d.byIndex[tx], err = call("eth_getTransactionByBlockHashAndIndex", h.Hash(), hexutil.Uint64(i)); err != nil {
				return nil, err
			}
			if d.rcpts[tx], err = call("eth_getTransactionReceipt", tx); err != nil {
				return nil, err
			}
		}
		d.blocks = append(d.blocks, b)
	}

	transfer := crypto.Keccak256Hash([]byte("Transfer(address,address,uint256)"))
	to := common.BytesToHash(devnet.Recipients[2].Bytes())
	other := common.BytesToHash(devnet.Recipients[3].Bytes())
	mixed := d.special["mixedBlock"]
	step := d.blocks[len(d.blocks)-1].Header.Hash()
	rng := map[string]any{"fromBlock": "0x1", "toBlock": hexutil.EncodeUint64(head)}
	with := func(extra map[string]any) map[string]any {
		q := map[string]any{}
		for k, v := range rng {
			q[k] = v
		}
		for k, v := range extra {
			q[k] = v
		}
		return q
	}
	for _, q := range []struct {
		name   string
		filter map[string]any
	}{
		{"token over the range", with(map[string]any{"address": d.token})},
		{"transfers to one recipient", with(map[string]any{"topics": []any{transfer, nil, to}})},
		{"either recipient", with(map[string]any{"topics": []any{nil, nil, []common.Hash{to, other}}})},
		{"everything", with(nil)},
		{"one block by hash", map[string]any{"blockHash": step}},
		{"empty: the token in a block without its logs", map[string]any{"blockHash": mixed, "address": []common.Address{d.token}}},
		{"empty: an address without logs", with(map[string]any{"address": devnet.Recipients[0]})},
		{"empty: four topics", with(map[string]any{"topics": []any{transfer, nil, nil, nil}})},
	} {
		f, _ := json.Marshal(q.filter)
		ans, err := call("eth_getLogs", q.filter)
		if err != nil {
			return nil, err
		}
		d.logs = append(d.logs, chainLogQuery{name: q.name, filter: f, answer: ans})
	}
	return d, nil
}

// chainSendKinds sends, from the user account, a legacy EIP-155 transfer,
// an access-list transfer and a contract creation, without mining them.
func chainSendKinds(ctx context.Context, dn *devnet.Devnet, ec *ethclient.Client) ([]*types.Transaction, error) {
	key := dn.UserPrivateKey()
	from := crypto.PubkeyToAddress(key.PublicKey)
	nonce, err := ec.PendingNonceAt(ctx, from)
	if err != nil {
		return nil, err
	}
	head, err := ec.HeaderByNumber(ctx, nil)
	if err != nil {
		return nil, err
	}
	chainID := new(big.Int).SetUint64(dn.ChainID())
	price := new(big.Int).Add(new(big.Int).Mul(head.BaseFee, big.NewInt(2)), big.NewInt(params.GWei))
	to := devnet.Recipients[1]
	code := common.FromHex("0x600060005360016000f3") // deploys a one-byte contract
	gas, err := ec.EstimateGas(ctx, ethereum.CallMsg{From: from, Data: code})
	if err != nil {
		return nil, err
	}
	signer := types.LatestSignerForChainID(chainID)
	inners := []types.TxData{
		&types.LegacyTx{Nonce: nonce, GasPrice: price, Gas: 21000, To: &to, Value: big.NewInt(7)},
		&types.AccessListTx{ChainID: chainID, Nonce: nonce + 1, GasPrice: price, Gas: 30000, To: &to, Value: big.NewInt(8),
			AccessList: types.AccessList{{Address: to, StorageKeys: []common.Hash{{1}}}}},
		&types.DynamicFeeTx{ChainID: chainID, Nonce: nonce + 2, GasTipCap: big.NewInt(params.GWei), GasFeeCap: price, Gas: gas * 2, Data: code},
	}
	// Lowest nonce last: the pool queues the others until it arrives and
	// then makes them all executable at once, so none is stranded in its
	// queue (see devnet.CommitAll).
	txs := make([]*types.Transaction, len(inners))
	for i := len(inners) - 1; i >= 0; i-- {
		tx, err := types.SignNewTx(key, signer, inners[i])
		if err != nil {
			return nil, err
		}
		if err := ec.SendTransaction(ctx, tx); err != nil {
			return nil, fmt.Errorf("transaction %d: %w", i, err)
		}
		txs[i] = tx
	}
	return txs, nil
}

// block returns the block of hash.
func (d *chainData) block(t testing.TB, hash common.Hash) *chainBlock {
	t.Helper()
	for _, b := range d.blocks {
		if b.Header.Hash() == hash {
			return b
		}
	}
	t.Fatalf("no block %s", hash)
	return nil
}

// blockOf returns the block holding transaction tx.
func (d *chainData) blockOf(t testing.TB, tx common.Hash) *chainBlock {
	t.Helper()
	for _, b := range d.blocks {
		if bytes.Contains(b.Hashes, []byte(tx.Hex())) {
			return b
		}
	}
	t.Fatalf("no block holds %s", tx)
	return nil
}

// verifiedBlockOf returns the block holding transaction tx and its
// verified transaction hashes.
func (d *chainData) verifiedBlockOf(t testing.TB, tx common.Hash) (*chainBlock, []common.Hash) {
	t.Helper()
	b := d.blockOf(t, tx)
	hashes, err := verifyBlockFull(b.Header, b.Full)
	if err != nil {
		t.Fatal(err)
	}
	return b, hashes
}

// busiestWithout returns the block with the most transactions among those
// that do not hold transaction tx.
func (d *chainData) busiestWithout(t testing.TB, tx common.Hash) *chainBlock {
	t.Helper()
	var best *chainBlock
	n := -1
	for _, b := range d.blocks {
		if bytes.Contains(b.Hashes, []byte(tx.Hex())) {
			continue
		}
		if c := len(chainList(t, chainGet(t, b.Full, "transactions"))); c > n {
			best, n = b, c
		}
	}
	if best == nil {
		t.Fatalf("every block holds %s", tx)
	}
	return best
}

// busiest returns the block with the most transactions.
func (d *chainData) busiest(t testing.TB) *chainBlock {
	t.Helper()
	var best *chainBlock
	n := -1
	for _, b := range d.blocks {
		if c := len(chainList(t, chainGet(t, b.Full, "transactions"))); c > n {
			best, n = b, c
		}
	}
	return best
}

func chainIsError(err error) bool {
	var e *Error
	return errors.As(err, &e)
}

// --- JSON editing for lies ---

func chainDecode(t testing.TB, raw []byte) any {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		t.Fatalf("decode %.80s: %v", raw, err)
	}
	return v
}

func chainEncode(t testing.TB, v any) json.RawMessage {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// chainEdit decodes raw, lets edit change it and encodes the result.
func chainEdit(t testing.TB, raw []byte, edit func(v any) any) json.RawMessage {
	t.Helper()
	return chainEncode(t, edit(chainDecode(t, raw)))
}

// chainGet returns member k of a JSON object.
func chainGet(t testing.TB, raw []byte, k string) json.RawMessage {
	t.Helper()
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	return m[k]
}

func chainList(t testing.TB, raw []byte) []json.RawMessage {
	t.Helper()
	var l []json.RawMessage
	if err := json.Unmarshal(raw, &l); err != nil {
		t.Fatal(err)
	}
	return l
}

func chainObj(v any) map[string]any { return v.(map[string]any) }
func chainL(v any) []any            { return v.([]any) }

// set returns an edit setting member k of an object.
func chainSet(k string, val any) func(any) any {
	return func(v any) any { chainObj(v)[k] = val; return v }
}

// bump adds d to a hex quantity.
func chainBump(q any, d int64) string {
	n, err := hexutil.DecodeBig(q.(string))
	if err != nil {
		panic(err)
	}
	return hexutil.EncodeBig(n.Add(n, big.NewInt(d)))
}

// flipHex changes the last hex digit of a hex string.
func chainFlip(s any) string {
	b := []byte(s.(string))
	if b[len(b)-1] == '0' {
		b[len(b)-1] = '1'
	} else {
		b[len(b)-1] = '0'
	}
	return string(b)
}

func TestVerifyBlock(t *testing.T) {
	d := chain(t)
	for _, b := range d.blocks {
		t.Run(b.Name, func(t *testing.T) {
			hashes, err := verifyBlockFull(b.Header, b.Full)
			if err != nil {
				t.Fatalf("full: %v", err)
			}
			if err := VerifyBlockHashes(b.Header, b.Hashes, hashes); err != nil {
				t.Fatalf("hashes: %v", err)
			}
			txs, err := VerifyBlockTxs(b.Header, b.Full)
			if err != nil || len(txs) != len(hashes) {
				t.Fatalf("txs: %d, %v", len(txs), err)
			}
			var want struct {
				Transactions []common.Hash `json:"transactions"`
			}
			if err := json.Unmarshal(b.Hashes, &want); err != nil {
				t.Fatal(err)
			}
			if fmt.Sprint(want.Transactions) != fmt.Sprint(hashes) {
				t.Fatalf("hashes %v, the block lists %v", hashes, want.Transactions)
			}
		})
	}
	empty := d.block(t, d.special["emptyBlock"])
	if hashes, err := verifyBlockFull(empty.Header, empty.Full); err != nil || len(hashes) != 0 {
		t.Fatalf("empty block: %v, %v", hashes, err)
	}
	if err := VerifyBlockHashes(empty.Header, empty.Hashes, nil); err != nil {
		t.Fatalf("empty block, hashes: %v", err)
	}
}

// TestVerifyBlockLies tampers with real block answers; every lie must be
// an *Error.
func TestVerifyBlockLies(t *testing.T) {
	d := chain(t)
	b := d.busiest(t)
	other := d.block(t, d.special["mixedBlock"])
	h := b.Header
	txs := func(edit func(l []any) []any) func(any) any {
		return func(v any) any { chainObj(v)["transactions"] = edit(chainL(chainObj(v)["transactions"])); return v }
	}
	tx0 := func(edit func(m map[string]any)) func(any) any {
		return txs(func(l []any) []any { edit(chainObj(l[0])); return l })
	}
	otherTx := chainL(chainObj(chainDecode(t, other.Full))["transactions"])[0]
	for _, c := range []struct {
		name string
		edit func(any) any
	}{
		{"stateRoot", func(v any) any { chainObj(v)["stateRoot"] = chainFlip(chainObj(v)["stateRoot"]); return v }},
		{"timestamp", func(v any) any { chainObj(v)["timestamp"] = chainBump(chainObj(v)["timestamp"], 1); return v }},
		{"receiptsRoot", func(v any) any { chainObj(v)["receiptsRoot"] = chainFlip(chainObj(v)["receiptsRoot"]); return v }},
		{"hash member", func(v any) any { chainObj(v)["hash"] = chainFlip(chainObj(v)["hash"]); return v }},
		{"no hash member", func(v any) any { delete(chainObj(v), "hash"); return v }},
		// Found by FuzzVerifyBlockFull: HeaderFromJSON skips a hash it cannot decode.
		{"hash member one digit short", func(v any) any { chainObj(v)["hash"] = chainObj(v)["hash"].(string)[:65]; return v }},
		{"hash member not a string", chainSet("hash", true)},
		{"stateRoot twice, case apart", func(v any) any { chainObj(v)["StateRoot"] = chainFlip(chainObj(v)["stateRoot"]); return v }},
		{"stateRoot in other case", func(v any) any {
			chainObj(v)["STATEROOT"] = chainObj(v)["stateRoot"]
			delete(chainObj(v), "stateRoot")
			return v
		}},
		{"dropped transaction", txs(func(l []any) []any { return l[1:] })},
		{"added transaction", txs(func(l []any) []any { return append(l, l[0]) })},
		{"foreign transaction", txs(func(l []any) []any { return append(l, otherTx) })},
		{"reordered transactions", txs(func(l []any) []any { l[0], l[1] = l[1], l[0]; return l })},
		{"transactions as hashes", func(v any) any { return chainDecode(t, b.Hashes) }},
		{"altered value", tx0(func(m map[string]any) { m["value"] = chainBump(m["value"], 1) })},
		{"altered value, rehashed", tx0(func(m map[string]any) { m["value"] = chainBump(m["value"], 1); m["hash"] = chainFlip(m["hash"]) })},
		{"altered nonce", tx0(func(m map[string]any) { m["nonce"] = chainBump(m["nonce"], 1) })},
		{"altered from", tx0(func(m map[string]any) { m["from"] = chainStranger.Hex() })},
		{"no from", tx0(func(m map[string]any) { delete(m, "from") })},
		{"altered gasPrice", tx0(func(m map[string]any) { m["gasPrice"] = chainBump(m["gasPrice"], 1) })},
		{"altered blockHash", tx0(func(m map[string]any) { m["blockHash"] = chainFlip(m["blockHash"]) })},
		{"altered blockNumber", tx0(func(m map[string]any) { m["blockNumber"] = chainBump(m["blockNumber"], 1) })},
		{"altered blockTimestamp", tx0(func(m map[string]any) { m["blockTimestamp"] = chainBump(m["blockTimestamp"], 1) })},
		{"altered transactionIndex", tx0(func(m map[string]any) { m["transactionIndex"] = "0x1" })},
		{"altered chainId", tx0(func(m map[string]any) { m["chainId"] = chainBump(m["chainId"], 1) })},
		{"altered yParity", tx0(func(m map[string]any) { m["yParity"] = "0x5" })},
		{"added blob fee cap", tx0(func(m map[string]any) { m["maxFeePerBlobGas"] = "0x1" })},
		{"value in other case", tx0(func(m map[string]any) { m["Value"] = m["value"]; delete(m, "value") })},
		{"input twice", tx0(func(m map[string]any) { m["INPUT"] = "0x01" })},
		{"null transaction", txs(func(l []any) []any { l[0] = nil; return l })},
		{"added withdrawal", func(v any) any {
			chainObj(v)["withdrawals"] = []any{map[string]any{"index": "0x0", "validatorIndex": "0x0", "address": chainStranger.Hex(), "amount": "0x1"}}
			return v
		}},
		{"no withdrawals", func(v any) any { delete(chainObj(v), "withdrawals"); return v }},
		{"an uncle", chainSet("uncles", []any{h.ParentHash.Hex()})},
		{"no uncles", func(v any) any { delete(chainObj(v), "uncles"); return v }},
		{"size", func(v any) any { chainObj(v)["size"] = chainBump(chainObj(v)["size"], 1); return v }},
		{"null", func(any) any { return nil }},
		{"a list", func(v any) any { return []any{v} }},
	} {
		t.Run(c.name, func(t *testing.T) {
			raw := chainEdit(t, b.Full, c.edit)
			_, err := verifyBlockFull(h, raw)
			chainWantLie(t, err)
		})
	}
	hashes, err := verifyBlockFull(h, b.Full)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name string
		edit func(any) any
	}{
		{"stateRoot", func(v any) any { chainObj(v)["stateRoot"] = chainFlip(chainObj(v)["stateRoot"]); return v }},
		{"dropped hash", txs(func(l []any) []any { return l[1:] })},
		{"added hash", txs(func(l []any) []any { return append(l, l[0]) })},
		{"reordered hashes", txs(func(l []any) []any { l[0], l[1] = l[1], l[0]; return l })},
		{"altered hash", txs(func(l []any) []any { l[0] = chainFlip(l[0]); return l })},
		{"full transactions", func(v any) any { return chainDecode(t, b.Full) }},
		{"an uncle", chainSet("uncles", []any{h.ParentHash.Hex()})},
		{"gasUsed", func(v any) any { chainObj(v)["gasUsed"] = chainBump(chainObj(v)["gasUsed"], 1); return v }},
	} {
		t.Run("hashes/"+c.name, func(t *testing.T) {
			raw := chainEdit(t, b.Hashes, c.edit)
			err := VerifyBlockHashes(h, raw, hashes)
			chainWantLie(t, err)
		})
	}
	// The right answer for another block is a lie too.
	if _, err := verifyBlockFull(h, other.Full); !chainIsError(err) {
		t.Fatalf("another block accepted: %v", err)
	}
}

// TestVerifyBlockTolerates lists honest variations of an answer that
// other nodes write and that must still verify.
func TestVerifyBlockTolerates(t *testing.T) {
	d := chain(t)
	b := d.block(t, d.special["mixedBlock"])
	for _, c := range []struct {
		name string
		edit func(any) any
	}{
		{"as is", func(v any) any { return v }},
		{"upper-case hex", func(v any) any {
			m := chainObj(v)
			m["stateRoot"] = "0x" + strings.ToUpper(m["stateRoot"].(string)[2:])
			tx := chainObj(chainL(m["transactions"])[0])
			tx["from"] = common.HexToAddress(tx["from"].(string)).Hex() // checksummed
			return v
		}},
		{"unknown members", func(v any) any {
			chainObj(v)["totalDifficulty"] = "0x0"
			chainObj(chainL(chainObj(v)["transactions"])[0])["l1Fee"] = "0x1"
			return v
		}},
		{"no size, no blockTimestamp", func(v any) any {
			delete(chainObj(v), "size")
			for _, tx := range chainL(chainObj(v)["transactions"]) {
				delete(chainObj(tx), "blockTimestamp")
			}
			return v
		}},
		{"legacy yParity", func(v any) any {
			for _, tx := range chainL(chainObj(v)["transactions"]) {
				if m := chainObj(tx); m["type"] == "0x0" {
					m["yParity"] = chainBump(m["v"], -int64(2*1337+35))
				}
			}
			return v
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			if _, err := verifyBlockFull(b.Header, chainEdit(t, b.Full, c.edit)); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestVerifyTransaction(t *testing.T) {
	d := chain(t)
	for tx, raw := range d.txs {
		b := d.blockOf(t, tx)
		hashes, err := verifyBlockFull(b.Header, b.Full)
		if err != nil {
			t.Fatal(err)
		}
		if err := VerifyTransaction(b.Header, hashes, raw, tx); err != nil {
			t.Errorf("by hash %s: %v", tx, err)
		}
		if err := VerifyTransaction(b.Header, hashes, d.byIndex[tx], tx); err != nil {
			t.Errorf("by index %s: %v", tx, err)
		}
		if err := VerifyTransaction(b.Header, hashes, raw, common.Hash{}); err != nil {
			t.Errorf("no hash asked %s: %v", tx, err)
		}
	}
	if err := VerifyTransaction(nil, nil, d.pending, d.pendTx); err != nil {
		t.Errorf("pending: %v", err)
	}
	for _, k := range []string{"legacy", "accessList", "create"} {
		if _, ok := d.txs[d.special[k]]; !ok {
			t.Errorf("no %s transaction", k)
		}
	}
}

func TestVerifyTransactionLies(t *testing.T) {
	d := chain(t)
	legacy := d.special["legacy"]
	b, hashes := d.verifiedBlockOf(t, legacy)
	edit := func(tx common.Hash, f func(m map[string]any)) json.RawMessage {
		return chainEdit(t, d.txs[tx], func(v any) any { f(chainObj(v)); return v })
	}
	type lie struct {
		name   string
		h      *types.Header
		hashes []common.Hash
		raw    json.RawMessage
		want   common.Hash
	}
	var lies []lie
	for _, k := range []string{"legacy", "accessList", "create"} {
		// Each lie is told about the transaction's own block, and
		// "another block" is one that does not hold it: a lie must not
		// rest on the three sharing a block (a devnet that spread them
		// over two once made "another block" the truth).
		tx := d.special[k]
		b, hashes := d.verifiedBlockOf(t, tx)
		other := d.busiestWithout(t, tx)
		otherHashes, err := verifyBlockFull(other.Header, other.Full)
		if err != nil {
			t.Fatal(err)
		}
		if len(hashes) < 2 {
			t.Fatalf("the block of %s holds %d transactions; the index lies need another", k, len(hashes))
		}
		lies = append(lies,
			lie{k + ": altered value", b.Header, hashes, edit(tx, func(m map[string]any) { m["value"] = chainBump(m["value"], 1) }), tx},
			lie{k + ": altered gas", b.Header, hashes, edit(tx, func(m map[string]any) { m["gas"] = chainBump(m["gas"], 1) }), tx},
			lie{k + ": altered from", b.Header, hashes, edit(tx, func(m map[string]any) { m["from"] = chainStranger.Hex() }), tx},
			lie{k + ": altered gasPrice", b.Header, hashes, edit(tx, func(m map[string]any) { m["gasPrice"] = chainBump(m["gasPrice"], 1) }), tx},
			lie{k + ": altered index", b.Header, hashes, edit(tx, func(m map[string]any) {
				m["transactionIndex"] = hexutil.EncodeUint64((hexutil.MustDecodeUint64(m["transactionIndex"].(string)) + 1) % uint64(len(hashes)))
			}), tx},
			lie{k + ": index out of range", b.Header, hashes, edit(tx, func(m map[string]any) { m["transactionIndex"] = "0x9" }), tx},
			lie{k + ": altered blockHash", b.Header, hashes, edit(tx, func(m map[string]any) { m["blockHash"] = chainFlip(m["blockHash"]) }), tx},
			lie{k + ": no blockNumber", b.Header, hashes, edit(tx, func(m map[string]any) { delete(m, "blockNumber") }), tx},
			lie{k + ": as pending", nil, nil, edit(tx, func(m map[string]any) {}), tx},
			lie{k + ": another block", other.Header, otherHashes, d.txs[tx], tx},
			lie{k + ": not the one asked", b.Header, hashes, d.txs[tx], hashes[(slices.Index(hashes, tx)+1)%len(hashes)]},
			lie{k + ": added to", b.Header, hashes, edit(tx, func(m map[string]any) {
				if m["to"] == nil {
					m["to"] = chainStranger.Hex()
				} else {
					m["to"] = nil
				}
			}), tx},
		)
	}
	alBlock, alHashes := d.verifiedBlockOf(t, d.special["accessList"])
	lies = append(lies,
		lie{"legacy: added chainId", b.Header, hashes, edit(legacy, func(m map[string]any) { m["chainId"] = "0x1" }), legacy},
		lie{"legacy: added maxFeePerGas", b.Header, hashes, edit(legacy, func(m map[string]any) { m["maxFeePerGas"] = "0x1" }), legacy},
		lie{"legacy: added accessList", b.Header, hashes, edit(legacy, func(m map[string]any) { m["accessList"] = []any{} }), legacy},
		lie{"legacy: wrong yParity", b.Header, hashes, edit(legacy, func(m map[string]any) {
			m["yParity"] = hexutil.EncodeUint64(1 - hexutil.MustDecodeUint64(chainBump(m["v"], -(2*1337+35))))
		}), legacy},
		lie{"accessList: altered list", alBlock.Header, alHashes, edit(d.special["accessList"], func(m map[string]any) {
			chainObj(chainL(m["accessList"])[0])["address"] = chainStranger.Hex()
		}), d.special["accessList"]},
		lie{"pending: altered value", nil, nil, chainEdit(t, d.pending, func(v any) any { chainObj(v)["value"] = chainBump(chainObj(v)["value"], 1); return v }), d.pendTx},
		lie{"pending: with a block", nil, nil, chainEdit(t, d.pending, chainSet("blockHash", b.Header.Hash().Hex())), d.pendTx},
		lie{"null", b.Header, hashes, json.RawMessage("null"), legacy},
	)
	for _, c := range lies {
		t.Run(c.name, func(t *testing.T) {
			err := VerifyTransaction(c.h, c.hashes, c.raw, c.want)
			chainWantLie(t, err)
		})
	}
}

func TestVerifyUncles(t *testing.T) {
	d := chain(t)
	b := d.blocks[2]
	// Post-merge blocks have none; a header claiming one is proven by it.
	if us, err := VerifyUncles(b.Header, nil); err != nil || len(us) != 0 {
		t.Fatalf("no uncles: %v %v", us, err)
	}
	uncle := d.blocks[0]
	h := types.CopyHeader(b.Header)
	h.UncleHash = types.CalcUncleHash([]*types.Header{uncle.Header})
	raw := chainEncode(t, uncle.Header)
	us, err := VerifyUncles(h, []json.RawMessage{raw})
	if err != nil || len(us) != 1 || us[0].Hash() != uncle.Header.Hash() {
		t.Fatalf("one uncle: %v %v", us, err)
	}
	if _, err := VerifyUncles(h, []json.RawMessage{raw, raw, raw}); !chainIsError(err) {
		t.Fatalf("three uncles: %v", err)
	}
	lied := chainEdit(t, raw, func(v any) any { chainObj(v)["gasUsed"] = chainBump(chainObj(v)["gasUsed"], 1); return v })
	if _, err := VerifyUncles(h, []json.RawMessage{lied}); !chainIsError(err) {
		t.Fatalf("altered uncle: %v", err)
	}
	if _, err := VerifyUncles(b.Header, []json.RawMessage{raw}); !chainIsError(err) {
		t.Fatalf("uncle for a block without: %v", err)
	}
}

// TestJSONHygiene covers the checks every answer goes through before it
// is decoded.
func TestJSONHygiene(t *testing.T) {
	for _, c := range []struct {
		raw string
		ok  bool
	}{
		{`{"a":1,"b":[{"a":1,"A":[]}]}`, false},
		{`{"a":1,"a":2}`, false},
		{`{"stateRoot":1,"STATEROOT":2}`, false},
		{`{"ſ":1,"S":2}`, false}, // encoding/json folds ſ (U+017F) to S
		{`{"k":1,"K":2}`, false}, // and the Kelvin sign to K
		{`{"a":1,"b":{"a":1},"c":[{"a":1},{"a":2}]}`, true},
		{`[{"x":1},{"x":2}]`, true},
		{`{"a":1} {}`, false},
		{`{"a":`, false},
		{`null`, true},
	} {
		err := jsonHygiene(json.RawMessage(c.raw), "answer")
		if (err == nil) != c.ok {
			t.Errorf("%s: %v", c.raw, err)
		}
		if err != nil && !chainIsError(err) {
			t.Errorf("%s: %T is not an *Error", c.raw, err)
		}
	}
	if !sameJSON([]byte(`{"a":"0xAB","b":[1,"x"]}`), []byte(`{"b":[1,"x"],"a":"0xab"}`)) ||
		sameJSON([]byte(`{"a":"X"}`), []byte(`{"a":"x"}`)) || sameJSON([]byte(`{"a":1}`), []byte(`{"a":1,"b":null}`)) {
		t.Fatal("sameJSON")
	}
}

// TestChainSeeds checks the committed real answers offline (and rewrites
// them with BRAID_WRITE_CHAIN_SEEDS=1).
func TestChainSeeds(t *testing.T) {
	if os.Getenv("BRAID_WRITE_CHAIN_SEEDS") != "" {
		d := chain(t)
		var seeds []*chainBlock
		for _, b := range d.blocks {
			if b.Header.Hash() == d.special["mixedBlock"] || b.Header.Hash() == d.special["emptyBlock"] ||
				b == d.blocks[0] || b == d.busiest(t) {
				seeds = append(seeds, b)
			}
		}
		out, err := json.MarshalIndent(seeds, "", "\t")
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(chainSeedsFile, append(out, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, b := range loadChainSeeds(t) {
		txs, err := VerifyBlockTxs(b.Header, b.Full)
		if err != nil {
			t.Fatalf("%s: %v", b.Name, err)
		}
		if _, _, err := VerifyReceiptsTxs(b.Header, txs, b.Receipts); err != nil {
			t.Fatalf("%s receipts: %v", b.Name, err)
		}
	}
}

func loadChainSeeds(t testing.TB) []*chainBlock {
	t.Helper()
	raw, err := os.ReadFile(chainSeedsFile)
	if err != nil {
		t.Fatal(err)
	}
	var seeds []*chainBlock
	if err := json.Unmarshal(raw, &seeds); err != nil {
		t.Fatalf("%s: %v", chainSeedsFile, err)
	}
	if len(seeds) == 0 {
		t.Fatalf("%s holds no blocks", chainSeedsFile)
	}
	for _, s := range seeds {
		for _, r := range []*json.RawMessage{&s.Full, &s.Hashes, &s.Receipts} {
			var buf bytes.Buffer
			if err := json.Compact(&buf, *r); err != nil {
				t.Fatal(err)
			}
			*r = buf.Bytes()
		}
	}
	return seeds
}

// chainStranger is an address no devnet transaction or log names.
var chainStranger = common.HexToAddress("0x00000000000000000000000000000000DeaDBeef")

// chainWantLie fails unless err is an *Error, and logs it (go test -v
// shows which check caught each lie).
func chainWantLie(t *testing.T, err error) {
	t.Helper()
	if !chainIsError(err) {
		t.Fatalf("lie accepted or wrong error: %v", err)
	}
	t.Log(err)
}

// verifyBlockFull is VerifyBlockTxs returning the transaction hashes, as
// these tests compare them.
func verifyBlockFull(h *types.Header, raw json.RawMessage) ([]common.Hash, error) {
	txs, err := VerifyBlockTxs(h, raw)
	if err != nil {
		return nil, err
	}
	hashes := make([]common.Hash, len(txs))
	for i, tx := range txs {
		hashes[i] = tx.Hash()
	}
	return hashes, nil
}
