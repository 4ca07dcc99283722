package verify

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/rlp"

	"github.com/braidrpc/braid/internal/history/historytest"
)

// contentSeedsFile holds real blocks in canonical RLP (header, body and
// receipts in the consensus and storage encodings): the fuzz corpus of
// the content decoders and an offline regression set. Rewrite it from a
// fresh devnet with
//
//	BRAID_WRITE_CONTENT_SEEDS=1 go test -run TestContentSeeds ./internal/verify
var contentSeedsFile = filepath.Join("testdata", "content_blocks.json")

// contentBlock is one real block in canonical RLP.
type contentBlock struct {
	Name     string        `json:"name"`
	Hash     common.Hash   `json:"hash"`
	Header   hexutil.Bytes `json:"header"`
	Body     hexutil.Bytes `json:"body"`
	Receipts hexutil.Bytes `json:"receipts"` // consensus encoding
	Storage  hexutil.Bytes `json:"storage"`  // storage encoding
}

// decoded returns the block's header and body, failing the test when
// they do not decode.
func (b *contentBlock) decoded(t testing.TB) (*types.Header, *types.Body) {
	t.Helper()
	h, err := DecodeHeader(b.Header, b.Hash)
	if err != nil {
		t.Fatalf("%s: header: %v", b.Name, err)
	}
	body, err := DecodeBody(h, b.Body)
	if err != nil {
		t.Fatalf("%s: body: %v", b.Name, err)
	}
	return h, body
}

// slim returns the block's receipts in the slim encoding, built from the
// consensus one.
func (b *contentBlock) slim(t testing.TB) []byte {
	t.Helper()
	var rs types.Receipts
	if err := rlp.DecodeBytes(b.Receipts, &rs); err != nil {
		t.Fatal(err)
	}
	slim := make([]*types.SlimReceipt, len(rs))
	for i, r := range rs {
		slim[i] = (*types.SlimReceipt)(r)
	}
	out, err := rlp.EncodeToBytes(slim)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestContentSeeds(t *testing.T) {
	if os.Getenv("BRAID_WRITE_CONTENT_SEEDS") != "" {
		writeContentSeeds(t)
	}
	for _, b := range loadContentSeeds(t) {
		h, body := b.decoded(t)
		for enc, raw := range map[ReceiptsEncoding][]byte{ReceiptsConsensus: b.Receipts, ReceiptsStorage: b.Storage, ReceiptsSlim: b.slim(t)} {
			rs, err := DecodeReceipts(h, body.Transactions, raw, enc)
			if err != nil {
				t.Fatalf("%s: %s receipts: %v", b.Name, enc, err)
			}
			// Every encoding decodes to the same consensus receipts.
			again, err := rlp.EncodeToBytes(rs)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(again, b.Receipts) {
				t.Fatalf("%s: %s receipts re-encode differently", b.Name, enc)
			}
		}
	}
}

func writeContentSeeds(t *testing.T) {
	c, err := historytest.New(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Devnet.Close()
	var seeds []*contentBlock
	for _, b := range c.Blocks {
		kinds := map[uint8]bool{}
		for _, tx := range b.Body.Transactions {
			kinds[tx.Type()] = true
		}
		// Genesis, an empty block, the blocks mixing types and the demo's
		// first round of transfers (the later rounds are alike).
		if b.Number() != 0 && len(b.Body.Transactions) != 0 && len(kinds) < 2 && b.Number() != 3 {
			continue
		}
		seeds = append(seeds, &contentBlock{Name: "block " + itoa(int(b.Number())), Hash: b.Hash(),
			Header: b.HeaderRLP, Body: b.BodyRLP, Receipts: b.ReceiptsRLP, Storage: b.StorageRLP})
	}
	out, err := json.MarshalIndent(seeds, "", "\t")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(contentSeedsFile, append(out, '\n'), 0o644); err != nil {
		t.Fatal(err)
	}
}

func loadContentSeeds(t testing.TB) []*contentBlock {
	t.Helper()
	raw, err := os.ReadFile(contentSeedsFile)
	if err != nil {
		t.Fatal(err)
	}
	var seeds []*contentBlock
	if err := json.Unmarshal(raw, &seeds); err != nil {
		t.Fatalf("%s: %v", contentSeedsFile, err)
	}
	if len(seeds) < 3 {
		t.Fatalf("%s holds %d blocks", contentSeedsFile, len(seeds))
	}
	return seeds
}

// richest is the seed with the most transaction types.
func richest(t testing.TB, seeds []*contentBlock) *contentBlock {
	t.Helper()
	var best *contentBlock
	n := -1
	for _, b := range seeds {
		_, body := b.decoded(t)
		kinds := map[uint8]bool{}
		for _, tx := range body.Transactions {
			kinds[tx.Type()] = true
		}
		if len(kinds) > n {
			best, n = b, len(kinds)
		}
	}
	return best
}

// mostLogs is the seed with the most logs.
func mostLogs(t testing.TB, seeds []*contentBlock) *contentBlock {
	t.Helper()
	var best *contentBlock
	n := -1
	for _, b := range seeds {
		var rs types.Receipts
		if err := rlp.DecodeBytes(b.Receipts, &rs); err != nil {
			t.Fatal(err)
		}
		logs := 0
		for _, r := range rs {
			logs += len(r.Logs)
		}
		if logs > n {
			best, n = b, logs
		}
	}
	return best
}

func isLie(err error) bool {
	var e *Error
	return errors.As(err, &e)
}

func TestDecodeHeaderRejects(t *testing.T) {
	seeds := loadContentSeeds(t)
	b := seeds[1]
	other := seeds[2]
	cases := []struct {
		name string
		raw  []byte
		want common.Hash
		is   func(error) bool
	}{
		{"another block's header", other.Header, b.Hash, isLie},
		{"trailing byte", append(slices.Clone(b.Header), 0x80), b.Hash, func(err error) bool { return errors.Is(err, ErrMalformed) }},
		{"truncated", b.Header[:len(b.Header)-1], b.Hash, func(err error) bool { return errors.Is(err, ErrMalformed) }},
		{"empty", nil, b.Hash, func(err error) bool { return errors.Is(err, ErrMalformed) }},
		{"oversized", make([]byte, MaxHeaderRLP+1), b.Hash, func(err error) bool { return errors.Is(err, ErrTooLarge) }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h, err := DecodeHeader(c.raw, c.want)
			if h != nil || !c.is(err) {
				t.Fatalf("got %v, %v", h, err)
			}
		})
	}
}

// tamper re-encodes the body of b after f changed it.
func tamper(t *testing.T, b *contentBlock, f func(*types.Body)) []byte {
	t.Helper()
	_, body := b.decoded(t)
	f(body)
	out, err := rlp.EncodeToBytes(body)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestDecodeBodyRejectsLies(t *testing.T) {
	seeds := loadContentSeeds(t)
	b := richest(t, seeds)
	h, _ := b.decoded(t)
	_, others := seeds[0].decoded(t)
	lies := map[string][]byte{
		"dropped transaction": tamper(t, b, func(body *types.Body) { body.Transactions = body.Transactions[1:] }),
		"swapped transactions": tamper(t, b, func(body *types.Body) {
			tx := body.Transactions
			tx[0], tx[1] = tx[1], tx[0]
		}),
		"another block's transactions": tamper(t, b, func(body *types.Body) { body.Transactions = others.Transactions }),
		"added uncle":                  tamper(t, b, func(body *types.Body) { body.Uncles = append(body.Uncles, h) }),
		"no withdrawals":               tamper(t, b, func(body *types.Body) { body.Withdrawals = nil }),
		"added withdrawal": tamper(t, b, func(body *types.Body) {
			body.Withdrawals = append(body.Withdrawals, &types.Withdrawal{Index: 1, Address: common.Address{1}, Amount: 1})
		}),
	}
	for name, raw := range lies {
		t.Run(name, func(t *testing.T) {
			if body, err := DecodeBody(h, raw); body != nil || !isLie(err) {
				t.Fatalf("got %v, %v", body, err)
			}
		})
	}
	t.Run("withdrawals the header has none of", func(t *testing.T) {
		pre := types.CopyHeader(h)
		pre.WithdrawalsHash = nil
		if err := CheckBody(pre, func() *types.Body { _, body := b.decoded(t); return body }()); !isLie(err) {
			t.Fatalf("got %v", err)
		}
	})
	t.Run("malformed", func(t *testing.T) {
		for _, raw := range [][]byte{nil, {0xc0}, append(slices.Clone(b.Body), 0), b.Body[:len(b.Body)-1], b.Header} {
			if _, err := DecodeBody(h, raw); !errors.Is(err, ErrMalformed) && !isLie(err) {
				t.Fatalf("%x: got %v", raw, err)
			}
		}
		if _, err := DecodeBody(h, append(slices.Clone(b.Body), 0)); !errors.Is(err, ErrMalformed) {
			t.Fatalf("trailing byte: got %v", err)
		}
	})
	t.Run("oversized", func(t *testing.T) {
		if _, err := DecodeBody(h, make([]byte, MaxBodyRLP+1)); !errors.Is(err, ErrTooLarge) {
			t.Fatalf("got %v", err)
		}
	})
	t.Run("no header", func(t *testing.T) {
		if _, err := DecodeBody(nil, b.Body); !isLie(err) {
			t.Fatalf("got %v", err)
		}
	})
}

// receiptsLie re-encodes b's receipts (consensus encoding) after f changed
// them.
func receiptsLie(t *testing.T, b *contentBlock, f func(types.Receipts) types.Receipts) []byte {
	t.Helper()
	var rs types.Receipts
	if err := rlp.DecodeBytes(b.Receipts, &rs); err != nil {
		t.Fatal(err)
	}
	out, err := rlp.EncodeToBytes(f(rs))
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestDecodeReceiptsRejectsLies(t *testing.T) {
	seeds := loadContentSeeds(t)
	b := mostLogs(t, seeds)
	h, body := b.decoded(t)
	withLogs := func() int {
		var rs types.Receipts
		if err := rlp.DecodeBytes(b.Receipts, &rs); err != nil {
			t.Fatal(err)
		}
		for i, r := range rs {
			if len(r.Logs) > 0 {
				return i
			}
		}
		return -1
	}()
	lies := map[string][]byte{
		"dropped receipt": receiptsLie(t, b, func(rs types.Receipts) types.Receipts { return rs[1:] }),
		"extra receipt":   receiptsLie(t, b, func(rs types.Receipts) types.Receipts { return append(rs, rs[0]) }),
		"status flipped": receiptsLie(t, b, func(rs types.Receipts) types.Receipts {
			rs[0].Status ^= 1
			return rs
		}),
		"gas changed": receiptsLie(t, b, func(rs types.Receipts) types.Receipts {
			rs[len(rs)-1].CumulativeGasUsed++
			return rs
		}),
		"wrong type": receiptsLie(t, b, func(rs types.Receipts) types.Receipts {
			rs[0].Type = types.DynamicFeeTxType
			if body.Transactions[0].Type() == types.DynamicFeeTxType {
				rs[0].Type = types.AccessListTxType
			}
			return rs
		}),
	}
	if withLogs >= 0 {
		lies["log data changed"] = receiptsLie(t, b, func(rs types.Receipts) types.Receipts {
			rs[withLogs].Logs[0].Data = append(rs[withLogs].Logs[0].Data, 1)
			return rs
		})
		lies["log dropped"] = receiptsLie(t, b, func(rs types.Receipts) types.Receipts {
			rs[withLogs].Logs = rs[withLogs].Logs[1:]
			rs[withLogs].Bloom = types.CreateBloom(rs[withLogs])
			return rs
		})
	} else {
		t.Fatalf("%s has no logs", b.Name)
	}
	for name, raw := range lies {
		t.Run(name, func(t *testing.T) {
			if rs, err := DecodeReceipts(h, body.Transactions, raw, ReceiptsConsensus); rs != nil || !isLie(err) {
				t.Fatalf("got %v, %v", rs, err)
			}
		})
	}
	t.Run("another block's receipts", func(t *testing.T) {
		for _, o := range seeds {
			if o == b {
				continue
			}
			if _, err := DecodeReceipts(h, body.Transactions, o.Storage, ReceiptsStorage); !isLie(err) {
				t.Fatalf("%s: got %v", o.Name, err)
			}
		}
	})
	t.Run("slim receipt of the wrong type", func(t *testing.T) {
		var rs types.Receipts
		if err := rlp.DecodeBytes(b.Receipts, &rs); err != nil {
			t.Fatal(err)
		}
		slim := make([]*types.SlimReceipt, len(rs))
		for i, r := range rs {
			slim[i] = (*types.SlimReceipt)(r)
		}
		slim[0].Type ^= 1
		raw, _ := rlp.EncodeToBytes(slim)
		if _, err := DecodeReceipts(h, body.Transactions, raw, ReceiptsSlim); !isLie(err) {
			t.Fatalf("got %v", err)
		}
	})
	t.Run("malformed", func(t *testing.T) {
		for name, c := range map[string]struct {
			raw []byte
			enc ReceiptsEncoding
		}{
			"consensus as storage": {b.Receipts, ReceiptsStorage},
			"storage as consensus": {b.Storage, ReceiptsConsensus},
			"trailing byte":        {append(slices.Clone(b.Receipts), 0), ReceiptsConsensus},
			"not a list":           {[]byte{0x80}, ReceiptsSlim},
			"unknown encoding":     {b.Receipts, ReceiptsEncoding(9)},
		} {
			if _, err := DecodeReceipts(h, body.Transactions, c.raw, c.enc); !errors.Is(err, ErrMalformed) {
				t.Fatalf("%s: got %v", name, err)
			}
		}
	})
	t.Run("oversized", func(t *testing.T) {
		if _, err := DecodeReceipts(h, body.Transactions, make([]byte, MaxReceiptsRLP+1), ReceiptsConsensus); !errors.Is(err, ErrTooLarge) {
			t.Fatalf("got %v", err)
		}
	})
}

func TestCheckReceiptsRejectsMissingPieces(t *testing.T) {
	b := richest(t, loadContentSeeds(t))
	h, body := b.decoded(t)
	rs, err := DecodeReceipts(h, body.Transactions, b.Receipts, ReceiptsConsensus)
	if err != nil {
		t.Fatal(err)
	}
	holey := slices.Clone(rs)
	holey[0] = nil
	if err := CheckReceipts(h, body.Transactions, holey); !isLie(err) {
		t.Fatalf("nil receipt: got %v", err)
	}
	if err := CheckReceipts(nil, body.Transactions, rs); !isLie(err) {
		t.Fatalf("no header: got %v", err)
	}
	txs := slices.Clone(body.Transactions)
	txs[0] = nil
	if err := CheckBody(h, &types.Body{Transactions: txs, Withdrawals: body.Withdrawals}); !isLie(err) {
		t.Fatalf("nil transaction: got %v", err)
	}
	if err := CheckReceipts(h, txs, rs); !isLie(err) {
		t.Fatalf("nil transaction for receipts: got %v", err)
	}
	if err := CheckBody(h, &types.Body{Transactions: body.Transactions, Uncles: []*types.Header{nil}, Withdrawals: body.Withdrawals}); !isLie(err) {
		t.Fatalf("nil uncle: got %v", err)
	}
	if err := CheckBody(h, &types.Body{Transactions: body.Transactions, Withdrawals: []*types.Withdrawal{nil}}); !isLie(err) {
		t.Fatalf("nil withdrawal: got %v", err)
	}
	if err := CheckBody(h, nil); !isLie(err) {
		t.Fatalf("nil body: got %v", err)
	}
	// A pre-Byzantium receipt carries a post-state root; the check covers it.
	pre := slices.Clone(rs)
	pre[0] = &types.Receipt{Type: rs[0].Type, PostState: common.Hash{1}.Bytes(), CumulativeGasUsed: rs[0].CumulativeGasUsed, Logs: rs[0].Logs, Bloom: rs[0].Bloom}
	if err := CheckReceipts(h, body.Transactions, pre); !isLie(err) {
		t.Fatalf("post-state receipt: got %v", err)
	}
}
