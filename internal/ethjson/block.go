// Package ethjson renders verified chain content — a block's header, body
// and receipts — as the JSON a go-ethereum node answers for
// eth_getBlockByHash/ByNumber (with transaction hashes or in full),
// eth_getTransactionByHash and …ByBlockHashAndIndex/…NumberAndIndex,
// eth_getTransactionReceipt, eth_getBlockReceipts, the block transaction
// counts and eth_getLogs, member for member and null for null.
//
// The derived members (a transaction's sender, effective gas prices, blob
// gas prices, contract addresses, log positions) follow from the content
// and the chain's configuration, which the caller supplies (ChainConfig
// knows the public networks). Rendering does no I/O and trusts its input:
// callers render only content they verified against a trusted header
// (internal/verify).
package ethjson

import (
	"encoding/json"
	"errors"
	"fmt"
	"math/big"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/consensus/misc/eip4844"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/params"
)

// ErrNoReceipts is returned when a method needs receipts the Block was made
// without.
var ErrNoReceipts = errors.New("ethjson: block has no receipts")

// null is JSON null, geth's answer for something that does not exist.
var null = json.RawMessage("null")

// Renderer renders blocks of one chain.
type Renderer struct {
	config *params.ChainConfig
}

// New returns a Renderer for the chain with that configuration.
func New(config *params.ChainConfig) *Renderer {
	return &Renderer{config: config}
}

// Block is one block's content, prepared for rendering. It is read-only
// once made, so one Block may be rendered from several goroutines.
type Block struct {
	header   *types.Header
	body     *types.Body
	receipts types.Receipts // nil: not known
	hash     common.Hash
	size     uint64 // the block's RLP size, geth's "size"
	signer   types.Signer
	senders  []common.Address
}

// NewBlock prepares a block's verified header and body and, if known
// (non-nil), its receipts with their consensus fields (as
// verify.DecodeReceipts or the history store return them). It fills in
// the receipts' derived fields (types.Receipts.DeriveFields), so it takes
// ownership of them, and recovers every transaction's sender.
func (r *Renderer) NewBlock(h *types.Header, body *types.Body, receipts types.Receipts) (*Block, error) {
	if h == nil || body == nil {
		return nil, errors.New("ethjson: a block needs its header and body")
	}
	b := &Block{header: h, body: body, hash: h.Hash(), size: types.NewBlockWithHeader(h).WithBody(*body).Size(),
		signer: types.MakeSigner(r.config, h.Number, h.Time)}
	b.senders = make([]common.Address, len(body.Transactions))
	for i, tx := range body.Transactions {
		from, err := types.Sender(b.signer, tx)
		if err != nil {
			return nil, fmt.Errorf("ethjson: sender of transaction %d of block %s: %w", i, b.hash.Hex(), err)
		}
		b.senders[i] = from
	}
	if receipts == nil {
		return b, nil
	}
	blobPrice, err := r.blobGasPrice(h)
	if err != nil {
		return nil, err
	}
	if err := receipts.DeriveFields(r.config, b.hash, h.Number.Uint64(), h.Time, h.BaseFee, blobPrice, body.Transactions); err != nil {
		return nil, fmt.Errorf("ethjson: receipts of block %s: %w", b.hash.Hex(), err)
	}
	b.receipts = receipts
	return b, nil
}

// blobGasPrice is the block's blob base fee, nil before Cancun. A chain
// configuration without a blob schedule for the block is an error, not a
// wrong price (go-ethereum panics on it).
func (r *Renderer) blobGasPrice(h *types.Header) (price *big.Int, err error) {
	if h.ExcessBlobGas == nil {
		return nil, nil
	}
	defer func() {
		if recover() != nil {
			price, err = nil, fmt.Errorf("ethjson: the chain configuration has no blob schedule for block %d", h.Number.Uint64())
		}
	}()
	return eip4844.CalcBlobFee(r.config, h), nil
}

// Hash is the block's hash.
func (b *Block) Hash() common.Hash { return b.hash }

// Number is the block's number.
func (b *Block) Number() uint64 { return b.header.Number.Uint64() }

// Header is the block's header (not to be modified).
func (b *Block) Header() *types.Header { return b.header }

// HasReceipts reports whether the block was made with its receipts.
func (b *Block) HasReceipts() bool { return b.receipts != nil }

// blockJSON is a block as geth renders it; geth builds it as a map, so
// its members come in alphabetical order.
type blockJSON struct {
	BaseFee          *hexutil.Big       `json:"baseFeePerGas,omitempty"`
	BlobGasUsed      *hexutil.Uint64    `json:"blobGasUsed,omitempty"`
	BlockAccessList  *common.Hash       `json:"blockAccessListHash,omitempty"`
	Difficulty       *hexutil.Big       `json:"difficulty"`
	ExcessBlobGas    *hexutil.Uint64    `json:"excessBlobGas,omitempty"`
	Extra            hexutil.Bytes      `json:"extraData"`
	GasLimit         hexutil.Uint64     `json:"gasLimit"`
	GasUsed          hexutil.Uint64     `json:"gasUsed"`
	Hash             common.Hash        `json:"hash"`
	Bloom            types.Bloom        `json:"logsBloom"`
	Miner            common.Address     `json:"miner"`
	MixHash          common.Hash        `json:"mixHash"`
	Nonce            types.BlockNonce   `json:"nonce"`
	Number           *hexutil.Big       `json:"number"`
	ParentBeaconRoot *common.Hash       `json:"parentBeaconBlockRoot,omitempty"`
	ParentHash       common.Hash        `json:"parentHash"`
	ReceiptsRoot     common.Hash        `json:"receiptsRoot"`
	RequestsHash     *common.Hash       `json:"requestsHash,omitempty"`
	UncleHash        common.Hash        `json:"sha3Uncles"`
	Size             hexutil.Uint64     `json:"size"`
	SlotNumber       *hexutil.Uint64    `json:"slotNumber,omitempty"`
	StateRoot        common.Hash        `json:"stateRoot"`
	Time             hexutil.Uint64     `json:"timestamp"`
	Transactions     []any              `json:"transactions"`
	TxRoot           common.Hash        `json:"transactionsRoot"`
	Uncles           []common.Hash      `json:"uncles"`
	Withdrawals      *types.Withdrawals `json:"withdrawals,omitempty"` // present when the body has a list, even an empty one
	WithdrawalsRoot  *common.Hash       `json:"withdrawalsRoot,omitempty"`
}

// Block renders the block as eth_getBlockByHash and eth_getBlockByNumber
// answer: with its transactions' hashes, or in full when fullTx.
func (r *Renderer) Block(b *Block, fullTx bool) (json.RawMessage, error) {
	h := b.header
	out := blockJSON{
		BaseFee: (*hexutil.Big)(h.BaseFee), BlobGasUsed: (*hexutil.Uint64)(h.BlobGasUsed),
		BlockAccessList: h.BlockAccessListHash, Difficulty: (*hexutil.Big)(h.Difficulty),
		ExcessBlobGas: (*hexutil.Uint64)(h.ExcessBlobGas), Extra: hexutil.Bytes(h.Extra),
		GasLimit: hexutil.Uint64(h.GasLimit), GasUsed: hexutil.Uint64(h.GasUsed), Hash: b.hash,
		Bloom: h.Bloom, Miner: h.Coinbase, MixHash: h.MixDigest, Nonce: h.Nonce, Number: (*hexutil.Big)(h.Number),
		ParentBeaconRoot: h.ParentBeaconRoot, ParentHash: h.ParentHash, ReceiptsRoot: h.ReceiptHash,
		RequestsHash: h.RequestsHash, UncleHash: h.UncleHash, SlotNumber: (*hexutil.Uint64)(h.SlotNumber),
		StateRoot: h.Root, Time: hexutil.Uint64(h.Time), TxRoot: h.TxHash, WithdrawalsRoot: h.WithdrawalsHash,
		Size:         hexutil.Uint64(types.NewBlockWithHeader(h).WithBody(*b.body).Size()),
		Transactions: make([]any, len(b.body.Transactions)),
		Uncles:       make([]common.Hash, len(b.body.Uncles)),
	}
	if b.body.Withdrawals != nil {
		ws := types.Withdrawals(b.body.Withdrawals)
		out.Withdrawals = &ws
	}
	for i, tx := range b.body.Transactions {
		if fullTx {
			out.Transactions[i] = r.transaction(b, i)
		} else {
			out.Transactions[i] = tx.Hash()
		}
	}
	for i, u := range b.body.Uncles {
		out.Uncles[i] = u.Hash()
	}
	return json.Marshal(&out)
}

// TransactionCount renders the number of the block's transactions, as
// eth_getBlockTransactionCountByHash and …ByNumber answer.
func (r *Renderer) TransactionCount(b *Block) json.RawMessage {
	out, _ := json.Marshal(hexutil.Uint(len(b.body.Transactions)))
	return out
}
