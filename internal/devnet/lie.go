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
// same every time. Answers of other methods, null answers and answers it
// cannot parse are returned unchanged.
func lie(method string, result json.RawMessage) json.RawMessage {
	if isNull(result) {
		return result
	}
	switch method {
	case "eth_getBalance":
		return addQuantity(result, oneEther)
	case "eth_getTransactionCount":
		return addQuantity(result, big.NewInt(1))
	case "eth_getStorageAt":
		return alterData(result, false)
	case "eth_getCode":
		return alterData(result, true)
	case "eth_call":
		return alterData(result, false)
	case "eth_getBlockByNumber", "eth_getBlockByHash":
		return alterObject(result, func(o object) {
			o.update("stateRoot", func(v json.RawMessage) json.RawMessage { return alterData(v, false) })
			o.update("receiptsRoot", func(v json.RawMessage) json.RawMessage { return alterData(v, false) })
			o.update("timestamp", func(v json.RawMessage) json.RawMessage { return addQuantity(v, big.NewInt(1)) })
		})
	case "eth_getTransactionReceipt":
		return alterObject(result, func(o object) {
			o.update("status", flipStatus)
			o.update("logs", alterLogs)
		})
	case "eth_getLogs":
		return alterLogs(result)
	case "eth_getTransactionByHash":
		return alterObject(result, func(o object) {
			o.update("value", func(v json.RawMessage) json.RawMessage { return addQuantity(v, big.NewInt(1)) })
		})
	case "eth_getProof":
		return alterObject(result, func(o object) {
			o.update("balance", func(v json.RawMessage) json.RawMessage { return addQuantity(v, oneEther) })
		})
	}
	return result
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

// alterData flips every bit of the last byte of hex data. Empty data stays
// empty unless grow, in which case it becomes one zero byte.
func alterData(raw json.RawMessage, grow bool) json.RawMessage {
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
		b[len(b)-1] ^= 0xff
	case grow:
		b = []byte{0}
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
func alterLogs(raw json.RawMessage) json.RawMessage {
	var logs []json.RawMessage
	if json.Unmarshal(raw, &logs) != nil || logs == nil {
		return raw
	}
	for i, l := range logs {
		logs[i] = alterObject(l, func(o object) {
			o.update("data", func(v json.RawMessage) json.RawMessage { return alterData(v, true) })
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
