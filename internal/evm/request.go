package evm

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/ethereum/go-ethereum/rpc"
)

// The methods the executor answers.
const (
	MethodCall             = "eth_call"
	MethodEstimateGas      = "eth_estimateGas"
	MethodCreateAccessList = "eth_createAccessList"
)

// Request is one call to run, decoded from its JSON-RPC parameters.
type Request struct {
	Method string
	Args   TransactionArgs
	// Block is the block parameter as decoded by go-ethereum; nil when
	// absent or null (latest). The trust stage resolves it to the header
	// the executor runs on.
	Block *rpc.BlockNumberOrHash
	// BlockParam is the block parameter as the client wrote it; nil when
	// absent or null.
	BlockParam json.RawMessage
	// State overrides accounts; nil for none.
	State StateOverride
	// Overrides replaces block fields; nil for none. eth_createAccessList
	// takes none.
	Overrides *BlockOverrides
}

// ParseRequest decodes the parameters of eth_call, eth_estimateGas or
// eth_createAccessList the way go-ethereum's RPC server does: a JSON array
// (absent or null params are no arguments), the call object required, the
// rest optional, null for absent. Errors are the ones geth answers with
// (-32602 with its wording; -32601 for another method).
func ParseRequest(method string, params json.RawMessage) (*Request, error) {
	max := 4
	switch method {
	case MethodCall, MethodEstimateGas:
	case MethodCreateAccessList:
		max = 3
	default:
		return nil, &Error{Code: -32601, Message: fmt.Sprintf("the method %s does not exist/is not available", method)}
	}
	args, err := splitArgs(params, max)
	if err != nil {
		return nil, err
	}
	if len(args) == 0 || isNull(args[0]) {
		return nil, invalidParams("missing value for required argument 0")
	}
	req := &Request{Method: method}
	targets := []any{&req.Args, &req.Block, &req.State, &req.Overrides}
	for i, raw := range args {
		if i > 0 && isNull(raw) {
			continue
		}
		if i == 1 {
			req.BlockParam = raw
		}
		if err := decodeArg(raw, targets[i]); err != nil {
			return nil, invalidParams("invalid argument %d: %s", i, gethTypeNames.Replace(err.Error()))
		}
	}
	return req, nil
}

// splitArgs cuts the params array into its elements.
func splitArgs(params json.RawMessage, max int) ([]json.RawMessage, error) {
	params = bytes.TrimSpace(params)
	if len(params) == 0 || isNull(params) {
		return nil, nil
	}
	if params[0] != '[' {
		return nil, invalidParams("non-array args")
	}
	var args []json.RawMessage
	if err := json.Unmarshal(params, &args); err != nil {
		return nil, invalidParams("non-array args")
	}
	if len(args) > max {
		return nil, invalidParams("too many arguments, want at most %d", max)
	}
	return args, nil
}

// decodeArg decodes one argument as geth's server does: a type that
// decodes itself is handed the bytes directly.
func decodeArg(raw json.RawMessage, v any) error {
	if u, ok := v.(json.Unmarshaler); ok {
		return u.UnmarshalJSON(raw)
	}
	return json.Unmarshal(raw, v)
}

// gethTypeNames rewrites this package's names of the parameter types in
// decoding errors to go-ethereum's (a type mismatch at the top of a value
// names the type with its package: "Go value of type
// ethapi.TransactionArgs"), so the errors read as geth's do.
var gethTypeNames = strings.NewReplacer(
	"evm.TransactionArgs", "ethapi.TransactionArgs",
	"evm.StateOverride", "override.StateOverride",
	"evm.OverrideAccount", "override.OverrideAccount",
	"evm.BlockOverrides", "override.BlockOverrides",
)

func isNull(raw json.RawMessage) bool {
	return bytes.Equal(bytes.TrimSpace(raw), []byte("null"))
}

// errNoBlock is returned when the executor is asked to run without a
// request, a Source or a header (with a number and a difficulty).
var errNoBlock = errors.New("evm: no request, no source or no complete block header to run on")
