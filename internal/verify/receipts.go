package verify

import (
	"bytes"
	"encoding/json"
	"math/big"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/trie"
)

var (
	receiptNames = nameSet("type", "root", "status", "cumulativeGasUsed", "logsBloom", "logs",
		"transactionHash", "contractAddress", "gasUsed", "effectiveGasPrice", "blobGasUsed",
		"blobGasPrice", "blockHash", "blockNumber", "transactionIndex", "from", "to")
	logNames = nameSet("address", "topics", "data", "blockNumber", "transactionHash",
		"transactionIndex", "blockHash", "blockTimestamp", "logIndex", "removed")
	// logPlaceNames are the members placing a log that types.Log decodes
	// as zero when missing: they must be present.
	logPlaceNames = []string{"blockHash", "blockNumber", "transactionIndex", "logIndex"}
)

// VerifyReceiptsTxs checks an eth_getBlockReceipts answer against the
// trusted header h and the verified transactions of its block
// (VerifyBlockTxs): the receipts rebuild h.ReceiptHash, and each one names
// h's block, its index, its transaction's hash, sender, recipient and
// prices, its gas used (the difference of cumulative gas); each log names
// its block, transaction and block-wide log index and is not removed.
// Only "blobGasPrice", which needs the chain's blob schedule, is checked
// for presence alone (blob transactions only).
//
// It returns the receipts with every derived field filled in from h (as
// VerifyReceipt and VerifyLogs need them) and the answer's elements, in
// order.
func VerifyReceiptsTxs(h *types.Header, txs []*types.Transaction, raw json.RawMessage) ([]*types.Receipt, []json.RawMessage, error) {
	hashes := make([]common.Hash, len(txs))
	for i, tx := range txs {
		hashes[i] = tx.Hash()
	}
	return verifyReceipts(h, hashes, txs, raw)
}

func verifyReceipts(h *types.Header, txHashes []common.Hash, txs []*types.Transaction, raw json.RawMessage) ([]*types.Receipt, []json.RawMessage, error) {
	if h == nil {
		return nil, nil, errorf("no trusted header to check receipts against")
	}
	got, objs, elems, err := decodeReceipts(h, txHashes, raw)
	if err != nil {
		return nil, nil, err
	}
	want := make([]*types.Receipt, len(got))
	var logIndex uint
	for i, r := range got {
		w, err := expectedReceipt(h, got, i, txHashes, txs)
		if err != nil {
			return nil, nil, err
		}
		w.Logs = make([]*types.Log, len(r.Logs))
		for j, l := range r.Logs {
			w.Logs[j] = &types.Log{
				Address: l.Address, Topics: l.Topics, Data: l.Data,
				BlockNumber: h.Number.Uint64(), TxHash: w.TxHash, TxIndex: uint(i), BlockHash: h.Hash(),
				BlockTimestamp: h.Time, Index: logIndex,
			}
			logIndex++
		}
		what := "receipt " + itoa(i)
		if err := checkReceipt(objs[i], r, w, what); err != nil {
			return nil, nil, err
		}
		if txs != nil {
			if err := checkReceiptParties(objs[i], txs[i], what); err != nil {
				return nil, nil, err
			}
		}
		want[i] = w
	}
	return want, elems, nil
}

// decodeReceipts reads a block's receipts list (one per transaction, when
// txHashes are known) and checks that the receipts rebuild h's receipts
// root.
func decodeReceipts(h *types.Header, txHashes []common.Hash, raw json.RawMessage) ([]*types.Receipt, []map[string]json.RawMessage, []json.RawMessage, error) {
	if err := jsonHygiene(raw, "receipts"); err != nil {
		return nil, nil, nil, err
	}
	if t := bytes.TrimSpace(raw); isNullJSON(t) || t[0] != '[' {
		return nil, nil, nil, errorf("no receipts list for block %s", h.Hash().Hex())
	}
	var elems []json.RawMessage
	if err := json.Unmarshal(raw, &elems); err != nil {
		return nil, nil, nil, errorf("receipts do not decode: %v", err)
	}
	if txHashes != nil && len(elems) != len(txHashes) {
		return nil, nil, nil, errorf("%d receipts for block %s, which has %d transactions", len(elems), h.Hash().Hex(), len(txHashes))
	}
	got := make([]*types.Receipt, len(elems))
	objs := make([]map[string]json.RawMessage, len(elems))
	for i, el := range elems {
		r, m, err := decodeReceipt(el, "receipt "+itoa(i))
		if err != nil {
			return nil, nil, nil, err
		}
		got[i], objs[i] = r, m
	}
	if root := types.DeriveSha(types.Receipts(got), trie.NewStackTrie(nil)); root != h.ReceiptHash {
		return nil, nil, nil, errorf("the %d receipts rebuild root %s, block %s commits to %s", len(got), root.Hex(), h.Hash().Hex(), h.ReceiptHash.Hex())
	}
	return got, objs, elems, nil
}

// expectedReceipt is what receipt i of block h must say besides its logs:
// its consensus fields as proven by the root, its place from the header,
// and what the block's transactions (when known) decide.
func expectedReceipt(h *types.Header, got []*types.Receipt, i int, txHashes []common.Hash, txs []*types.Transaction) (*types.Receipt, error) {
	r := got[i]
	w := &types.Receipt{
		// Consensus fields, proven by the root.
		Type: r.Type, PostState: r.PostState, Status: r.Status,
		CumulativeGasUsed: r.CumulativeGasUsed, Bloom: r.Bloom,
		// As answered unless the transactions say otherwise below.
		TxHash: r.TxHash, ContractAddress: r.ContractAddress, EffectiveGasPrice: r.EffectiveGasPrice,
		BlobGasUsed: r.BlobGasUsed, BlobGasPrice: r.BlobGasPrice,
		// From the header.
		BlockHash: h.Hash(), BlockNumber: new(big.Int).Set(h.Number), TransactionIndex: uint(i),
		GasUsed: r.CumulativeGasUsed,
	}
	if i > 0 {
		w.GasUsed = r.CumulativeGasUsed - got[i-1].CumulativeGasUsed
		if r.CumulativeGasUsed < got[i-1].CumulativeGasUsed {
			return nil, errorf("receipt %d has less cumulative gas than receipt %d", i, i-1)
		}
	}
	if txHashes != nil {
		w.TxHash = txHashes[i]
	}
	if txs == nil {
		return w, nil
	}
	tx := txs[i]
	if r.Type != tx.Type() {
		return nil, errorf("receipt %d is of type %d, its transaction of type %d", i, r.Type, tx.Type())
	}
	w.ContractAddress = common.Address{}
	if tx.To() == nil {
		from, err := txSender(tx)
		if err != nil {
			return nil, errorf("transaction %d has an invalid signature: %v", i, err)
		}
		w.ContractAddress = crypto.CreateAddress(from, tx.Nonce())
	}
	w.EffectiveGasPrice = effectiveGasPrice(tx, h.BaseFee)
	w.BlobGasUsed, w.BlobGasPrice = 0, nil
	if tx.Type() == types.BlobTxType {
		w.BlobGasUsed, w.BlobGasPrice = tx.BlobGas(), r.BlobGasPrice
		if r.BlobGasPrice == nil {
			return nil, errorf("receipt %d of a blob transaction has no blobGasPrice", i)
		}
	}
	return w, nil
}

// VerifyReceipt checks an eth_getTransactionReceipt answer against the
// verified receipts of its block and their raw elements (VerifyReceiptsTxs):
// it must be the receipt of transaction txHash (zero: the one it names)
// and say what the block's verified receipt says, member by member.
func VerifyReceipt(receipts []*types.Receipt, rawReceipts []json.RawMessage, raw json.RawMessage, txHash common.Hash) error {
	if len(rawReceipts) != len(receipts) {
		return errorf("%d raw receipts for %d verified receipts", len(rawReceipts), len(receipts))
	}
	if err := jsonHygiene(raw, "receipt"); err != nil {
		return err
	}
	r, m, err := decodeReceipt(raw, "receipt")
	if err != nil {
		return err
	}
	if txHash == (common.Hash{}) {
		txHash = r.TxHash
	}
	i := -1
	for j, w := range receipts {
		if w.TxHash == txHash {
			i = j
			break
		}
	}
	if i < 0 {
		return errorf("transaction %s is not in the verified receipts of its block", txHash.Hex())
	}
	if err := checkReceipt(m, r, receipts[i], "receipt"); err != nil {
		return err
	}
	// Members types.Receipt does not carry: as in the verified element.
	vm, err := jsonObject(rawReceipts[i], "verified receipt", receiptNames)
	if err != nil {
		return err
	}
	for _, k := range []string{"from", "to"} {
		v, ok := m[k]
		if !ok {
			continue
		}
		if w, ok := vm[k]; !ok || !sameJSON(v, w) {
			return errorf("receipt says %s is %s, its block's receipts say %s", k, truncateJSON(v), truncateJSON(vm[k]))
		}
	}
	return nil
}

// decodeReceipt decodes one receipt object with go-ethereum's decoder.
func decodeReceipt(raw json.RawMessage, what string) (*types.Receipt, map[string]json.RawMessage, error) {
	m, err := jsonObject(raw, what, receiptNames)
	if err != nil {
		return nil, nil, err
	}
	r := new(types.Receipt)
	if err := r.UnmarshalJSON(raw); err != nil {
		return nil, nil, errorf("%s does not decode: %v", what, err)
	}
	for j, l := range r.Logs {
		if l == nil {
			return nil, nil, errorf("log %d of %s is null", j, what)
		}
	}
	return r, m, nil
}

// checkReceipt checks a decoded receipt answer (r, members m) against the
// receipt it must be (w).
func checkReceipt(m map[string]json.RawMessage, r, w *types.Receipt, what string) error {
	for _, k := range []string{"blockHash", "blockNumber", "transactionIndex"} {
		if isNullJSON(m[k]) {
			return errorf("%s has no %s", what, k)
		}
	}
	// go-ethereum reads "type" into a byte: 0x102 would read as 2.
	var typ hexutil.Uint64
	if err := jsonField(m, what, "type", &typ, false); err != nil {
		return err
	}
	if uint64(typ) != uint64(w.Type) {
		return errorf("%s says it is of type %d, it is of type %d", what, uint64(typ), w.Type)
	}
	if len(w.PostState) == 0 {
		if isNullJSON(m["status"]) {
			return errorf("%s has no status", what)
		}
		if len(r.PostState) != 0 {
			return errorf("%s has a post-state root, the block's receipt has a status", what)
		}
	} else if !isNullJSON(m["status"]) {
		// The consensus encoding ignores the status when a root is set.
		return errorf("%s has a status, the block's receipt has a post-state root", what)
	}
	switch {
	case r.Status != w.Status || !bytes.Equal(r.PostState, w.PostState):
		return errorf("%s says status %d, the block's receipt says %d", what, r.Status, w.Status)
	case r.CumulativeGasUsed != w.CumulativeGasUsed:
		return errorf("%s says cumulative gas used is %d, it is %d", what, r.CumulativeGasUsed, w.CumulativeGasUsed)
	case r.GasUsed != w.GasUsed:
		return errorf("%s says gas used is %d, it is %d", what, r.GasUsed, w.GasUsed)
	case r.Bloom != w.Bloom:
		return errorf("%s has the wrong logs bloom", what)
	case r.TxHash != w.TxHash:
		return errorf("%s is for transaction %s, the block's receipt is for %s", what, r.TxHash.Hex(), w.TxHash.Hex())
	case r.BlockHash != w.BlockHash || r.BlockNumber == nil || r.BlockNumber.Cmp(w.BlockNumber) != 0:
		return errorf("%s says it is in block %s (%v), not %s (%v)", what, r.BlockHash.Hex(), r.BlockNumber, w.BlockHash.Hex(), w.BlockNumber)
	case r.TransactionIndex != w.TransactionIndex:
		return errorf("%s says it is at index %d, it is at %d", what, r.TransactionIndex, w.TransactionIndex)
	case r.ContractAddress != w.ContractAddress:
		return errorf("%s says contract address %s, it is %s", what, r.ContractAddress.Hex(), w.ContractAddress.Hex())
	case w.ContractAddress == (common.Address{}) && !isNullJSON(m["contractAddress"]):
		return errorf("%s names the zero address as its contract address", what)
	case !sameBig(r.EffectiveGasPrice, w.EffectiveGasPrice):
		return errorf("%s says effective gas price %v, it is %v", what, r.EffectiveGasPrice, w.EffectiveGasPrice)
	case r.BlobGasUsed != w.BlobGasUsed:
		return errorf("%s says blob gas used %d, it is %d", what, r.BlobGasUsed, w.BlobGasUsed)
	case !sameBig(r.BlobGasPrice, w.BlobGasPrice):
		return errorf("%s says blob gas price %v, it is %v", what, r.BlobGasPrice, w.BlobGasPrice)
	case len(r.Logs) != len(w.Logs):
		return errorf("%s has %d logs, the block's receipt has %d", what, len(r.Logs), len(w.Logs))
	}
	if len(r.Logs) > 0 {
		var logs []json.RawMessage
		if err := json.Unmarshal(m["logs"], &logs); err != nil || len(logs) != len(r.Logs) {
			return errorf("%s logs do not decode", what)
		}
		for j := range logs {
			if err := checkLog(logs[j], r.Logs[j], w.Logs[j], "log "+itoa(j)+" of "+what); err != nil {
				return err
			}
		}
	}
	return nil
}

// checkReceiptParties checks a receipt's "from" and "to" against its
// verified transaction.
func checkReceiptParties(m map[string]json.RawMessage, tx *types.Transaction, what string) error {
	from, err := txSender(tx)
	if err != nil {
		return errorf("the transaction of %s has an invalid signature: %v", what, err)
	}
	var got common.Address
	if err := jsonField(m, what, "from", &got, true); err != nil {
		return err
	}
	if got != from {
		return errorf("%s says it is from %s, its transaction is from %s", what, got.Hex(), from.Hex())
	}
	to, ok := m["to"]
	switch {
	case !ok:
	case tx.To() == nil:
		if !isNullJSON(to) {
			return errorf("%s names a recipient, its transaction creates a contract", what)
		}
	default:
		var a common.Address
		if err := jsonField(m, what, "to", &a, true); err != nil {
			return err
		}
		if a != *tx.To() {
			return errorf("%s says it is to %s, its transaction is to %s", what, a.Hex(), tx.To().Hex())
		}
	}
	return nil
}

// checkLog checks one log object (decoded as l) against the log it must
// be (w): the same content, block, transaction and block-wide index, and
// not removed.
func checkLog(raw json.RawMessage, l, w *types.Log, what string) error {
	m, err := jsonObject(raw, what, logNames)
	if err != nil {
		return err
	}
	for _, k := range logPlaceNames {
		if isNullJSON(m[k]) {
			return errorf("%s has no %s", what, k)
		}
	}
	switch {
	case l.Address != w.Address:
		return errorf("%s is from %s, the receipt's log is from %s", what, l.Address.Hex(), w.Address.Hex())
	case !sameTopics(l.Topics, w.Topics):
		return errorf("%s has other topics than the receipt's log", what)
	case !bytes.Equal(l.Data, w.Data):
		return errorf("%s has other data than the receipt's log", what)
	case l.BlockHash != w.BlockHash || l.BlockNumber != w.BlockNumber:
		return errorf("%s says it is in block %s (%d), not %s (%d)", what, l.BlockHash.Hex(), l.BlockNumber, w.BlockHash.Hex(), w.BlockNumber)
	case l.TxHash != w.TxHash || l.TxIndex != w.TxIndex:
		return errorf("%s says it is from transaction %s (index %d), not %s (index %d)", what, l.TxHash.Hex(), l.TxIndex, w.TxHash.Hex(), w.TxIndex)
	case l.Index != w.Index:
		return errorf("%s says its log index is %d, it is %d", what, l.Index, w.Index)
	case l.Removed:
		return errorf("%s says it was removed", what)
	}
	if !isNullJSON(m["blockTimestamp"]) && l.BlockTimestamp != w.BlockTimestamp {
		return errorf("%s says its block's timestamp is %d, it is %d", what, l.BlockTimestamp, w.BlockTimestamp)
	}
	return nil
}

func sameTopics(a, b []common.Hash) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func sameBig(a, b *big.Int) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	return a.Cmp(b) == 0
}
