package ethjson

import (
	"encoding/json"
	"math/big"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/core/types"
)

// txJSON is a mined transaction as geth renders it, members in geth's
// order. The members after "type" exist only for the transaction types
// that have them.
type txJSON struct {
	BlockHash        common.Hash     `json:"blockHash"`
	BlockNumber      *hexutil.Big    `json:"blockNumber"`
	BlockTimestamp   hexutil.Uint64  `json:"blockTimestamp"`
	From             common.Address  `json:"from"`
	Gas              hexutil.Uint64  `json:"gas"`
	GasPrice         *hexutil.Big    `json:"gasPrice"`
	MaxFeePerGas     *hexutil.Big    `json:"maxFeePerGas,omitempty"`
	MaxPriorityFee   *hexutil.Big    `json:"maxPriorityFeePerGas,omitempty"`
	MaxFeePerBlobGas *hexutil.Big    `json:"maxFeePerBlobGas,omitempty"`
	Hash             common.Hash     `json:"hash"`
	Input            hexutil.Bytes   `json:"input"`
	Nonce            hexutil.Uint64  `json:"nonce"`
	To               *common.Address `json:"to"`
	TransactionIndex hexutil.Uint64  `json:"transactionIndex"`
	Value            *hexutil.Big    `json:"value"`
	Type             hexutil.Uint64  `json:"type"`

	AccessList          *types.AccessList            `json:"accessList,omitempty"`
	ChainID             *hexutil.Big                 `json:"chainId,omitempty"`
	BlobVersionedHashes []common.Hash                `json:"blobVersionedHashes,omitempty"`
	AuthorizationList   []types.SetCodeAuthorization `json:"authorizationList,omitempty"`

	V       *hexutil.Big    `json:"v"`
	R       *hexutil.Big    `json:"r"`
	S       *hexutil.Big    `json:"s"`
	YParity *hexutil.Uint64 `json:"yParity,omitempty"`
}

// transaction is transaction i of b as geth renders a mined transaction.
func (r *Renderer) transaction(b *Block, i int) *txJSON {
	tx := b.body.Transactions[i]
	h := b.header
	v, rr, s := tx.RawSignatureValues()
	out := &txJSON{
		BlockHash: b.hash, BlockNumber: (*hexutil.Big)(h.Number), BlockTimestamp: hexutil.Uint64(h.Time),
		From: b.senders[i], Gas: hexutil.Uint64(tx.Gas()), GasPrice: (*hexutil.Big)(tx.GasPrice()),
		Hash: tx.Hash(), Input: tx.Data(), Nonce: hexutil.Uint64(tx.Nonce()), To: tx.To(),
		TransactionIndex: hexutil.Uint64(i), Value: (*hexutil.Big)(tx.Value()), Type: hexutil.Uint64(tx.Type()),
		V: (*hexutil.Big)(v), R: (*hexutil.Big)(rr), S: (*hexutil.Big)(s),
	}
	if tx.Type() == types.LegacyTxType {
		// An EIP-155 transaction names its chain; an older one does not.
		if id := tx.ChainId(); id.Sign() != 0 {
			out.ChainID = (*hexutil.Big)(id)
		}
		return out
	}
	al := tx.AccessList()
	if al == nil {
		al = types.AccessList{}
	}
	parity := hexutil.Uint64(v.Uint64())
	out.AccessList, out.ChainID, out.YParity = &al, (*hexutil.Big)(tx.ChainId()), &parity
	if tx.Type() == types.AccessListTxType {
		return out
	}
	// Fee-market types: the price paid, and the caps.
	out.MaxFeePerGas, out.MaxPriorityFee = (*hexutil.Big)(tx.GasFeeCap()), (*hexutil.Big)(tx.GasTipCap())
	out.GasPrice = (*hexutil.Big)(paidGasPrice(tx, h.BaseFee))
	switch tx.Type() {
	case types.BlobTxType:
		out.MaxFeePerBlobGas, out.BlobVersionedHashes = (*hexutil.Big)(tx.BlobGasFeeCap()), tx.BlobHashes()
	case types.SetCodeTxType:
		out.AuthorizationList = tx.SetCodeAuthorizations()
	}
	return out
}

// paidGasPrice is what a fee-market transaction paid per gas in a block
// of that base fee: min(tip cap + base fee, fee cap), or the fee cap
// where the block has no base fee.
func paidGasPrice(tx *types.Transaction, baseFee *big.Int) *big.Int {
	if baseFee == nil {
		return tx.GasFeeCap()
	}
	price := new(big.Int).Add(tx.GasTipCap(), baseFee)
	if feeCap := tx.GasFeeCap(); feeCap.Cmp(price) < 0 {
		return feeCap
	}
	return price
}

// TransactionAt renders transaction index of b as
// eth_getTransactionByBlockHashAndIndex and …NumberAndIndex answer: null
// when the block has no such transaction.
func (r *Renderer) TransactionAt(b *Block, index uint64) (json.RawMessage, error) {
	if index >= uint64(len(b.body.Transactions)) {
		return null, nil
	}
	return json.Marshal(r.transaction(b, int(index)))
}

// Transaction renders the transaction with that hash as
// eth_getTransactionByHash answers for a mined transaction: null when b
// does not hold it.
func (r *Renderer) Transaction(b *Block, txHash common.Hash) (json.RawMessage, error) {
	i, ok := b.Index(txHash)
	if !ok {
		return null, nil
	}
	return json.Marshal(r.transaction(b, i))
}

// Index is the position of the transaction with that hash in b.
func (b *Block) Index(txHash common.Hash) (int, bool) {
	for i, tx := range b.body.Transactions {
		if tx.Hash() == txHash {
			return i, true
		}
	}
	return 0, false
}
