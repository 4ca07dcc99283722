package evm

import (
	"context"
	"errors"
	"fmt"

	"github.com/ethereum/go-ethereum/accounts/abi"
	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/core/vm"

	"github.com/braidrpc/braid/internal/jsonrpc"
)

// Error codes go-ethereum answers eth_call and its kin with.
const (
	// CodeReverted is a call that ran into REVERT; data is the revert data.
	CodeReverted = 3
	// CodeDefault is what geth's RPC server answers any other error with
	// (VM errors, invalid overrides, gas and fee checks).
	CodeDefault = -32000
)

// Error is an answer a go-ethereum node would give for the same call:
// a revert, a VM or fee error, an invalid parameter. It is the client's
// answer, not an operator's fault: the trust stage passes it on and
// strikes nobody.
type Error struct {
	Code    int
	Message string
	// Data is the error's data member (the revert data as 0x-hex for a
	// revert); nil for none.
	Data any
}

var (
	_ jsonrpc.Coder     = (*Error)(nil)
	_ jsonrpc.DataCoder = (*Error)(nil)
)

func (e *Error) Error() string { return e.Message }

// ErrorCode implements jsonrpc.Coder.
func (e *Error) ErrorCode() int { return e.Code }

// ErrorData implements jsonrpc.DataCoder: an untyped nil when there is no
// data, so that no data member is written.
func (e *Error) ErrorData() any {
	if e.Data == nil {
		return nil
	}
	return e.Data
}

// answerErr is err as geth's RPC server reports an error without a code of
// its own: -32000 with the error's text.
func answerErr(err error) *Error {
	return &Error{Code: CodeDefault, Message: err.Error()}
}

// answerf is answerErr of a formatted error.
func answerf(format string, args ...any) *Error {
	return &Error{Code: CodeDefault, Message: fmt.Sprintf(format, args...)}
}

// invalidParams is geth's answer to parameters it cannot decode.
func invalidParams(format string, args ...any) *Error {
	return &Error{Code: jsonrpc.CodeInvalidParams, Message: fmt.Sprintf(format, args...)}
}

// revertError is geth's answer to a reverted call: code 3, "execution
// reverted" with the decoded reason when the data is an Error(string) or
// Panic(uint256), and the revert data as hex.
func revertError(data []byte) *Error {
	msg := vm.ErrExecutionReverted.Error()
	if reason, err := abi.UnpackRevert(data); err == nil {
		msg += ": " + reason
	}
	return &Error{Code: CodeReverted, Message: msg, Data: hexutil.Encode(data)}
}

// StateError is a call that could not be answered because state it needed
// could not be proven: the Source found no operator with a proven answer
// (each liar among them already struck), or a Source broke its contract.
// The call may succeed through other operators; the trust stage may retry.
type StateError struct {
	Err error
}

var (
	_ jsonrpc.Coder     = (*StateError)(nil)
	_ jsonrpc.DataCoder = (*StateError)(nil)
)

func (e *StateError) Error() string { return "no proven state for the call: " + e.Err.Error() }

func (e *StateError) Unwrap() error { return e.Err }

// ErrorCode is the code of the Source's error when it has one, a timeout
// for a deadline, and CodeVerificationFailed otherwise.
func (e *StateError) ErrorCode() int {
	var c jsonrpc.Coder
	switch {
	case errors.As(e.Err, &c):
		return c.ErrorCode()
	case errors.Is(e.Err, context.DeadlineExceeded), errors.Is(e.Err, context.Canceled):
		return jsonrpc.CodeTimeout
	}
	return jsonrpc.CodeVerificationFailed
}

// ErrorData is the Source's error data, if it has any.
func (e *StateError) ErrorData() any {
	var d jsonrpc.DataCoder
	if errors.As(e.Err, &d) {
		return d.ErrorData()
	}
	return nil
}

// contractErr is a Source that broke its contract (an answer that does not
// fit the question): a *StateError, since another Source attempt may do
// better, worded for the operator's log.
func contractErr(format string, args ...any) *StateError {
	return &StateError{Err: fmt.Errorf("source: "+format, args...)}
}
