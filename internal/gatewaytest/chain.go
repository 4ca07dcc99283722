package gatewaytest

import (
	"encoding/json"
	"strconv"
	"strings"
)

// FakeHead is the fakes' latest block (BlockResult's number) until they
// advance to NextBlockResult's.
const FakeHead = 0x10

// Blocks the fakes hold: block 0x10 (BlockResult) and, once advanced
// (Fake.Advance), block 0x11 on top of it with one log, so that
// subscriptions have something new to tell.
const (
	BlockHash     = "0x88df016429689c079f3b2f6ad39fa052532c56795b733da78a91ebe6a713944b"
	NextBlockHash = "0x5ed6c0c8ab4d6e4ad1a9b4cd0c2e8a72c1e06c6e5e1e8d2c0a4f4b1d7b3d2a11"
	// NextBlockResult is block 0x11 as the fakes write it.
	NextBlockResult = `{"number":"0x11","hash":"` + NextBlockHash + `","parentHash":"` + BlockHash + `",` +
		`"transactions":[],"extraData":"0x","note":"braid/fake","size":"0x200","uncles":[]}`
	// NextBlockLogs are block 0x11's logs.
	NextBlockLogs = `[{"address":"0x52908400098527886e0f7030069857d2e4169ee7",` +
		`"topics":["0xddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef"],"data":"0x2a",` +
		`"blockNumber":"0x11","transactionHash":"0x7777777777777777777777777777777777777777777777777777777777777777",` +
		`"transactionIndex":"0x0","blockHash":"` + NextBlockHash + `","blockTimestamp":"0x6553f100","logIndex":"0x0","removed":false}]`
)

// blockAnswer answers the block reads the fakes serve from their chain:
// eth_getBlockByNumber (BlockResult's odd shape for block 0x10, and for
// every tag before the fake advances), eth_getBlockByHash, and
// eth_getLogs by blockHash. ok is false for any other call.
func (f *Fake) blockAnswer(req request) (result string, ok bool) {
	var args []json.RawMessage
	_ = json.Unmarshal(req.Params, &args)
	f.mu.Lock()
	advanced := f.advanced
	f.mu.Unlock()
	arg := func(i int) string {
		var s string
		if len(args) > i {
			_ = json.Unmarshal(args[i], &s)
		}
		return s
	}
	switch req.Method {
	case "eth_getBlockByNumber":
		if advanced && (arg(0) == "0x11" || !strings.HasPrefix(arg(0), "0x")) {
			return NextBlockResult, true
		}
		return BlockResult, true
	case "eth_getBlockByHash":
		switch {
		case arg(0) == BlockHash:
			return BlockResult, true
		case arg(0) == NextBlockHash && advanced:
			return NextBlockResult, true
		}
		return "null", true
	case "eth_getLogs":
		var crit struct{ BlockHash string }
		if len(args) > 0 {
			_ = json.Unmarshal(args[0], &crit)
		}
		if crit.BlockHash == NextBlockHash && advanced {
			return NextBlockLogs, true
		}
	}
	return "", false
}

// Advance makes the fake's chain grow by block 0x11.
func (f *Fake) Advance() {
	f.mu.Lock()
	f.advanced = true
	f.mu.Unlock()
}

// head is the fake's latest block number.
func (f *Fake) head() uint64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.advanced {
		return FakeHead + 1
	}
	return FakeHead
}

// aboveHead answers, as go-ethereum does, a call about a block above the
// fake's head: null for a block read by number, "header not found" for
// state there, and a log range past the head refused with -32602. ok is
// false for any other call.
func aboveHead(req request, head uint64) (member string, ok bool) {
	var args []json.RawMessage
	if json.Unmarshal(req.Params, &args) != nil || len(args) == 0 {
		return "", false
	}
	switch req.Method {
	case "eth_getBlockByNumber", "eth_getBlockReceipts", "eth_getBlockTransactionCountByNumber",
		"eth_getUncleCountByBlockNumber", "eth_getTransactionByBlockNumberAndIndex":
		if n, isNum := number(args[0]); isNum && n > head {
			return `"result":null`, true
		}
	case "eth_getBalance", "eth_getCode", "eth_getTransactionCount", "eth_call":
		if n, isNum := number(args[len(args)-1]); isNum && n > head {
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
		case toNum && to > head:
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
