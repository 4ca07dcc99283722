package verify

import (
	"encoding/json"
	"math/big"
	"testing"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/trie"
)

func TestVerifyReceipts(t *testing.T) {
	d := chain(t)
	created := 0
	for _, b := range d.blocks {
		t.Run(b.Name, func(t *testing.T) {
			txs, err := VerifyBlockTxs(b.Header, b.Full)
			if err != nil {
				t.Fatal(err)
			}
			hashes, _ := verifyBlockFull(b.Header, b.Full)
			for _, c := range []struct {
				name   string
				verify func() ([]*types.Receipt, []json.RawMessage, error)
			}{
				{"txs", func() ([]*types.Receipt, []json.RawMessage, error) {
					return VerifyReceiptsTxs(b.Header, txs, b.Receipts)
				}},
				{"hashes", func() ([]*types.Receipt, []json.RawMessage, error) {
					return verifyReceipts(b.Header, hashes, nil, b.Receipts)
				}},
				{"nothing", func() ([]*types.Receipt, []json.RawMessage, error) {
					return verifyReceipts(b.Header, nil, nil, b.Receipts)
				}},
			} {
				rs, raws, err := c.verify()
				if err != nil {
					t.Fatalf("%s: %v", c.name, err)
				}
				if len(rs) != len(txs) || len(raws) != len(txs) {
					t.Fatalf("%s: %d receipts, %d raw, %d transactions", c.name, len(rs), len(raws), len(txs))
				}
				var logIndex uint
				for i, r := range rs {
					if r.TxHash != hashes[i] || r.BlockHash != b.Header.Hash() || r.TransactionIndex != uint(i) ||
						r.BlockNumber.Cmp(b.Header.Number) != 0 {
						t.Fatalf("%s: receipt %d is not filled in: %+v", c.name, i, r)
					}
					for _, l := range r.Logs {
						if l.Index != logIndex || l.TxHash != hashes[i] || l.BlockTimestamp != b.Header.Time {
							t.Fatalf("%s: log %d is not filled in: %+v", c.name, logIndex, l)
						}
						logIndex++
					}
					if c.name == "txs" && r.ContractAddress != (common.Address{}) {
						created++
					}
				}
			}
		})
	}
	if created < 2 { // the token, and the mixed block's contract
		t.Fatalf("%d contract creations checked", created)
	}
}

// TestVerifyReceiptsLies tampers with real eth_getBlockReceipts answers;
// every lie must be an *Error.
func TestVerifyReceiptsLies(t *testing.T) {
	d := chain(t)
	b := d.busiest(t)
	mixed := d.block(t, d.special["mixedBlock"])
	deploy := d.blocks[0] // the token's deployment
	type lie struct {
		name string
		b    *chainBlock
		edit func(any) any
	}
	rcpt := func(i int, edit func(m map[string]any)) func(any) any {
		return func(v any) any { edit(chainObj(chainL(v)[i])); return v }
	}
	logOf := func(i, j int, edit func(m map[string]any)) func(any) any {
		return rcpt(i, func(m map[string]any) { edit(chainObj(chainL(m["logs"])[j])) })
	}
	withLogs := -1 // a receipt of b with a log
	for i, r := range chainList(t, b.Receipts) {
		if len(chainList(t, chainGet(t, r, "logs"))) > 0 {
			withLogs = i
			break
		}
	}
	if withLogs < 0 {
		t.Fatal("no receipt with logs")
	}
	forged := func(m map[string]any) map[string]any {
		l := map[string]any{}
		for k, v := range m {
			l[k] = v
		}
		l["data"] = "0x01"
		return l
	}
	lies := []lie{
		{"flipped status", b, rcpt(0, func(m map[string]any) { m["status"] = "0x0" })},
		{"no status", b, rcpt(0, func(m map[string]any) { delete(m, "status") })},
		{"status and root", b, rcpt(0, func(m map[string]any) { m["root"] = common.Hash{1}.Hex() })},
		{"altered gasUsed", b, rcpt(0, func(m map[string]any) { m["gasUsed"] = chainBump(m["gasUsed"], 1) })},
		{"altered cumulativeGasUsed", b, rcpt(0, func(m map[string]any) { m["cumulativeGasUsed"] = chainBump(m["cumulativeGasUsed"], 1) })},
		{"altered gas, both", b, rcpt(0, func(m map[string]any) {
			m["cumulativeGasUsed"] = chainBump(m["cumulativeGasUsed"], 1)
			m["gasUsed"] = chainBump(m["gasUsed"], 1)
		})},
		{"altered logsBloom", b, rcpt(0, func(m map[string]any) { m["logsBloom"] = chainFlip(m["logsBloom"]) })},
		{"altered type", b, rcpt(0, func(m map[string]any) { m["type"] = "0x0" })},
		{"type past a byte", b, rcpt(0, func(m map[string]any) { m["type"] = "0x102" })},
		{"altered transactionHash", b, rcpt(0, func(m map[string]any) { m["transactionHash"] = chainFlip(m["transactionHash"]) })},
		{"swapped transactionHash", b, func(v any) any {
			a, c := chainObj(chainL(v)[0]), chainObj(chainL(v)[1])
			a["transactionHash"], c["transactionHash"] = c["transactionHash"], a["transactionHash"]
			return v
		}},
		{"altered blockHash", b, rcpt(0, func(m map[string]any) { m["blockHash"] = chainFlip(m["blockHash"]) })},
		{"altered blockNumber", b, rcpt(0, func(m map[string]any) { m["blockNumber"] = chainBump(m["blockNumber"], 1) })},
		{"no blockNumber", b, rcpt(0, func(m map[string]any) { delete(m, "blockNumber") })},
		{"altered transactionIndex", b, rcpt(0, func(m map[string]any) { m["transactionIndex"] = "0x1" })},
		{"no transactionIndex", b, rcpt(0, func(m map[string]any) { delete(m, "transactionIndex") })},
		{"altered from", b, rcpt(0, func(m map[string]any) { m["from"] = chainStranger.Hex() })},
		{"altered to", b, rcpt(0, func(m map[string]any) { m["to"] = chainStranger.Hex() })},
		{"altered effectiveGasPrice", b, rcpt(0, func(m map[string]any) { m["effectiveGasPrice"] = chainBump(m["effectiveGasPrice"], 1) })},
		{"invented contractAddress", b, rcpt(0, func(m map[string]any) { m["contractAddress"] = chainStranger.Hex() })},
		{"altered contractAddress", deploy, rcpt(0, func(m map[string]any) { m["contractAddress"] = chainStranger.Hex() })},
		{"no contractAddress", deploy, rcpt(0, func(m map[string]any) { m["contractAddress"] = nil })},
		{"creation with a to", deploy, rcpt(0, func(m map[string]any) { m["to"] = chainStranger.Hex() })},
		{"invented blobGasUsed", b, rcpt(0, func(m map[string]any) { m["blobGasUsed"] = "0x20000" })},
		{"invented blobGasPrice", b, rcpt(0, func(m map[string]any) { m["blobGasPrice"] = "0x1" })},
		{"dropped receipt", b, func(v any) any { return chainL(v)[1:] }},
		{"added receipt", b, func(v any) any { return append(chainL(v), chainL(v)[0]) }},
		{"swapped receipts", b, func(v any) any { l := chainL(v); l[0], l[1] = l[1], l[0]; return l }},
		{"null receipt", b, func(v any) any { chainL(v)[0] = nil; return v }},
		{"status in other case", b, rcpt(0, func(m map[string]any) { m["Status"] = "0x0" })},
		{"forged log", b, rcpt(withLogs, func(m map[string]any) { m["logs"] = append(chainL(m["logs"]), forged(chainObj(chainL(m["logs"])[0]))) })},
		{"missing log", b, rcpt(withLogs, func(m map[string]any) { m["logs"] = []any{} })},
		{"extra log", b, rcpt(0, func(m map[string]any) {
			m["logs"] = append(chainL(m["logs"]), chainL(chainObj(chainL(chainDecode(t, b.Receipts))[withLogs])["logs"])[0])
		})},
		{"null log", b, rcpt(withLogs, func(m map[string]any) { chainL(m["logs"])[0] = nil })},
		{"altered log data", b, logOf(withLogs, 0, func(m map[string]any) { m["data"] = chainFlip(m["data"]) })},
		{"altered log address", b, logOf(withLogs, 0, func(m map[string]any) { m["address"] = chainStranger.Hex() })},
		{"altered log topic", b, logOf(withLogs, 0, func(m map[string]any) { chainL(m["topics"])[1] = chainFlip(chainL(m["topics"])[1]) })},
		{"dropped log topic", b, logOf(withLogs, 0, func(m map[string]any) { m["topics"] = chainL(m["topics"])[:2] })},
		{"wrong logIndex", b, logOf(withLogs, 0, func(m map[string]any) { m["logIndex"] = chainBump(m["logIndex"], 1) })},
		{"no logIndex", b, logOf(withLogs, 0, func(m map[string]any) { delete(m, "logIndex") })},
		{"wrong log transactionHash", b, logOf(withLogs, 0, func(m map[string]any) { m["transactionHash"] = chainFlip(m["transactionHash"]) })},
		{"wrong log transactionIndex", b, logOf(withLogs, 0, func(m map[string]any) { m["transactionIndex"] = chainBump(m["transactionIndex"], 1) })},
		{"wrong log blockHash", b, logOf(withLogs, 0, func(m map[string]any) { m["blockHash"] = chainFlip(m["blockHash"]) })},
		{"wrong log blockNumber", b, logOf(withLogs, 0, func(m map[string]any) { m["blockNumber"] = chainBump(m["blockNumber"], 1) })},
		{"wrong log blockTimestamp", b, logOf(withLogs, 0, func(m map[string]any) { m["blockTimestamp"] = chainBump(m["blockTimestamp"], 1) })},
		{"removed log", b, logOf(withLogs, 0, func(m map[string]any) { m["removed"] = true })},
		{"another block's receipts", b, func(any) any { return chainDecode(t, mixed.Receipts) }},
		{"null", b, func(any) any { return nil }},
		{"an object", b, func(v any) any { return chainL(v)[0] }},
	}
	for _, c := range lies {
		t.Run(c.name, func(t *testing.T) {
			txs, err := VerifyBlockTxs(c.b.Header, c.b.Full)
			if err != nil {
				t.Fatal(err)
			}
			raw := chainEdit(t, c.b.Receipts, c.edit)
			_, _, err = VerifyReceiptsTxs(c.b.Header, txs, raw)
			chainWantLie(t, err)
		})
	}
}

func TestVerifyReceipt(t *testing.T) {
	d := chain(t)
	n := 0
	for _, b := range d.blocks {
		txs, err := VerifyBlockTxs(b.Header, b.Full)
		if err != nil {
			t.Fatal(err)
		}
		rs, raws, err := VerifyReceiptsTxs(b.Header, txs, b.Receipts)
		if err != nil {
			t.Fatal(err)
		}
		for _, tx := range txs {
			if err := VerifyReceipt(rs, raws, d.rcpts[tx.Hash()], tx.Hash()); err != nil {
				t.Errorf("%s: %v", tx.Hash(), err)
			}
			if err := VerifyReceipt(rs, raws, d.rcpts[tx.Hash()], common.Hash{}); err != nil {
				t.Errorf("%s, no hash asked: %v", tx.Hash(), err)
			}
			n++
		}
	}
	if n == 0 {
		t.Fatal("no receipts checked")
	}
}

func TestVerifyReceiptLies(t *testing.T) {
	d := chain(t)
	b := d.busiest(t)
	txs, err := VerifyBlockTxs(b.Header, b.Full)
	if err != nil {
		t.Fatal(err)
	}
	rs, raws, err := VerifyReceiptsTxs(b.Header, txs, b.Receipts)
	if err != nil {
		t.Fatal(err)
	}
	var tx, withLogs common.Hash
	for _, r := range rs {
		if len(r.Logs) > 0 {
			withLogs = r.TxHash
		} else {
			tx = r.TxHash
		}
	}
	edit := func(h common.Hash, f func(m map[string]any)) json.RawMessage {
		return chainEdit(t, d.rcpts[h], func(v any) any { f(chainObj(v)); return v })
	}
	for _, c := range []struct {
		name string
		raw  json.RawMessage
		want common.Hash
	}{
		{"flipped status", edit(tx, func(m map[string]any) { m["status"] = "0x0" }), tx},
		{"altered gasUsed", edit(tx, func(m map[string]any) { m["gasUsed"] = chainBump(m["gasUsed"], 1) }), tx},
		{"altered cumulativeGasUsed", edit(tx, func(m map[string]any) { m["cumulativeGasUsed"] = chainBump(m["cumulativeGasUsed"], 1) }), tx},
		{"altered from", edit(tx, func(m map[string]any) { m["from"] = chainStranger.Hex() }), tx},
		{"altered to", edit(tx, func(m map[string]any) { m["to"] = chainStranger.Hex() }), tx},
		{"altered effectiveGasPrice", edit(tx, func(m map[string]any) { m["effectiveGasPrice"] = chainBump(m["effectiveGasPrice"], 1) }), tx},
		{"another transaction's receipt", d.rcpts[withLogs], tx},
		{"forged log", edit(withLogs, func(m map[string]any) {
			l := chainObj(chainDecode(t, chainEncode(t, chainL(m["logs"])[0])))
			l["data"] = "0x02"
			m["logs"] = append(chainL(m["logs"]), l)
		}), withLogs},
		{"altered log", edit(withLogs, func(m map[string]any) { chainObj(chainL(m["logs"])[0])["data"] = "0x" }), withLogs},
		{"missing log", edit(withLogs, func(m map[string]any) { m["logs"] = []any{} }), withLogs},
		{"wrong logIndex", edit(withLogs, func(m map[string]any) { chainObj(chainL(m["logs"])[0])["logIndex"] = "0x7" }), withLogs},
		{"not in the block", d.rcpts[d.special["legacy"]], common.Hash{}},
		{"null", json.RawMessage("null"), tx},
	} {
		t.Run(c.name, func(t *testing.T) {
			err := VerifyReceipt(rs, raws, c.raw, c.want)
			chainWantLie(t, err)
		})
	}
}

// TestVerifyReceiptsPostState checks pre-Byzantium receipts (a post-state
// root instead of a status) on a synthetic block: the root must be kept
// and a status beside it, which the consensus encoding ignores, refused.
func TestVerifyReceiptsPostState(t *testing.T) {
	r := &types.Receipt{Type: types.LegacyTxType, PostState: common.Hash{7}.Bytes(), CumulativeGasUsed: 21000,
		TxHash: common.Hash{9}, GasUsed: 21000, EffectiveGasPrice: big.NewInt(1), Logs: []*types.Log{}}
	h := &types.Header{Number: big.NewInt(5), Difficulty: big.NewInt(1),
		ReceiptHash: types.DeriveSha(types.Receipts{r}, trie.NewStackTrie(nil))}
	r.BlockHash, r.BlockNumber = h.Hash(), h.Number
	enc := chainEncode(t, r)
	answer := chainEdit(t, enc, func(v any) any {
		delete(chainObj(v), "status")
		chainObj(v)["contractAddress"] = nil // geth's RPC writes null, not the zero address
		return []any{v}
	})
	if _, _, err := verifyReceipts(h, []common.Hash{{9}}, nil, answer); err != nil {
		t.Fatalf("post-state receipt: %v", err)
	}
	lie := chainEdit(t, answer, func(v any) any { chainObj(chainL(v)[0])["status"] = "0x0"; return v })
	if _, _, err := verifyReceipts(h, []common.Hash{{9}}, nil, lie); !chainIsError(err) {
		t.Fatalf("status beside a root accepted: %v", err)
	}
}
