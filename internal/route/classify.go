package route

import (
	"strings"

	"github.com/braidrpc/braid/internal/jsonrpc"
	"github.com/braidrpc/braid/internal/upstream"
)

// verdict is what an upstream's JSON-RPC error answer means for routing.
type verdict int

const (
	// final: the error is the request's answer (a revert, a real invalid
	// params, a rejected transaction). Every node would say the same; it
	// goes back to the client unchanged.
	final verdict = iota
	// unsupported: this node does not offer the method or the data (pruned
	// state, disabled namespace). Try another; no mark on its health.
	unsupported
	// failed: the node failed to serve (internal error, syncing, backend
	// down). Try another; counts against its health.
	failed
	// throttled: the provider rate-limited braid. Back off, try another.
	throttled
)

func (v verdict) String() string {
	switch v {
	case final:
		return "final"
	case unsupported:
		return "unsupported"
	case failed:
		return "failed"
	case throttled:
		return "throttled"
	}
	return "unknown"
}

// Lower-cased fragments of provider error messages. These are facts about
// what geth, Erigon, Nethermind, Besu and the large hosted providers say.
var (
	throttlePatterns = []string{
		"rate limit", "ratelimit", "too many requests", "request limit", "requests limit",
		"daily request count", "exceeded the quota", "quota exceeded", "capacity exceeded",
		"compute units", "throughput", "over limit", "slow down",
	}
	unsupportedPatterns = []string{
		"missing trie node", "header not found", "unknown block", "block not found",
		"historical state", "state not available", "state is not available", "not available on this node",
		"pruned", "state histories haven't been fully indexed", "ancient", "is not available",
		"does not exist", "method not found", "not supported", "unsupported", "not implemented",
		"unknown method", "not whitelisted",
		"query returned more than", "too many results", "max results", "block range", "range is too large",
		"range too large", "response size", "response is too big", "exceeds the limit of",
	}
	failedPatterns = []string{
		"internal error", "syncing", "not synced", "timeout", "timed out", "temporarily unavailable",
		"service unavailable", "backend", "upstream", "try again", "no response", "connection",
		"overloaded", "busy", "server error",
	}
	// "invalid block range params" is go-ethereum's answer to a log range
	// that ends before it starts: the request's fault on every node (it
	// would otherwise match "block range", a provider's range limit).
	finalPrefixes = []string{"execution reverted", "vm execution error", "revert", "invalid block range params"}
)

// classify decides what an upstream's error answer means. Order matters: a
// revert is final whatever its reason string says ("rate limit" may well be
// a contract's revert reason), then rate limits, then capability, then the
// code's general meaning.
func classify(e *jsonrpc.Error) verdict {
	if e.Code == 3 {
		return final
	}
	msg := strings.ToLower(e.Message)
	for _, p := range finalPrefixes {
		if strings.HasPrefix(msg, p) {
			return final
		}
	}
	if e.Code == jsonrpc.CodeLimitExceeded || e.Code == 429 || containsAny(msg, throttlePatterns) {
		return throttled
	}
	if containsAny(msg, unsupportedPatterns) {
		return unsupported
	}
	if containsAny(msg, failedPatterns) {
		return failed
	}
	switch e.Code {
	case jsonrpc.CodeMethodNotFound, -32004: // method not found / not supported
		return unsupported
	case -32001, -32002: // resource not found / unavailable (EIP-1474)
		return unsupported
	case jsonrpc.CodeInternal:
		return failed
	}
	return final
}

func containsAny(s string, patterns []string) bool {
	for _, p := range patterns {
		if strings.Contains(s, p) {
			return true
		}
	}
	return false
}

// missingData reports whether an error says the node lacks the data (as
// opposed to the method), and which kind.
func missingData(e *jsonrpc.Error) (upstream.Data, bool) {
	msg := strings.ToLower(e.Message)
	switch {
	case containsAny(msg, []string{"missing trie node", "historical state", "state not available",
		"state is not available", "state histories", "required historical state"}):
		return upstream.StateData, true
	case containsAny(msg, []string{"header not found", "unknown block", "block not found", "pruned", "ancient"}):
		return upstream.HistoryData, true
	}
	return 0, false
}

// txReasons are words of errors that say why a node refuses a
// transaction: more useful to the sender than a timeout or a generic
// failure.
var txReasons = []string{
	"nonce too low", "nonce too high", "insufficient funds", "underpriced", "replacement",
	"intrinsic gas", "gas limit", "exceeds block gas limit", "fee cap", "max fee", "tip",
	"invalid sender", "invalid signature", "chain id", "chainid", "oversized", "type not supported",
}

func isNonceTooLow(msg string) bool {
	return strings.Contains(strings.ToLower(msg), "nonce too low")
}

// isAlreadyKnown: a node's answer to a transaction it already has, which
// is acceptance (the transaction is identified by its hash).
func isAlreadyKnown(msg string) bool {
	return containsAny(strings.ToLower(msg), []string{"already known", "known transaction", "already imported", "alreadyknown"})
}
