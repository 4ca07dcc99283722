package verify

import (
	"bytes"
	"encoding/json"
	"math/big"
	"strconv"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/trie"
)

// Member names of the answers checked here, as go-ethereum's RPC writes
// them. A member that matches one of these only case-insensitively is an
// *Error (see jsonObject); other unknown members pass through unchecked.
var (
	headerNames = nameSet("parentHash", "sha3Uncles", "miner", "stateRoot", "transactionsRoot",
		"receiptsRoot", "logsBloom", "difficulty", "number", "gasLimit", "gasUsed", "timestamp",
		"extraData", "mixHash", "nonce", "baseFeePerGas", "withdrawalsRoot", "blobGasUsed",
		"excessBlobGas", "parentBeaconBlockRoot", "requestsHash", "blockAccessListHash",
		"slotNumber", "hash")
	blockNames      = nameSet(append(headerNames.list(), "transactions", "uncles", "withdrawals", "size")...)
	withdrawalNames = nameSet("index", "validatorIndex", "address", "amount")
	// txBodyNames are the members types.Transaction reads or writes.
	txBodyNames = nameSet("type", "chainId", "nonce", "to", "gas", "gasPrice", "maxPriorityFeePerGas",
		"maxFeePerGas", "maxFeePerBlobGas", "value", "input", "accessList", "blobVersionedHashes",
		"authorizationList", "v", "r", "s", "yParity", "blobs", "commitments", "proofs", "hash")
	// txPlaceNames say where a transaction was mined (null while pending).
	txPlaceNames = nameSet("blockHash", "blockNumber", "blockTimestamp", "transactionIndex")
	// txAliases are members some client libraries read instead of the
	// standard one when present (ethers v5: "data" for "input", "gasLimit"
	// for "gas"): they must say the same.
	txAliases = map[string]string{"data": "input", "gasLimit": "gas"}
	txNames   = nameSet(append(append(txBodyNames.list(), txPlaceNames.list()...), "from", "data", "gasLimit")...)
)

// MaxUncles is the most uncles a (proof-of-work) block may have.
const MaxUncles = 2

// VerifyBlockTxs checks an eth_getBlockByHash/ByNumber answer with full
// transaction objects against the trusted header h: its header members
// hash to h.Hash(), every transaction decodes, hashes to its "hash"
// member, is signed by its "from" member and names h's block at its
// position, the transactions rebuild h.TxHash, the withdrawals (when h
// has a withdrawals root) rebuild it, "uncles" is empty exactly when h
// commits to no uncles, and "size" is the block's RLP size. It returns the
// verified transactions in order, for VerifyReceiptsTxs. Members it does
// not know (such as "totalDifficulty") pass through unchecked; members it
// knows must be spelled exactly and given once (see jsonHygiene).
//
// A block with uncles (before the merge) has only their number checked
// here, and not its size: VerifyUncles proves their hashes from the
// uncle headers.
func VerifyBlockTxs(h *types.Header, raw json.RawMessage) ([]*types.Transaction, error) {
	m, err := blockObject(h, raw)
	if err != nil {
		return nil, err
	}
	var elems []json.RawMessage
	if err := jsonField(m, "block", "transactions", &elems, true); err != nil {
		return nil, err
	}
	txs := make([]*types.Transaction, len(elems))
	for i, el := range elems {
		what := "transaction " + itoa(i) + " of the block"
		if t := bytes.TrimSpace(el); len(t) == 0 || t[0] != '{' {
			return nil, errorf("%s is not a transaction object", what)
		}
		tx, idx, err := checkTx(el, h, what)
		if err != nil {
			return nil, err
		}
		if idx != uint64(i) {
			return nil, errorf("%s says it is at index %d", what, idx)
		}
		txs[i] = tx
	}
	if got := types.DeriveSha(types.Transactions(txs), trie.NewStackTrie(nil)); got != h.TxHash {
		return nil, errorf("the block's %d transactions rebuild root %s, its header commits to %s", len(txs), got.Hex(), h.TxHash.Hex())
	}
	ws, uncles, err := checkBody(h, m)
	if err != nil {
		return nil, err
	}
	// The size is the length of the block's RLP encoding, which holds the
	// uncle headers: the answer has only their hashes, so the size of a
	// block with uncles is not checked.
	if !isNullJSON(m["size"]) && len(uncles) == 0 {
		var size hexutil.Uint64
		if err := jsonField(m, "block", "size", &size, true); err != nil {
			return nil, err
		}
		want := types.NewBlockWithHeader(h).WithBody(types.Body{Transactions: txs, Withdrawals: ws}).Size()
		if uint64(size) != want {
			return nil, errorf("the block says its size is %d bytes, it is %d", uint64(size), want)
		}
	}
	return txs, nil
}

// VerifyBlockHashes checks an eth_getBlockByHash/ByNumber answer whose
// transactions are hashes against the trusted header h and the verified
// transaction hashes of the same block (VerifyBlockTxs). Its "size"
// cannot be checked without the transactions.
func VerifyBlockHashes(h *types.Header, raw json.RawMessage, txHashes []common.Hash) error {
	m, err := blockObject(h, raw)
	if err != nil {
		return err
	}
	var elems []json.RawMessage
	if err := jsonField(m, "block", "transactions", &elems, true); err != nil {
		return err
	}
	if len(elems) != len(txHashes) {
		return errorf("the block lists %d transactions, it has %d", len(elems), len(txHashes))
	}
	for i, el := range elems {
		var hash common.Hash
		if t := bytes.TrimSpace(el); len(t) == 0 || t[0] != '"' || json.Unmarshal(t, &hash) != nil {
			return errorf("transaction %d of the block is not a transaction hash", i)
		}
		if hash != txHashes[i] {
			return errorf("transaction %d of the block is %s, not %s", i, hash.Hex(), txHashes[i].Hex())
		}
	}
	_, _, err = checkBody(h, m)
	return err
}

// VerifyTransaction checks an eth_getTransactionByHash or
// eth_getTransactionByBlock*AndIndex answer. It must decode, hash to want
// (a zero want is not checked) and be signed by its "from" member. With a
// header h, the answer must name h's block and an index at which txHashes
// (the verified transaction hashes of that block) holds it, and its
// "gasPrice" must be the price the block's base fee makes it pay. With a
// nil h the transaction must be pending: no block, no index.
func VerifyTransaction(h *types.Header, txHashes []common.Hash, raw json.RawMessage, want common.Hash) error {
	if err := jsonHygiene(raw, "transaction"); err != nil {
		return err
	}
	tx, idx, err := checkTx(raw, h, "transaction")
	if err != nil {
		return err
	}
	if want != (common.Hash{}) && tx.Hash() != want {
		return errorf("transaction hashes to %s, not the one asked for (%s)", tx.Hash().Hex(), want.Hex())
	}
	if h == nil {
		return nil
	}
	if idx >= uint64(len(txHashes)) {
		return errorf("transaction says it is at index %d of block %s, which has %d transactions", idx, h.Hash().Hex(), len(txHashes))
	}
	if txHashes[idx] != tx.Hash() {
		return errorf("transaction %s says it is at index %d of block %s, which holds %s there", tx.Hash().Hex(), idx, h.Hash().Hex(), txHashes[idx].Hex())
	}
	return nil
}

// VerifyUncles checks the headers of a block's uncles (the answers of
// eth_getUncleByBlockHashAndIndex, in order) against the trusted header h
// and returns them; their hashes are what a block answer's "uncles" must
// list.
func VerifyUncles(h *types.Header, uncles []json.RawMessage) ([]*types.Header, error) {
	if h == nil {
		return nil, errorf("no trusted header to check uncles against")
	}
	if len(uncles) > MaxUncles {
		return nil, errorf("%d uncles, a block has at most %d", len(uncles), MaxUncles)
	}
	headers := make([]*types.Header, len(uncles))
	for i, raw := range uncles {
		what := "uncle " + itoa(i)
		if err := jsonHygiene(raw, what); err != nil {
			return nil, err
		}
		m, err := jsonObject(raw, what, headerNames)
		if err != nil {
			return nil, err
		}
		var u types.Header
		if err := json.Unmarshal(raw, &u); err != nil {
			return nil, errorf("%s does not decode: %v", what, err)
		}
		var named common.Hash
		if err := jsonField(m, what, "hash", &named, false); err != nil {
			return nil, err
		}
		if !isNullJSON(m["hash"]) && named != u.Hash() {
			return nil, errorf("%s names hash %s, it hashes to %s", what, named.Hex(), u.Hash().Hex())
		}
		headers[i] = &u
	}
	if got := types.CalcUncleHash(headers); got != h.UncleHash {
		return nil, errorf("the %d uncles hash to %s, block %s commits to %s", len(uncles), got.Hex(), h.Hash().Hex(), h.UncleHash.Hex())
	}
	return headers, nil
}

// blockObject checks the JSON and the header of a block answer and
// returns its members.
func blockObject(h *types.Header, raw json.RawMessage) (map[string]json.RawMessage, error) {
	if h == nil {
		return nil, errorf("no trusted header to check the block against")
	}
	if err := jsonHygiene(raw, "block"); err != nil {
		return nil, err
	}
	m, err := jsonObject(raw, "block", blockNames)
	if err != nil {
		return nil, err
	}
	if _, err := HeaderFromJSON(raw, h.Hash()); err != nil {
		return nil, err
	}
	// HeaderFromJSON skips a "hash" member that does not decode.
	var hash common.Hash
	if err := jsonField(m, "block", "hash", &hash, true); err != nil {
		return nil, err
	}
	if hash != h.Hash() {
		return nil, errorf("the block names hash %s, not %s", hash.Hex(), h.Hash().Hex())
	}
	return m, nil
}

// checkBody checks a block's "withdrawals" against h's withdrawals root
// and its "uncles" against h's uncle hash, and returns both lists.
func checkBody(h *types.Header, m map[string]json.RawMessage) (types.Withdrawals, []common.Hash, error) {
	var ws types.Withdrawals
	if h.WithdrawalsHash == nil {
		if !isNullJSON(m["withdrawals"]) {
			return nil, nil, errorf("the block lists withdrawals, its header has no withdrawals root")
		}
	} else {
		var elems []json.RawMessage
		if err := jsonField(m, "block", "withdrawals", &elems, true); err != nil {
			return nil, nil, err
		}
		ws = make(types.Withdrawals, len(elems))
		for i, el := range elems {
			what := "withdrawal " + itoa(i)
			if _, err := jsonObject(el, what, withdrawalNames); err != nil {
				return nil, nil, err
			}
			var w types.Withdrawal
			if err := json.Unmarshal(el, &w); err != nil {
				return nil, nil, errorf("%s does not decode: %v", what, err)
			}
			// Every member must be what was hashed: no extras, none missing.
			if enc, _ := json.Marshal(&w); !sameJSON(el, enc) {
				return nil, nil, errorf("%s is not a plain withdrawal object", what)
			}
			ws[i] = &w
		}
		if got := types.DeriveSha(ws, trie.NewStackTrie(nil)); got != *h.WithdrawalsHash {
			return nil, nil, errorf("the block's %d withdrawals rebuild root %s, its header commits to %s", len(ws), got.Hex(), h.WithdrawalsHash.Hex())
		}
	}
	var uncles []common.Hash
	if err := jsonField(m, "block", "uncles", &uncles, false); err != nil {
		return nil, nil, err
	}
	if _, ok := m["uncles"]; !ok || isNullJSON(m["uncles"]) {
		return nil, nil, errorf("the block has no uncles list")
	}
	switch {
	case h.UncleHash == types.EmptyUncleHash && len(uncles) != 0:
		return nil, nil, errorf("the block lists %d uncles, its header commits to none", len(uncles))
	case h.UncleHash != types.EmptyUncleHash && (len(uncles) == 0 || len(uncles) > MaxUncles):
		return nil, nil, errorf("the block lists %d uncles, its header commits to 1 or 2", len(uncles))
	case len(uncles) == 2 && uncles[0] == uncles[1]:
		return nil, nil, errorf("the block lists uncle %s twice", uncles[0].Hex())
	}
	return ws, uncles, nil
}

// checkTx checks one transaction object: it decodes with go-ethereum's
// own decoder, hashes to its "hash", is signed by its "from", has no
// member its type does not define, and names block h (nil: no block).
// It returns the transaction and the index it claims in h.
func checkTx(raw json.RawMessage, h *types.Header, what string) (*types.Transaction, uint64, error) {
	m, err := jsonObject(raw, what, txNames)
	if err != nil {
		return nil, 0, err
	}
	tx := new(types.Transaction)
	if err := tx.UnmarshalJSON(raw); err != nil {
		return nil, 0, errorf("%s does not decode: %v", what, err)
	}
	if tx.BlobTxSidecar() != nil {
		return nil, 0, errorf("%s carries blobs, which are not part of the transaction", what)
	}
	if err := checkTxIdentity(m, tx, what); err != nil {
		return nil, 0, err
	}
	if err := checkTxMembers(m, tx, what); err != nil {
		return nil, 0, err
	}
	if h == nil {
		for _, k := range txPlaceNames.list() {
			if !isNullJSON(m[k]) {
				return nil, 0, errorf("pending %s names a %s", what, k)
			}
		}
		return tx, 0, nil
	}
	index, err := checkTxPlace(m, tx, h, what)
	return tx, index, err
}

// checkTxIdentity checks the answer's hash and sender against the signed
// transaction.
func checkTxIdentity(m map[string]json.RawMessage, tx *types.Transaction, what string) error {
	var hash common.Hash
	if err := jsonField(m, what, "hash", &hash, true); err != nil {
		return err
	}
	if hash != tx.Hash() {
		return errorf("%s names hash %s, it hashes to %s", what, hash.Hex(), tx.Hash().Hex())
	}
	var from common.Address
	if err := jsonField(m, what, "from", &from, true); err != nil {
		return err
	}
	sender, err := txSender(tx)
	if err != nil {
		return errorf("%s has an invalid signature: %v", what, err)
	}
	if from != sender {
		return errorf("%s says it is from %s, it is signed by %s", what, from.Hex(), sender.Hex())
	}
	return nil
}

// checkTxMembers checks that every member types.Transaction knows says
// what the signed transaction says; go-ethereum's decoder ignores the
// members a type does not define (a legacy "chainId", a "maxFeePerGas" on
// a legacy transaction), so they are compared with its own encoding.
func checkTxMembers(m map[string]json.RawMessage, tx *types.Transaction, what string) error {
	enc, err := tx.MarshalJSON()
	if err != nil {
		return errorf("%s does not encode: %v", what, err)
	}
	var want map[string]json.RawMessage
	if err := json.Unmarshal(enc, &want); err != nil {
		return errorf("%s does not encode: %v", what, err)
	}
	feeMarket := tx.Type() != types.LegacyTxType && tx.Type() != types.AccessListTxType
	for k, v := range m {
		switch {
		case txAliases[k] != "":
			if w := want[txAliases[k]]; !isNullJSON(v) && !sameJSON(v, w) {
				return errorf("%s says %s is %s, the signed transaction's %s is %s", what, k, truncateJSON(v), txAliases[k], truncateJSON(w))
			}
			continue
		case k == "hash", !txBodyNames.has(k):
			continue // checked above, or not a transaction member
		case k == "gasPrice" && feeMarket:
			continue // the effective price, checked with the block
		case k == "yParity" && tx.Type() == types.LegacyTxType:
			if err := checkLegacyParity(tx, v, what); err != nil {
				return err
			}
			continue
		}
		w, ok := want[k]
		if !ok || isNullJSON(w) {
			if !isNullJSON(v) {
				return errorf("%s has %s, which a type %d transaction does not have", what, k, tx.Type())
			}
			continue
		}
		if !sameJSON(v, w) {
			return errorf("%s says %s is %s, the signed transaction says %s", what, k, truncateJSON(v), truncateJSON(w))
		}
	}
	return nil
}

// checkTxPlace checks that a mined transaction's answer names block h and
// the block's timestamp and effective gas price; it returns the index the
// answer claims.
func checkTxPlace(m map[string]json.RawMessage, tx *types.Transaction, h *types.Header, what string) (uint64, error) {
	var blockHash common.Hash
	var number hexutil.Big
	var index hexutil.Uint64
	if err := jsonField(m, what, "blockHash", &blockHash, true); err != nil {
		return 0, err
	}
	if err := jsonField(m, what, "blockNumber", &number, true); err != nil {
		return 0, err
	}
	if err := jsonField(m, what, "transactionIndex", &index, true); err != nil {
		return 0, err
	}
	if blockHash != h.Hash() || number.ToInt().Cmp(h.Number) != 0 {
		return 0, errorf("%s says it is in block %s (%v), not %s (%v)", what, blockHash.Hex(), number.ToInt(), h.Hash().Hex(), h.Number)
	}
	if v, ok := m["blockTimestamp"]; ok && !isNullJSON(v) {
		var ts hexutil.Uint64
		if err := jsonField(m, what, "blockTimestamp", &ts, true); err != nil {
			return 0, err
		}
		if uint64(ts) != h.Time {
			return 0, errorf("%s says its block's timestamp is %d, it is %d", what, uint64(ts), h.Time)
		}
	}
	feeMarket := tx.Type() != types.LegacyTxType && tx.Type() != types.AccessListTxType
	if v, ok := m["gasPrice"]; ok && feeMarket && !isNullJSON(v) {
		var price hexutil.Big
		if err := jsonField(m, what, "gasPrice", &price, true); err != nil {
			return 0, err
		}
		if want := effectiveGasPrice(tx, h.BaseFee); price.ToInt().Cmp(want) != 0 {
			return 0, errorf("%s says its gas price is %s, in block %s it is %s", what, price.String(), h.Hash().Hex(), (*hexutil.Big)(want).String())
		}
	}
	return uint64(index), nil
}

// txSender recovers the signer of tx under the rules of its own chain id
// (legacy transactions without one: Homestead, else Frontier rules).
func txSender(tx *types.Transaction) (common.Address, error) {
	if tx.Type() != types.LegacyTxType || tx.Protected() {
		return types.Sender(types.LatestSignerForChainID(tx.ChainId()), tx)
	}
	from, err := types.Sender(types.HomesteadSigner{}, tx)
	if err != nil {
		from, err = types.Sender(types.FrontierSigner{}, tx)
	}
	return from, err
}

// checkLegacyParity checks a legacy transaction's "yParity", which some
// nodes add: the parity its v encodes.
func checkLegacyParity(tx *types.Transaction, raw json.RawMessage, what string) error {
	if isNullJSON(raw) {
		return nil
	}
	var got hexutil.Uint64
	if err := json.Unmarshal(raw, &got); err != nil {
		return errorf("%s member yParity does not decode: %v", what, err)
	}
	v, _, _ := tx.RawSignatureValues()
	y := new(big.Int)
	if tx.Protected() {
		y.Sub(v, new(big.Int).Add(new(big.Int).Lsh(tx.ChainId(), 1), big.NewInt(35)))
	} else {
		y.Sub(v, big.NewInt(27))
	}
	if !y.IsUint64() || y.Uint64() != uint64(got) {
		return errorf("%s says yParity is %d, its v (%d) says otherwise", what, uint64(got), v)
	}
	return nil
}

// effectiveGasPrice is what tx pays per gas in a block with baseFee (nil:
// before London): min(tip + base fee, fee cap).
func effectiveGasPrice(tx *types.Transaction, baseFee *big.Int) *big.Int {
	if baseFee == nil {
		return tx.GasFeeCap()
	}
	fee := new(big.Int).Add(tx.GasTipCap(), baseFee)
	if tx.GasFeeCapIntCmp(fee) < 0 {
		return tx.GasFeeCap()
	}
	return fee
}

func itoa(i int) string { return strconv.Itoa(i) }
