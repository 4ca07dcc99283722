package ethjson

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"sync"
	"testing"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/crypto"

	"github.com/braidrpc/braid/internal/devnet"
	"github.com/braidrpc/braid/internal/history/historytest"
	"github.com/braidrpc/braid/internal/verify"
)

var (
	chainOnce sync.Once
	chainVal  *historytest.Chain
	chainErr  error
)

// testChain is a devnet chain shared by the package's tests; it stays
// open so every answer can be asked of geth itself.
func testChain(t testing.TB) *historytest.Chain {
	t.Helper()
	chainOnce.Do(func() { chainVal, chainErr = historytest.New(context.Background()) })
	if chainErr != nil {
		t.Fatal(chainErr)
	}
	return chainVal
}

func TestMain(m *testing.M) {
	m.Run()
	if chainVal != nil {
		chainVal.Devnet.Close()
	}
}

// prepare makes a Block the way braid gets one: header, body and receipts
// decoded from canonical RLP and verified, receipts from the storage
// encoding (no type, no bloom).
func prepare(t testing.TB, r *Renderer, b *historytest.Block) *Block {
	t.Helper()
	h, err := verify.DecodeHeader(b.HeaderRLP, b.Hash())
	if err != nil {
		t.Fatal(err)
	}
	body, err := verify.DecodeBody(h, b.BodyRLP)
	if err != nil {
		t.Fatal(err)
	}
	rs, err := verify.DecodeReceipts(h, body.Transactions, b.StorageRLP, verify.ReceiptsStorage)
	if err != nil {
		t.Fatal(err)
	}
	blk, err := r.NewBlock(h, body, rs)
	if err != nil {
		t.Fatal(err)
	}
	return blk
}

// ask returns geth's own answer.
func ask(t testing.TB, c *historytest.Chain, method string, args ...any) json.RawMessage {
	t.Helper()
	var raw json.RawMessage
	if err := c.Devnet.RPC().CallContext(t.Context(), &raw, method, args...); err != nil {
		t.Fatalf("%s%v: %v", method, args, err)
	}
	return raw
}

// same fails t unless got equals geth's answer member for member (null
// included) and byte for byte (the same members in the same order).
func same(t testing.TB, what string, got, want json.RawMessage) {
	t.Helper()
	var g, w any
	if err := json.Unmarshal(got, &g); err != nil {
		t.Fatalf("%s: rendered invalid JSON: %v", what, err)
	}
	if err := json.Unmarshal(want, &w); err != nil {
		t.Fatalf("%s: geth answered invalid JSON: %v", what, err)
	}
	if diff := firstDiff("", g, w); diff != "" {
		t.Fatalf("%s: %s\n got %s\nwant %s", what, diff, got, want)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("%s: equal as JSON, different bytes\n got %s\nwant %s", what, got, want)
	}
}

// firstDiff names the first member where a and b differ.
func firstDiff(path string, a, b any) string {
	switch av := a.(type) {
	case map[string]any:
		bv, ok := b.(map[string]any)
		if !ok {
			return fmt.Sprintf("%s: got an object, want %v", path, b)
		}
		for k := range bv {
			if _, ok := av[k]; !ok {
				return fmt.Sprintf("%s.%s missing", path, k)
			}
		}
		for k, v := range av {
			w, ok := bv[k]
			if !ok {
				return fmt.Sprintf("%s.%s extra (%v)", path, k, v)
			}
			if d := firstDiff(path+"."+k, v, w); d != "" {
				return d
			}
		}
		return ""
	case []any:
		bv, ok := b.([]any)
		if !ok || len(av) != len(bv) {
			return fmt.Sprintf("%s: got %d elements, want %v", path, len(av), b)
		}
		for i := range av {
			if d := firstDiff(fmt.Sprintf("%s[%d]", path, i), av[i], bv[i]); d != "" {
				return d
			}
		}
		return ""
	}
	if !reflect.DeepEqual(a, b) {
		return fmt.Sprintf("%s: got %v, want %v", path, a, b)
	}
	return ""
}

// TestEveryMethodOnEveryBlockEqualsGeth renders every method braid serves
// from history for every devnet block and compares it with geth's answer.
func TestEveryMethodOnEveryBlockEqualsGeth(t *testing.T) {
	c := testChain(t)
	r := New(c.Config)
	for _, hb := range c.Blocks {
		b := prepare(t, r, hb)
		hash, num := hb.Hash(), hexutil.EncodeUint64(hb.Number())
		name := "block " + num
		for _, full := range []bool{false, true} {
			got, err := r.Block(b, full)
			if err != nil {
				t.Fatal(err)
			}
			same(t, fmt.Sprintf("%s eth_getBlockByHash full=%v", name, full), got, ask(t, c, "eth_getBlockByHash", hash, full))
			same(t, fmt.Sprintf("%s eth_getBlockByNumber full=%v", name, full), got, ask(t, c, "eth_getBlockByNumber", num, full))
		}
		count := r.TransactionCount(b)
		same(t, name+" eth_getBlockTransactionCountByHash", count, ask(t, c, "eth_getBlockTransactionCountByHash", hash))
		same(t, name+" eth_getBlockTransactionCountByNumber", count, ask(t, c, "eth_getBlockTransactionCountByNumber", num))
		got, err := r.BlockReceipts(b)
		if err != nil {
			t.Fatal(err)
		}
		same(t, name+" eth_getBlockReceipts", got, ask(t, c, "eth_getBlockReceipts", hash))
		for i, tx := range hb.Body.Transactions {
			compareTransaction(t, c, r, b, i, tx.Hash())
		}
		// One past the last transaction: null, as geth answers.
		idx := hexutil.Uint64(len(hb.Body.Transactions))
		got, err = r.TransactionAt(b, uint64(idx))
		if err != nil {
			t.Fatal(err)
		}
		same(t, name+" index past the end", got, ask(t, c, "eth_getTransactionByBlockHashAndIndex", hash, idx))
		same(t, name+" eth_getLogs by hash", logs(t, r, b, fmt.Sprintf(`{"blockHash":"%s"}`, hash.Hex())),
			ask(t, c, "eth_getLogs", map[string]any{"blockHash": hash}))
	}
}

func compareTransaction(t *testing.T, c *historytest.Chain, r *Renderer, b *Block, i int, txHash common.Hash) {
	t.Helper()
	name := fmt.Sprintf("block %d tx %d (type %d)", b.Number(), i, b.body.Transactions[i].Type())
	byHash, err := r.Transaction(b, txHash)
	if err != nil {
		t.Fatal(err)
	}
	same(t, name+" eth_getTransactionByHash", byHash, ask(t, c, "eth_getTransactionByHash", txHash))
	at, err := r.TransactionAt(b, uint64(i))
	if err != nil {
		t.Fatal(err)
	}
	same(t, name+" eth_getTransactionByBlockHashAndIndex", at,
		ask(t, c, "eth_getTransactionByBlockHashAndIndex", b.Hash(), hexutil.Uint64(i)))
	same(t, name+" eth_getTransactionByBlockNumberAndIndex", at,
		ask(t, c, "eth_getTransactionByBlockNumberAndIndex", hexutil.EncodeUint64(b.Number()), hexutil.Uint64(i)))
	rc, err := r.Receipt(b, txHash)
	if err != nil {
		t.Fatal(err)
	}
	same(t, name+" eth_getTransactionReceipt", rc, ask(t, c, "eth_getTransactionReceipt", txHash))
}

// logs renders eth_getLogs for a filter over every block of the chain.
func logs(t testing.TB, r *Renderer, b *Block, filter string, more ...*Block) json.RawMessage {
	t.Helper()
	f, err := verify.ParseLogFilter(json.RawMessage(filter), func(string) (uint64, error) { return 0, fmt.Errorf("no tags") })
	if err != nil {
		t.Fatal(err)
	}
	blocks := append([]*Block{b}, more...)
	out, err := r.Logs(f, blocks)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestLogsOverRangesEqualGeth renders eth_getLogs over ranges of the chain
// with address and topic filters of every shape a node accepts.
func TestLogsOverRangesEqualGeth(t *testing.T) {
	c := testChain(t)
	r := New(c.Config)
	blocks := make([]*Block, len(c.Blocks))
	for i, hb := range c.Blocks {
		blocks[i] = prepare(t, r, hb)
	}
	head := hexutil.EncodeUint64(c.Head().Number())
	token := c.Devnet.Token().Hex()
	transfer := crypto.Keccak256Hash([]byte("Transfer(address,address,uint256)")).Hex()
	user := common.BytesToHash(c.Devnet.UserAccount().Address.Bytes()).Hex()
	stream := common.BytesToHash(streamAccount(t).Bytes()).Hex()
	stranger := common.Address{0xde, 0xad}.Hex()
	for _, filter := range []string{
		`{"fromBlock":"0x0","toBlock":"` + head + `"}`,
		`{"fromBlock":"0x2","toBlock":"0x4"}`,
		`{"fromBlock":"0x0","toBlock":"` + head + `","address":"` + token + `"}`,
		`{"fromBlock":"0x0","toBlock":"` + head + `","address":["` + stranger + `","` + token + `"]}`,
		`{"fromBlock":"0x0","toBlock":"` + head + `","address":"` + stranger + `"}`,
		`{"fromBlock":"0x0","toBlock":"` + head + `","topics":["` + transfer + `"]}`,
		`{"fromBlock":"0x0","toBlock":"` + head + `","topics":[null,"` + stream + `"]}`,
		`{"fromBlock":"0x0","toBlock":"` + head + `","topics":[null,["` + user + `","` + stream + `"]]}`,
		`{"fromBlock":"0x0","toBlock":"` + head + `","topics":[null,null,null,null]}`,
		`{"fromBlock":"0x0","toBlock":"` + head + `","topics":[["` + transfer + `"],null,["` + user + `"]]}`,
		`{"fromBlock":"0x5","toBlock":"0x5"}`,
		`{"fromBlock":"0x0","toBlock":"` + head + `","topics":[[]]}`,
	} {
		var q map[string]any
		if err := json.Unmarshal([]byte(filter), &q); err != nil {
			t.Fatal(err)
		}
		same(t, "eth_getLogs "+filter, logs(t, r, blocks[0], filter, blocks[1:]...), ask(t, c, "eth_getLogs", q))
	}
}

// streamAccount is the devnet account that sends the demo transactions.
func streamAccount(t testing.TB) common.Address {
	t.Helper()
	k, err := crypto.HexToECDSA(devnet.StreamKey[2:])
	if err != nil {
		t.Fatal(err)
	}
	return crypto.PubkeyToAddress(k.PublicKey)
}
