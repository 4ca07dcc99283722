package verify

import (
	"errors"
	"fmt"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/rlp"
	"github.com/ethereum/go-ethereum/trie"
)

// Chain content in canonical RLP, as peers and archive files carry it, is
// checked here before braid keeps or serves it: a header must hash to the
// key it was asked for, a body must rebuild its trusted header's
// transactions, uncles and withdrawals roots, and receipts must rebuild
// its receipts root, one per transaction.
//
// Three kinds of failure are told apart:
//   - ErrTooLarge: the input exceeds the size bound of its kind; it was not
//     decoded.
//   - ErrMalformed: the input is not one RLP value of the expected shape.
//   - *Error: the input decodes but is not what the trusted header
//     commits to (a lie).
//
// The sender of any of them must not be believed; the peer layer decides
// what each costs it.

// Size bounds of content a peer may send, in bytes of RLP. A body or a
// receipts list that rebuilds a real header's root is far smaller: a
// block's RLP is capped at 10 MiB by EIP-7934 (Osaka), and no earlier
// mainnet block came near that. Decoding amplifies memory by a bounded
// factor (a minimal log of ~25 bytes becomes a types.Log of ~200), so the
// caller bounds how many decodes run at once.
const (
	MaxHeaderRLP   = 64 << 10
	MaxBodyRLP     = 16 << 20
	MaxReceiptsRLP = 16 << 20
)

var (
	// ErrMalformed is wrapped by the errors of input that is not one RLP
	// value of the expected shape.
	ErrMalformed = errors.New("malformed chain content")
	// ErrTooLarge is wrapped by the errors of input over its size bound.
	ErrTooLarge = errors.New("chain content too large")
)

// ReceiptsEncoding names one of the RLP encodings go-ethereum uses for a
// block's receipts list.
type ReceiptsEncoding uint8

const (
	// ReceiptsConsensus is rlp(types.Receipts): each receipt as
	// [status, cumulative gas, bloom, logs], typed ones prefixed by their
	// type and wrapped in a string. eth/68 and era1 files carry it.
	ReceiptsConsensus ReceiptsEncoding = iota
	// ReceiptsStorage is a list of types.ReceiptForStorage,
	// [status, cumulative gas, logs] with no type and no bloom: what
	// go-ethereum's database and freezer keep, and what
	// core/rawdb/eradb.Store.GetRawReceipts returns.
	ReceiptsStorage
	// ReceiptsSlim is a list of types.SlimReceipt,
	// [type, status, cumulative gas, logs]: eth/69 and ere files.
	ReceiptsSlim
)

// String names the encoding.
func (e ReceiptsEncoding) String() string {
	switch e {
	case ReceiptsConsensus:
		return "consensus"
	case ReceiptsStorage:
		return "storage"
	case ReceiptsSlim:
		return "slim"
	}
	return fmt.Sprintf("encoding(%d)", uint8(e))
}

// DecodeHeader decodes a header's RLP and checks that it is the header of
// block want: the bytes hash to want (so they are the canonical encoding)
// and so does the decoded header.
func DecodeHeader(raw []byte, want common.Hash) (*types.Header, error) {
	if len(raw) > MaxHeaderRLP {
		return nil, fmt.Errorf("%w: header of %d bytes (at most %d)", ErrTooLarge, len(raw), MaxHeaderRLP)
	}
	h := new(types.Header)
	if err := rlp.DecodeBytes(raw, h); err != nil {
		return nil, fmt.Errorf("%w: header: %v", ErrMalformed, err)
	}
	if got := crypto.Keccak256Hash(raw); got != want {
		return nil, errorf("header hashes to %s, not %s", got.Hex(), want.Hex())
	}
	if got := h.Hash(); got != want {
		return nil, errorf("header re-encodes to hash %s, not %s", got.Hex(), want.Hex())
	}
	return h, nil
}

// DecodeBody decodes a block body's RLP (transactions, uncles and, from
// Shanghai, withdrawals) and checks it against the trusted header h
// (CheckBody).
func DecodeBody(h *types.Header, raw []byte) (*types.Body, error) {
	if len(raw) > MaxBodyRLP {
		return nil, fmt.Errorf("%w: body of %d bytes (at most %d)", ErrTooLarge, len(raw), MaxBodyRLP)
	}
	b := new(types.Body)
	if err := rlp.DecodeBytes(raw, b); err != nil {
		return nil, fmt.Errorf("%w: body: %v", ErrMalformed, err)
	}
	if err := CheckBody(h, b); err != nil {
		return nil, err
	}
	return b, nil
}

// CheckBody checks a decoded body against the trusted header h: its
// transactions rebuild h.TxHash, its uncles h.UncleHash, and it carries
// withdrawals exactly when h has a withdrawals root, which they rebuild.
func CheckBody(h *types.Header, b *types.Body) error {
	if h == nil {
		return errorf("no trusted header to check a body against")
	}
	if b == nil {
		return errorf("no body for block %s", h.Hash().Hex())
	}
	for i, tx := range b.Transactions {
		if tx == nil {
			return errorf("body of block %s: transaction %d is missing", h.Hash().Hex(), i)
		}
	}
	for i, u := range b.Uncles {
		if u == nil {
			return errorf("body of block %s: uncle %d is missing", h.Hash().Hex(), i)
		}
	}
	if got := types.DeriveSha(types.Transactions(b.Transactions), trie.NewStackTrie(nil)); got != h.TxHash {
		return errorf("transactions of block %s rebuild root %s, not %s", h.Hash().Hex(), got.Hex(), h.TxHash.Hex())
	}
	if got := types.CalcUncleHash(b.Uncles); got != h.UncleHash {
		return errorf("uncles of block %s hash to %s, not %s", h.Hash().Hex(), got.Hex(), h.UncleHash.Hex())
	}
	return checkWithdrawals(h, b.Withdrawals)
}

func checkWithdrawals(h *types.Header, ws []*types.Withdrawal) error {
	switch {
	case h.WithdrawalsHash == nil && ws != nil:
		return errorf("body of block %s has withdrawals, its header none", h.Hash().Hex())
	case h.WithdrawalsHash == nil:
		return nil
	case ws == nil:
		return errorf("body of block %s has no withdrawals, its header a withdrawals root", h.Hash().Hex())
	}
	for i, w := range ws {
		if w == nil {
			return errorf("body of block %s: withdrawal %d is missing", h.Hash().Hex(), i)
		}
	}
	if got := types.DeriveSha(types.Withdrawals(ws), trie.NewStackTrie(nil)); got != *h.WithdrawalsHash {
		return errorf("withdrawals of block %s rebuild root %s, not %s", h.Hash().Hex(), got.Hex(), h.WithdrawalsHash.Hex())
	}
	return nil
}

// DecodeReceipts decodes a block's receipts list in encoding enc and
// checks it against the trusted header h and the block's verified
// transactions txs (CheckReceipts). The receipts returned carry their
// consensus fields (type, status or post state, cumulative gas, bloom,
// logs); types.Receipts.DeriveFields fills in the rest.
func DecodeReceipts(h *types.Header, txs []*types.Transaction, raw []byte, enc ReceiptsEncoding) (types.Receipts, error) {
	if len(raw) > MaxReceiptsRLP {
		return nil, fmt.Errorf("%w: receipts of %d bytes (at most %d)", ErrTooLarge, len(raw), MaxReceiptsRLP)
	}
	rs, err := decodeReceiptList(raw, enc)
	if err != nil {
		return nil, err
	}
	if enc != ReceiptsConsensus {
		// Storage receipts name no type and no encoding carries a bloom
		// but the consensus one: both follow from the block.
		if len(rs) != len(txs) {
			return nil, errorf("%d receipts for block %s, which has %d transactions", len(rs), blockName(h), len(txs))
		}
		for i, r := range rs {
			if enc == ReceiptsStorage {
				r.Type = txTypeAt(txs, i)
			}
			r.Bloom = types.CreateBloom(r)
		}
	}
	if err := CheckReceipts(h, txs, rs); err != nil {
		return nil, err
	}
	return rs, nil
}

func decodeReceiptList(raw []byte, enc ReceiptsEncoding) (types.Receipts, error) {
	var (
		rs  types.Receipts
		err error
	)
	switch enc {
	case ReceiptsConsensus:
		err = rlp.DecodeBytes(raw, &rs)
	case ReceiptsStorage:
		var stored []*types.ReceiptForStorage
		if err = rlp.DecodeBytes(raw, &stored); err == nil {
			rs = make(types.Receipts, len(stored))
			for i, r := range stored {
				rs[i] = (*types.Receipt)(r)
			}
		}
	case ReceiptsSlim:
		var slim []*types.SlimReceipt
		if err = rlp.DecodeBytes(raw, &slim); err == nil {
			rs = make(types.Receipts, len(slim))
			for i, r := range slim {
				rs[i] = (*types.Receipt)(r)
			}
		}
	default:
		return nil, fmt.Errorf("%w: unknown receipts encoding %d", ErrMalformed, uint8(enc))
	}
	if err != nil {
		return nil, fmt.Errorf("%w: receipts (%s encoding): %v", ErrMalformed, enc, err)
	}
	return rs, nil
}

// CheckReceipts checks decoded receipts against the trusted header h and
// the block's verified transactions txs: one receipt per transaction, of
// its transaction's type, and together they rebuild h.ReceiptHash. The
// receipts' types and blooms must be set (as decoding the consensus
// encoding or go-ethereum's JSON sets them).
func CheckReceipts(h *types.Header, txs []*types.Transaction, rs types.Receipts) error {
	if h == nil {
		return errorf("no trusted header to check receipts against")
	}
	if len(rs) != len(txs) {
		return errorf("%d receipts for block %s, which has %d transactions", len(rs), blockName(h), len(txs))
	}
	for i, r := range rs {
		if r == nil {
			return errorf("receipt %d of block %s is missing", i, blockName(h))
		}
		if want := txTypeAt(txs, i); r.Type != want {
			return errorf("receipt %d of block %s has type %d, its transaction %d", i, blockName(h), r.Type, want)
		}
	}
	if got := types.DeriveSha(rs, trie.NewStackTrie(nil)); got != h.ReceiptHash {
		return errorf("receipts of block %s rebuild root %s, not %s", blockName(h), got.Hex(), h.ReceiptHash.Hex())
	}
	return nil
}

// txTypeAt is the type of transaction i; a missing transaction has none
// of the real types, so a receipt can never match it.
func txTypeAt(txs []*types.Transaction, i int) uint8 {
	if txs[i] == nil {
		return 0xff
	}
	return txs[i].Type()
}

func blockName(h *types.Header) string { return h.Hash().Hex() }
