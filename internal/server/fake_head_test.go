package server_test

import (
	"encoding/json"
	"strconv"
	"strings"
)

// fakeHead is the fake upstreams' latest block (blockResult's number).
const fakeHead = 0x10

// aboveHead answers, as go-ethereum does, a call about a block above the
// fake's head: null for a block read by number, "header not found" for
// state there, and a log range past the head refused with -32602. ok is
// false for any other call.
func aboveHead(req fakeRequest) (member string, ok bool) {
	var args []json.RawMessage
	if json.Unmarshal(req.Params, &args) != nil || len(args) == 0 {
		return "", false
	}
	switch req.Method {
	case "eth_getBlockByNumber", "eth_getBlockReceipts", "eth_getBlockTransactionCountByNumber",
		"eth_getUncleCountByBlockNumber", "eth_getTransactionByBlockNumberAndIndex":
		if n, isNum := number(args[0]); isNum && n > fakeHead {
			return `"result":null`, true
		}
	case "eth_getBalance", "eth_getCode", "eth_getTransactionCount", "eth_call":
		if n, isNum := number(args[len(args)-1]); isNum && n > fakeHead {
			return `"error":{"code":-32000,"message":"header not found"}`, true
		}
	case "eth_getLogs":
		var f struct{ FromBlock, ToBlock json.RawMessage }
		_ = json.Unmarshal(args[0], &f)
		from, fromNum := number(f.FromBlock)
		to, toNum := number(f.ToBlock)
		switch {
		case fromNum && toNum && from > to:
			return `"error":{"code":-32602,"message":"invalid block range params"}`, true
		case toNum && to > fakeHead:
			return `"error":{"code":-32602,"message":"block range extends beyond current head block"}`, true
		}
	}
	return "", false
}

// number reads a hex block number ("0x11"); tags and hashes are not.
func number(raw json.RawMessage) (uint64, bool) {
	var s string
	if json.Unmarshal(raw, &s) != nil || !strings.HasPrefix(s, "0x") || len(s) > 18 {
		return 0, false
	}
	n, err := strconv.ParseUint(s[2:], 16, 64)
	return n, err == nil
}
