package trust

import (
	"encoding/json"
	"fmt"

	"github.com/braidrpc/braid/internal/jsonrpc"
	"github.com/braidrpc/braid/internal/verify"
)

// aboveTipError: a verified read names a block number above the trusted
// tip. Braid's chain does not have that block yet, so it answers as a node
// answers for a block it does not have (see aboveTipAnswer); elsewhere it
// is -32602 with its message.
type aboveTipError struct{ number, tip uint64 }

func (e *aboveTipError) Error() string {
	return fmt.Sprintf("block %d is not served yet: the trusted head is block %d", e.number, e.tip)
}

// ErrorCode implements jsonrpc.Coder.
func (e *aboveTipError) ErrorCode() int { return jsonrpc.CodeInvalidParams }

// geth's answers for a block above its head.
var (
	// errHeaderNotFound is go-ethereum's answer to a state read at a block
	// it does not have (code -32000, its generic server error).
	errHeaderNotFound = &jsonrpc.Error{Code: -32000, Message: "header not found"}
	// errInvalidBlockRange and errRangeBeyondHead are go-ethereum's
	// eth_getLogs answers (eth/filters) for a range that ends before it
	// starts, and for one that ends past the head.
	errInvalidBlockRange = &jsonrpc.Error{Code: jsonrpc.CodeInvalidParams, Message: "invalid block range params"}
	errRangeBeyondHead   = &jsonrpc.Error{Code: jsonrpc.CodeInvalidParams, Message: "block range extends beyond current head block"}
)

// aboveTipAnswer is what a verified read of method about a block above
// the trusted tip answers: null for a block (or what is in it) read by
// number, "header not found" for state there. ok is false for other
// methods, which keep the error.
func aboveTipAnswer(method string) (*jsonrpc.Response, bool) {
	switch method {
	case "eth_getBlockByNumber", "eth_getBlockReceipts", "eth_getTransactionByBlockNumberAndIndex":
		return &jsonrpc.Response{Result: json.RawMessage("null")}, true
	case "eth_getBalance", "eth_getTransactionCount", "eth_getCode", "eth_getStorageAt", "eth_getProof":
		return &jsonrpc.Response{Error: errHeaderNotFound}, true
	}
	return nil, false
}

// checkLogRange refuses, as go-ethereum does, a log range that ends before
// it starts or past the trusted tip.
func checkLogRange(f *verify.LogFilter, tip uint64) error {
	switch {
	case f.BlockHash != nil:
		return nil
	case f.FromBlock > f.ToBlock:
		return errInvalidBlockRange
	case f.ToBlock > tip:
		return errRangeBeyondHead
	}
	return nil
}
