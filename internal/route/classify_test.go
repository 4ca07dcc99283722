package route

import (
	"testing"

	"github.com/braidrpc/braid/internal/jsonrpc"
)

func TestClassify(t *testing.T) {
	tests := []struct {
		code int
		msg  string
		want verdict
	}{
		// Answers that are the request's result.
		{3, "execution reverted: rate limit exceeded", final}, // a revert reason, not a provider limit
		{-32000, "execution reverted", final},
		{-32000, "insufficient funds for gas * price + value", final},
		{-32000, "nonce too low: next nonce 5, tx nonce 4", final},
		{-32000, "intrinsic gas too low", final},
		{-32602, "invalid argument 0: hex string has length 3, want 40 for common.Address", final},
		{-32003, "transaction rejected", final},
		{-32000, "max fee per gas less than block base fee", final},
		{-32602, "invalid block range params", final},
		// This node cannot serve it.
		{-32000, "missing trie node 1a2b (path )", unsupported},
		{-32000, "header not found", unsupported},
		{-32000, "historical state 0xabc is not available", unsupported},
		{-32601, "the method debug_traceTransaction does not exist/is not available", unsupported},
		{-32601, "Method not found", unsupported},
		{-32004, "method not supported", unsupported},
		{-32602, "query returned more than 10000 results", unsupported},
		{-32000, "block range is too large", unsupported},
		{-32001, "resource not found", unsupported},
		// The node failed.
		{-32603, "internal error", failed},
		{-32000, "request timed out", failed},
		{-32000, "node is syncing", failed},
		{-32603, "something odd", failed},
		// Throttled.
		{-32005, "limit exceeded", throttled},
		{429, "Too Many Requests", throttled},
		{-32000, "daily request count exceeded, request rate limited", throttled},
		{-32007, "100/second request limit reached - reduce calls per second", throttled},
	}
	for _, tt := range tests {
		got := classify(&jsonrpc.Error{Code: tt.code, Message: tt.msg})
		if got != tt.want {
			t.Errorf("classify(%d, %q) = %v, want %v", tt.code, tt.msg, got, tt.want)
		}
	}
}
