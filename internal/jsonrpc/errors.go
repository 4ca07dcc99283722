package jsonrpc

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
)

// Standard JSON-RPC 2.0 codes and the server-error range braid uses for its
// own failures. Upstream error codes are passed through untouched.
const (
	CodeParseError     = -32700
	CodeInvalidRequest = -32600
	CodeMethodNotFound = -32601
	CodeInvalidParams  = -32602
	CodeInternal       = -32603

	// CodeLimitExceeded is EIP-1474's "limit exceeded", used when braid
	// itself refuses work because a configured limit was reached.
	CodeLimitExceeded = -32005

	// CodeResponseTooLarge is go-ethereum's code for a batch whose answers
	// passed its size bound (rpc.batch-response-max-size): the members
	// after that point get it instead of their answer.
	CodeResponseTooLarge = -32003

	// CodeUnavailable: no upstream of the network could be tried at all
	// (none configured as usable, all quarantined or out of budget).
	CodeUnavailable = -32040
	// CodeUpstreamsFailed: upstreams were tried and every attempt failed
	// in a way another upstream might have avoided; data lists the attempts.
	CodeUpstreamsFailed = -32041
	// CodeTimeout: the whole-request deadline passed before any upstream
	// produced an answer.
	CodeTimeout = -32042
	// CodeDispute: the operators asked for a quorum read disagreed and no
	// answer was backed as the policy requires; data names each
	// operator's answer.
	CodeDispute = -32043
	// CodeQuorumShortfall: fewer operators than the quorum needs could
	// answer.
	CodeQuorumShortfall = -32044
	// CodeVerificationFailed: in strict mode, no operator's answer passed
	// the checks against the trusted header; data names the method and
	// each operator tried.
	CodeVerificationFailed = -32045
	// CodeUnverifiable: in strict mode, a method braid cannot check and
	// the configuration does not allow unchecked.
	CodeUnverifiable = -32046
	// CodeUnauthorized: the request has no API key where one is required,
	// an unknown or revoked one, or one not valid for the network (sent
	// with HTTP 401 or 403). braid's own code: EIP-1474's -32001 means
	// "resource not found", and clients (viem) name it so.
	CodeUnauthorized = -32047
)

// Error is a JSON-RPC error object. It is both what braid sends and how an
// upstream's error is carried through unchanged (code, message and the raw
// data bytes, e.g. revert data under code 3).
type Error struct {
	Code    int             `json:"code"`
	Message string          `json:"message"`
	Data    json.RawMessage `json:"data,omitempty"`
}

func (e *Error) Error() string {
	return fmt.Sprintf("json-rpc error %d: %s", e.Code, e.Message)
}

// ErrorCode implements go-ethereum's rpc.Error.
func (e *Error) ErrorCode() int { return e.Code }

// ErrorData implements go-ethereum's rpc.DataError. It is an untyped nil
// when there is no data, so that an encoder writes no data member.
func (e *Error) ErrorData() any {
	if len(e.Data) == 0 {
		return nil
	}
	return e.Data
}

// Coder is implemented by errors that know their JSON-RPC code. It is the
// same shape as go-ethereum's rpc.Error so errors from either side map.
type Coder interface {
	error
	ErrorCode() int
}

// DataCoder is implemented by errors that carry a data member.
type DataCoder interface {
	ErrorData() any
}

var (
	_ Coder     = (*Error)(nil)
	_ DataCoder = (*Error)(nil)
)

// Errorf builds an *Error with a formatted message.
func Errorf(code int, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// WithData returns a copy of e whose data member is v encoded as JSON.
// Encoding failures drop the data rather than the error.
func (e *Error) WithData(v any) *Error {
	c := *e
	if b, err := json.Marshal(v); err == nil {
		c.Data = b
	}
	return &c
}

// FromError maps any error to the JSON-RPC error a client sees. This is the
// only place where Go errors become wire codes: an *Error is used as is, an
// error with ErrorCode() keeps its code (and data), a context deadline is a
// timeout, and anything else is an internal error whose message is the
// error text (braid's own errors never carry upstream URLs or keys).
func FromError(err error) *Error {
	if err == nil {
		return nil
	}
	var je *Error
	if errors.As(err, &je) {
		if je == nil {
			// A nil *Error returned as a non-nil error: a bug upstream of
			// here, but the client is still owed an error, not a result.
			return &Error{Code: CodeInternal, Message: "internal error"}
		}
		return je
	}
	var c Coder
	if errors.As(err, &c) {
		out := &Error{Code: c.ErrorCode(), Message: c.Error()}
		if dc, ok := c.(DataCoder); ok {
			if d := dc.ErrorData(); d != nil {
				out = out.WithData(d)
			}
		}
		return out
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return &Error{Code: CodeTimeout, Message: "request timed out"}
	}
	if errors.Is(err, context.Canceled) {
		return &Error{Code: CodeTimeout, Message: "request cancelled"}
	}
	return &Error{Code: CodeInternal, Message: err.Error()}
}

// CodeString names a code for metrics and logs.
func CodeString(code int) string {
	switch code {
	case CodeParseError:
		return "parse_error"
	case CodeInvalidRequest:
		return "invalid_request"
	case CodeMethodNotFound:
		return "method_not_found"
	case CodeInvalidParams:
		return "invalid_params"
	case CodeInternal:
		return "internal"
	case CodeLimitExceeded:
		return "limit_exceeded"
	case CodeResponseTooLarge:
		return "response_too_large"
	case CodeUnavailable:
		return "unavailable"
	case CodeUpstreamsFailed:
		return "upstreams_failed"
	case CodeTimeout:
		return "timeout"
	case CodeDispute:
		return "dispute"
	case CodeQuorumShortfall:
		return "quorum_shortfall"
	case CodeVerificationFailed:
		return "verification_failed"
	case CodeUnverifiable:
		return "unverifiable"
	case CodeUnauthorized:
		return "unauthorized"
	case 3:
		return "execution_reverted"
	}
	return strconv.Itoa(code)
}
