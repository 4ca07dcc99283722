package devnet

import (
	"encoding/json"
	"math/big"
	"strconv"

	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/params"
)

var oneEther = big.NewInt(params.Ether)

// lie returns a well-formed but wrong version of an honest answer, the
// same every time for one variant (1 and up); providers lying with
// different variants tell different lies. Answers of other methods, null
// answers and answers it cannot parse are returned unchanged.
func lie(method string, result json.RawMessage, variant int, kind string) json.RawMessage {
	if isNull(result) {
		return result
	}
	switch kind {
	case LieDrop, LieAdd:
		return lieList(method, result, kind)
	}
	v := int64(max(variant, 1))
	flip := byte(0xff ^ (v - 1))
	ether := new(big.Int).Mul(oneEther, big.NewInt(v))
	data := func(grow bool) func(json.RawMessage) json.RawMessage {
		return func(r json.RawMessage) json.RawMessage { return alterData(r, grow, flip) }
	}
	plus := func(d *big.Int) func(json.RawMessage) json.RawMessage {
		return func(r json.RawMessage) json.RawMessage { return addQuantity(r, d) }
	}
	logs := func(r json.RawMessage) json.RawMessage { return alterLogs(r, flip) }
	switch method {
	case "eth_getBalance":
		return addQuantity(result, big.NewInt(v)) // off by v wei
	case "eth_getTransactionCount":
		return addQuantity(result, big.NewInt(v))
	case "eth_getStorageAt", "eth_call":
		return alterData(result, false, flip)
	case "eth_getCode":
		return alterData(result, true, flip)
	case "eth_estimateGas":
		return addQuantity(result, big.NewInt(1000*v))
	case "eth_getBlockByNumber", "eth_getBlockByHash":
		return alterObject(result, func(o object) {
			o.update("stateRoot", data(false))
			o.update("receiptsRoot", data(false))
			o.update("timestamp", plus(big.NewInt(v)))
		})
	case "eth_getTransactionReceipt":
		return alterObject(result, func(o object) {
			o.update("status", flipStatus)
			o.update("gasUsed", plus(big.NewInt(v)))
			o.update("logs", logs)
		})
	case "eth_getLogs":
		return alterLogs(result, flip)
	case "eth_getBlockReceipts":
		return alterList(result, func(first json.RawMessage) json.RawMessage {
			return alterObject(first, func(o object) { o.update("status", flipStatus) })
		})
	case "eth_getTransactionByHash":
		return alterObject(result, func(o object) {
			o.update("value", plus(big.NewInt(v)))
		})
	case "eth_getProof":
		// Odd variants lie about the balance, even ones about the
		// storage values proven (the balance when none is asked for).
		if v%2 == 0 && hasStorageProof(result) {
			return alterObject(result, func(o object) {
				o.update("storageProof", func(r json.RawMessage) json.RawMessage { return alterStorageValues(r, v) })
			})
		}
		return alterObject(result, func(o object) {
			o.update("balance", plus(ether))
		})
	case "eth_createAccessList":
		// Names other storage slots than the call reads.
		return alterObject(result, func(o object) {
			o.update("accessList", func(r json.RawMessage) json.RawMessage { return alterAccessList(r, flip) })
			o.update("gasUsed", plus(big.NewInt(1000*v)))
		})
	}
	return result
}

// hasStorageProof reports whether an eth_getProof answer proves a slot.
func hasStorageProof(result json.RawMessage) bool {
	var p struct {
		StorageProof []json.RawMessage `json:"storageProof"`
	}
	return json.Unmarshal(result, &p) == nil && len(p.StorageProof) > 0
}

// alterStorageValues adds v to the value of every storage proof entry.
func alterStorageValues(raw json.RawMessage, v int64) json.RawMessage {
	var entries []json.RawMessage
	if json.Unmarshal(raw, &entries) != nil {
		return raw
	}
	for i, e := range entries {
		entries[i] = alterObject(e, func(o object) {
			o.update("value", func(r json.RawMessage) json.RawMessage { return addQuantity(r, big.NewInt(v)) })
		})
	}
	out, err := json.Marshal(entries)
	if err != nil {
		return raw
	}
	return out
}

// alterAccessList XORs the last byte of every storage key of an access
// list with flip.
func alterAccessList(raw json.RawMessage, flip byte) json.RawMessage {
	var entries []json.RawMessage
	if json.Unmarshal(raw, &entries) != nil || entries == nil {
		return raw
	}
	for i, e := range entries {
		entries[i] = alterObject(e, func(o object) {
			o.update("storageKeys", func(keys json.RawMessage) json.RawMessage {
				var list []json.RawMessage
				if json.Unmarshal(keys, &list) != nil || list == nil {
					return keys
				}
				for j, k := range list {
					list[j] = alterData(k, false, flip)
				}
				out, err := json.Marshal(list)
				if err != nil {
					return keys
				}
				return out
			})
		})
	}
	out, err := json.Marshal(entries)
	if err != nil {
		return raw
	}
	return out
}

// Lie kinds: what a lying provider does to lists (Faults.LieKind).
const (
	LieAlter = "alter" // change values (the default)
	LieDrop  = "drop"  // leave out the last transaction or log
	LieAdd   = "add"   // repeat the last transaction or log
)

// lieList drops or repeats the last element of the list an answer is
// about: a block's transactions, a receipt's logs, a logs answer, a
// block's receipts' logs, an access list's entries.
func lieList(method string, result json.RawMessage, kind string) json.RawMessage {
	edit := func(raw json.RawMessage) json.RawMessage { return editList(raw, kind) }
	switch method {
	case "eth_getBlockByNumber", "eth_getBlockByHash":
		return alterObject(result, func(o object) { o.update("transactions", edit) })
	case "eth_getTransactionReceipt":
		return alterObject(result, func(o object) { o.update("logs", edit) })
	case "eth_getLogs":
		return edit(result)
	case "eth_createAccessList":
		return alterObject(result, func(o object) { o.update("accessList", edit) })
	case "eth_getBlockReceipts":
		var rs []json.RawMessage
		if json.Unmarshal(result, &rs) != nil {
			return result
		}
		for i := len(rs) - 1; i >= 0; i-- {
			changed := alterObject(rs[i], func(o object) { o.update("logs", edit) })
			if string(changed) != string(rs[i]) {
				rs[i] = changed
				break
			}
		}
		out, err := json.Marshal(rs)
		if err != nil {
			return result
		}
		return out
	}
	return result
}

// editList drops or repeats the last element of a JSON array; an empty
// array stays empty.
func editList(raw json.RawMessage, kind string) json.RawMessage {
	var list []json.RawMessage
	if json.Unmarshal(raw, &list) != nil || len(list) == 0 {
		return raw
	}
	if kind == LieDrop {
		list = list[:len(list)-1]
	} else {
		list = append(list, list[len(list)-1])
	}
	out, err := json.Marshal(list)
	if err != nil {
		return raw
	}
	return out
}

// alterList applies fn to the first element of a JSON array.
func alterList(raw json.RawMessage, fn func(json.RawMessage) json.RawMessage) json.RawMessage {
	var list []json.RawMessage
	if json.Unmarshal(raw, &list) != nil || len(list) == 0 {
		return raw
	}
	list[0] = fn(list[0])
	out, err := json.Marshal(list)
	if err != nil {
		return raw
	}
	return out
}

// addQuantity adds delta to a hex quantity.
func addQuantity(raw json.RawMessage, delta *big.Int) json.RawMessage {
	s, ok := jsonString(raw)
	if !ok {
		return raw
	}
	n, err := hexutil.DecodeBig(s)
	if err != nil {
		return raw
	}
	return json.RawMessage(strconv.Quote(hexutil.EncodeBig(n.Add(n, delta))))
}

// alterData XORs the last byte of hex data with flip (never 0). Empty
// data stays empty unless grow, in which case it becomes one byte, flip.
func alterData(raw json.RawMessage, grow bool, flip byte) json.RawMessage {
	s, ok := jsonString(raw)
	if !ok {
		return raw
	}
	b, err := hexutil.Decode(s)
	if err != nil {
		return raw
	}
	switch {
	case len(b) > 0:
		b[len(b)-1] ^= flip
	case grow:
		b = []byte{flip}
	default:
		return raw
	}
	return json.RawMessage(strconv.Quote(hexutil.Encode(b)))
}

// flipStatus turns a receipt's success into failure and back.
func flipStatus(raw json.RawMessage) json.RawMessage {
	switch s, _ := jsonString(raw); s {
	case "0x1":
		return json.RawMessage(`"0x0"`)
	case "0x0":
		return json.RawMessage(`"0x1"`)
	}
	return raw
}

// alterLogs alters the data of every log in an array.
func alterLogs(raw json.RawMessage, flip byte) json.RawMessage {
	var logs []json.RawMessage
	if json.Unmarshal(raw, &logs) != nil || logs == nil {
		return raw
	}
	for i, l := range logs {
		logs[i] = alterObject(l, func(o object) {
			o.update("data", func(v json.RawMessage) json.RawMessage { return alterData(v, true, flip) })
		})
	}
	out, err := json.Marshal(logs)
	if err != nil {
		return raw
	}
	return out
}

// alterObject applies fn to a JSON object's members, keeping their order.
func alterObject(raw json.RawMessage, fn func(object)) json.RawMessage {
	o, ok := parseObject(raw)
	if !ok {
		return raw
	}
	fn(o)
	return o.encode()
}
