package ethjson

import (
	"encoding/json"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/params"

	"github.com/braidrpc/braid/internal/verify"
)

// receiptJSON is a receipt as geth renders it; geth builds it as a map, so
// its members come in alphabetical order.
type receiptJSON struct {
	BlobGasPrice      *hexutil.Big    `json:"blobGasPrice,omitempty"`
	BlobGasUsed       *hexutil.Uint64 `json:"blobGasUsed,omitempty"`
	BlockHash         common.Hash     `json:"blockHash"`
	BlockNumber       hexutil.Uint64  `json:"blockNumber"`
	ContractAddress   *common.Address `json:"contractAddress"`
	CumulativeGasUsed hexutil.Uint64  `json:"cumulativeGasUsed"`
	EffectiveGasPrice *hexutil.Big    `json:"effectiveGasPrice"`
	From              common.Address  `json:"from"`
	GasUsed           hexutil.Uint64  `json:"gasUsed"`
	Logs              []*types.Log    `json:"logs"`
	Bloom             types.Bloom     `json:"logsBloom"`
	Root              hexutil.Bytes   `json:"root,omitempty"`   // before Byzantium
	Status            *hexutil.Uint   `json:"status,omitempty"` // from Byzantium
	To                *common.Address `json:"to"`
	TxHash            common.Hash     `json:"transactionHash"`
	TxIndex           hexutil.Uint64  `json:"transactionIndex"`
	Type              hexutil.Uint    `json:"type"`
}

// receipt is receipt i of b as geth renders it.
func (r *Renderer) receipt(b *Block, i int) *receiptJSON {
	rc, tx := b.receipts[i], b.body.Transactions[i]
	out := &receiptJSON{
		BlockHash: b.hash, BlockNumber: hexutil.Uint64(b.Number()), CumulativeGasUsed: hexutil.Uint64(rc.CumulativeGasUsed),
		EffectiveGasPrice: (*hexutil.Big)(rc.EffectiveGasPrice), From: b.senders[i], GasUsed: hexutil.Uint64(rc.GasUsed),
		Logs: rc.Logs, Bloom: rc.Bloom, To: tx.To(), TxHash: tx.Hash(), TxIndex: hexutil.Uint64(i), Type: hexutil.Uint(tx.Type()),
	}
	if out.Logs == nil {
		out.Logs = []*types.Log{}
	}
	if len(rc.PostState) > 0 {
		out.Root = rc.PostState
	} else {
		status := hexutil.Uint(rc.Status)
		out.Status = &status
	}
	if rc.ContractAddress != (common.Address{}) {
		addr := rc.ContractAddress
		out.ContractAddress = &addr
	}
	if tx.Type() == types.BlobTxType {
		used := hexutil.Uint64(rc.BlobGasUsed)
		out.BlobGasUsed, out.BlobGasPrice = &used, (*hexutil.Big)(rc.BlobGasPrice)
	}
	return out
}

// Receipt renders the receipt of the transaction with that hash as
// eth_getTransactionReceipt answers: null when b does not hold the
// transaction.
func (r *Renderer) Receipt(b *Block, txHash common.Hash) (json.RawMessage, error) {
	if b.receipts == nil {
		return nil, ErrNoReceipts
	}
	i, ok := b.Index(txHash)
	if !ok {
		return null, nil
	}
	return json.Marshal(r.receipt(b, i))
}

// BlockReceipts renders every receipt of b as eth_getBlockReceipts
// answers.
func (r *Renderer) BlockReceipts(b *Block) (json.RawMessage, error) {
	if b.receipts == nil {
		return nil, ErrNoReceipts
	}
	out := make([]*receiptJSON, len(b.receipts))
	for i := range b.receipts {
		out[i] = r.receipt(b, i)
	}
	return json.Marshal(out)
}

// Logs renders the logs of blocks that f selects, as eth_getLogs answers:
// blocks must be in chain order, each with its receipts, and be every
// block of f's range whose bloom may match (the caller's duty; a block
// outside f's range contributes nothing). The answer is [] when nothing
// matches.
func (r *Renderer) Logs(f *verify.LogFilter, blocks []*Block) (json.RawMessage, error) {
	out := []*types.Log{}
	for _, b := range blocks {
		if b.receipts == nil {
			return nil, ErrNoReceipts
		}
		if !f.BloomMayMatch(b.header.Bloom) {
			continue
		}
		for _, rc := range b.receipts {
			for _, l := range rc.Logs {
				if f.Matches(l) {
					out = append(out, l)
				}
			}
		}
	}
	return json.Marshal(out)
}

// ChainConfig is the configuration of a public network go-ethereum knows
// (mainnet, Sepolia, Hoodi) or of its development chain (1337, which
// braid's devnet runs).
func ChainConfig(chainID uint64) (*params.ChainConfig, bool) {
	for _, c := range []*params.ChainConfig{params.MainnetChainConfig, params.SepoliaChainConfig, params.HoodiChainConfig,
		params.AllDevChainProtocolChanges} {
		if c.ChainID != nil && c.ChainID.IsUint64() && c.ChainID.Uint64() == chainID {
			return c, true
		}
	}
	return nil, false
}
