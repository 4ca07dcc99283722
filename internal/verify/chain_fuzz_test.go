package verify

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"math/big"
	"os"
	"slices"
	"testing"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/core/types"
)

// FuzzVerifyBlockFull mutates real full-block answers
// (testdata/chain_blocks.json) and checks that VerifyBlockTxs never
// panics, fails only with *Error, and accepts only answers that say
// nothing the real answer does not: the same transactions, and every
// member a client would read equal to the real one or left out.
//
//	go test -run '^$' -fuzz FuzzVerifyBlockFull -fuzztime 20s ./internal/verify
func FuzzVerifyBlockFull(f *testing.F) {
	chainQuickMinimize()
	seeds := loadChainSeeds(f)
	want := make([][]*types.Transaction, len(seeds))
	for i, s := range seeds {
		txs, err := VerifyBlockTxs(s.Header, s.Full)
		if err != nil {
			f.Fatalf("%s: %v", s.Name, err)
		}
		want[i] = txs
		f.Add(uint8(i), []byte(s.Full))
	}
	f.Fuzz(func(t *testing.T, which uint8, raw []byte) {
		i := int(which) % len(seeds)
		s := seeds[i]
		txs, err := VerifyBlockTxs(s.Header, raw)
		if err != nil {
			if !chainIsError(err) {
				t.Fatalf("error %v (%T) is not an *Error", err, err)
			}
			return
		}
		if len(txs) != len(want[i]) {
			t.Fatalf("%s accepted with %d transactions, it has %d", s.Name, len(txs), len(want[i]))
		}
		for j, tx := range txs {
			a, _ := tx.MarshalBinary()
			b, _ := want[i][j].MarshalBinary()
			if !bytes.Equal(a, b) {
				t.Fatalf("%s accepted with transaction %d changed", s.Name, j)
			}
		}
		if err := chainSubset("block", raw, s.Full); err != nil {
			t.Fatalf("%s accepted saying more than the real answer: %v", s.Name, err)
		}
	})
}

// FuzzVerifyReceipts mutates real eth_getBlockReceipts answers and checks
// VerifyReceiptsTxs (everything checked) and verifyReceipts with only the
// transaction hashes or nothing the same way: no panic, only *Error,
// and an accepted answer decodes to the real receipts in every field the
// mode checks and says nothing the real answer does not.
//
//	go test -run '^$' -fuzz FuzzVerifyReceipts -fuzztime 20s ./internal/verify
func FuzzVerifyReceipts(f *testing.F) {
	chainQuickMinimize()
	seeds := loadChainSeeds(f)
	type seed struct {
		txs    []*types.Transaction
		hashes []common.Hash
		want   []*types.Receipt
	}
	ss := make([]seed, len(seeds))
	for i, s := range seeds {
		txs, err := VerifyBlockTxs(s.Header, s.Full)
		if err != nil {
			f.Fatalf("%s: %v", s.Name, err)
		}
		hashes, _ := verifyBlockFull(s.Header, s.Full)
		rs, _, err := VerifyReceiptsTxs(s.Header, txs, s.Receipts)
		if err != nil {
			f.Fatalf("%s: %v", s.Name, err)
		}
		ss[i] = seed{txs, hashes, rs}
		for mode := range uint8(3) {
			f.Add(uint8(i), mode, []byte(s.Receipts))
		}
	}
	f.Fuzz(func(t *testing.T, which, mode uint8, raw []byte) {
		i := int(which) % len(seeds)
		s, want := seeds[i], ss[i]
		var rs []*types.Receipt
		var raws []json.RawMessage
		var err error
		switch mode % 3 {
		case 0:
			rs, raws, err = VerifyReceiptsTxs(s.Header, want.txs, raw)
		case 1:
			rs, raws, err = verifyReceipts(s.Header, want.hashes, nil, raw)
		case 2:
			rs, raws, err = verifyReceipts(s.Header, nil, nil, raw)
		}
		if err != nil {
			if !chainIsError(err) {
				t.Fatalf("error %v (%T) is not an *Error", err, err)
			}
			return
		}
		if len(rs) != len(want.want) || len(raws) != len(rs) {
			t.Fatalf("%s accepted with %d receipts, it has %d", s.Name, len(rs), len(want.want))
		}
		for j := range rs {
			got, exp := *rs[j], *want.want[j]
			if mode%3 != 0 {
				// Not checked without the transactions.
				got.ContractAddress, got.EffectiveGasPrice, got.BlobGasUsed, got.BlobGasPrice = common.Address{}, nil, 0, nil
				exp.ContractAddress, exp.EffectiveGasPrice, exp.BlobGasUsed, exp.BlobGasPrice = common.Address{}, nil, 0, nil
			}
			if mode%3 == 2 {
				// Nor the transaction hash without the hashes.
				got.TxHash, exp.TxHash = common.Hash{}, common.Hash{}
				got.Logs, exp.Logs = chainNoTx(got.Logs), chainNoTx(exp.Logs)
			}
			a, _ := json.Marshal(&got)
			b, _ := json.Marshal(&exp)
			if !bytes.Equal(a, b) {
				t.Fatalf("%s (mode %d) accepted with receipt %d changed:\n%s\nnot\n%s", s.Name, mode%3, j, a, b)
			}
		}
		if mode%3 == 0 {
			if err := chainSubset("receipt", raw, s.Receipts); err != nil {
				t.Fatalf("%s accepted saying more than the real answer: %v", s.Name, err)
			}
			// Each accepted element is also accepted as a single receipt,
			// and only as the one of its own transaction.
			for j, el := range raws {
				if err := VerifyReceipt(want.want, raws, el, want.hashes[j]); err != nil {
					t.Fatalf("%s: element %d of an accepted answer: %v", s.Name, j, err)
				}
			}
		}
	})
}

// chainQuickMinimize caps how long the fuzzer minimizes each new input
// at 2s unless -fuzzminimizetime is given: the default minute goes to
// re-verifying kilobytes of block JSON thousands of times, and a short
// -fuzztime would be spent minimizing instead of fuzzing.
func chainQuickMinimize() {
	given := false
	flag.Visit(func(f *flag.Flag) { given = given || f.Name == "test.fuzzminimizetime" })
	if !given {
		_ = flag.Set("test.fuzzminimizetime", "2s")
	}
}

func chainNoTx(ls []*types.Log) []*types.Log {
	out := make([]*types.Log, len(ls))
	for i, l := range ls {
		c := *l
		c.TxHash = common.Hash{}
		out[i] = &c
	}
	return out
}

// chainSchema says which members of an object of each kind the
// verifiers know, and the kind of the elements of its list members. An
// accepted answer may leave known members out (or null) but may only say
// of them what the real answer says; other members pass through
// unchecked. Inside a known member's value every member is compared.
var chainSchema = map[string]struct {
	known    *names
	children map[string]string
}{
	"block":      {blockNames, map[string]string{"transactions": "tx", "withdrawals": "withdrawal"}},
	"tx":         {txNames, nil},
	"withdrawal": {withdrawalNames, nil},
	"receipt":    {receiptNames, map[string]string{"logs": "log"}},
	"log":        {logNames, nil},
}

// chainSubset reports why the JSON answer got (a block, or a list of
// receipts or logs: kind block, receipt or log) says something the real
// answer want does not (nil: it says nothing more).
func chainSubset(kind string, got, want []byte) error {
	var g, w any
	dg := json.NewDecoder(bytes.NewReader(got))
	dg.UseNumber()
	dw := json.NewDecoder(bytes.NewReader(want))
	dw.UseNumber()
	if err := dg.Decode(&g); err != nil {
		return err
	}
	if err := dw.Decode(&w); err != nil {
		return err
	}
	return chainSubsetValue("", kind, g, w)
}

// chainSubsetValue compares g with w; kind is the kind of object g is (or
// holds, for a list), "" inside a known member's value.
func chainSubsetValue(path, kind string, g, w any) error {
	switch g := g.(type) {
	case map[string]any:
		w, ok := w.(map[string]any)
		if !ok {
			return fmt.Errorf("%s: an object for %T", path, w)
		}
		schema, typed := chainSchema[kind]
		for k, v := range g {
			if v == nil || typed && !schema.known.has(k) {
				continue
			}
			wv, ok := w[k]
			if !ok {
				if alias := txAliases[k]; kind == "tx" && alias != "" && w[alias] != nil {
					wv = w[alias]
				} else if typed && chainTruthful(kind, k, v, w) {
					continue
				} else {
					return fmt.Errorf("%s.%s: %v, the real answer has none", path, k, v)
				}
			}
			if err := chainSubsetValue(path+"."+k, schema.children[k], v, wv); err != nil {
				return err
			}
		}
		return nil
	case []any:
		w, ok := w.([]any)
		if !ok || len(g) != len(w) {
			return fmt.Errorf("%s: a list of %d for %v", path, len(g), w)
		}
		for i := range g {
			if err := chainSubsetValue(fmt.Sprintf("%s[%d]", path, i), kind, g[i], w[i]); err != nil {
				return err
			}
		}
		return nil
	case string:
		if w, ok := w.(string); ok && (g == w || isHex(g) && bytes.EqualFold([]byte(g), []byte(w))) {
			return nil
		}
	default:
		if g == w {
			return nil
		}
	}
	return fmt.Errorf("%s: %v, the real answer says %v", path, g, w)
}

// chainTruthful lists members the verifiers accept where the real answer
// (object w) has none because they add nothing: an empty post-state root,
// no blob gas, the y parity of a legacy transaction's v.
func chainTruthful(kind, k string, v any, w map[string]any) bool {
	switch {
	case kind == "receipt" && k == "root":
		return v == "0x"
	case kind == "receipt" && k == "blobGasUsed":
		return v == "0x0"
	case kind == "tx" && k == "yParity" && w["type"] == "0x0":
		y, err1 := hexutil.DecodeBig(fmt.Sprint(v))
		sig, err2 := hexutil.DecodeBig(fmt.Sprint(w["v"]))
		if err1 != nil || err2 != nil {
			return false
		}
		if id, err := hexutil.DecodeBig(fmt.Sprint(w["chainId"])); err == nil {
			sig.Sub(sig, id.Lsh(id, 1))
			sig.Sub(sig, big.NewInt(8)) // 35 - 27
		}
		return sig.Sub(sig, big.NewInt(27)).Cmp(y) == 0
	}
	return false
}

// TestChainMemberSwaps sets every member a verifier knows, in every
// object of real block and receipts answers, to values found elsewhere in
// the answer and to edge values (null, zero, empty), and requires each
// such answer to be refused or to say nothing the real answer does not
// (the fuzz targets' property). Random mutation rarely produces these
// plausible lies. CHAIN_SHOW=1 go test -v -run TestChainMemberSwaps lists
// the accepted ones.
func TestChainMemberSwaps(t *testing.T) {
	if testing.Short() {
		t.Skip("thousands of verifications")
	}
	for _, s := range loadChainSeeds(t) {
		t.Run(s.Name, func(t *testing.T) {
			t.Parallel()
			txs, err := VerifyBlockTxs(s.Header, s.Full)
			if err != nil {
				t.Fatal(err)
			}
			rs, _, err := VerifyReceiptsTxs(s.Header, txs, s.Receipts)
			if err != nil {
				t.Fatal(err)
			}
			wantRs, _ := json.Marshal(rs)
			for _, c := range []struct {
				kind   string // of the answer's objects (chainSchema)
				raw    json.RawMessage
				verify func(raw json.RawMessage) error
			}{
				{"block", s.Full, func(raw json.RawMessage) error {
					got, err := VerifyBlockTxs(s.Header, raw)
					if err != nil {
						return err
					}
					for i := range got {
						a, _ := got[i].MarshalBinary()
						b, _ := txs[i].MarshalBinary()
						if !bytes.Equal(a, b) {
							t.Errorf("accepted with transaction %d changed", i)
						}
					}
					return nil
				}},
				{"receipt", s.Receipts, func(raw json.RawMessage) error {
					got, _, err := VerifyReceiptsTxs(s.Header, txs, raw)
					if err != nil {
						return err
					}
					if b, _ := json.Marshal(got); !bytes.Equal(b, wantRs) {
						t.Errorf("accepted with receipts changed")
					}
					return nil
				}},
			} {
				tried, accepted := 0, 0
				orig := chainDecode(t, c.raw)
				pool := chainValues(orig, map[string][]any{})
				chainObjects(c.kind, orig, func(kind string, o map[string]any) {
					for _, k := range chainSchema[kind].known.list() {
						old, had := o[k]
						values := []any{nil, "0x", "0x0", "0x1", true, []any{}, map[string]any{}}
						for _, v := range append(values, pool[k][:min(len(pool[k]), 2)]...) {
							o[k] = v
							raw := chainEncode(t, orig)
							tried++
							if err := c.verify(raw); err == nil {
								accepted++
								if os.Getenv("CHAIN_SHOW") != "" {
									t.Logf("accepted %s %s=%v", kind, k, v)
								}
								if err := chainSubset(c.kind, raw, c.raw); err != nil {
									t.Errorf("%s: %s=%v accepted: %v", c.kind, k, v, err)
								}
							} else if !chainIsError(err) {
								t.Errorf("%s: %T is not an *Error", c.kind, err)
							}
						}
						if had {
							o[k] = old
						} else {
							delete(o, k)
						}
					}
				})
				t.Logf("%s: %d answers, %d accepted", c.kind, tried, accepted)
			}
		})
	}
}

// chainValues collects the distinct scalar values of each member name.
func chainValues(v any, pool map[string][]any) map[string][]any {
	switch v := v.(type) {
	case map[string]any:
		for k, x := range v {
			switch x.(type) {
			case map[string]any, []any:
				chainValues(x, pool)
			default:
				if !slices.Contains(pool[k], x) {
					pool[k] = append(pool[k], x)
				}
			}
		}
	case []any:
		for _, x := range v {
			chainValues(x, pool)
		}
	}
	return pool
}

// chainObjects calls visit with every object of a known kind in v, an
// answer (or list of answers) of kind.
func chainObjects(kind string, v any, visit func(string, map[string]any)) {
	switch v := v.(type) {
	case map[string]any:
		visit(kind, v)
		for k, child := range chainSchema[kind].children {
			chainObjects(child, v[k], visit)
		}
	case []any:
		for _, x := range v {
			chainObjects(kind, x, visit)
		}
	}
}
