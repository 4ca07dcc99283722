package jsonrpc

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"testing"
)

// codedError is an error from elsewhere (go-ethereum's rpc package has the
// same shape) that knows its JSON-RPC code and data.
type codedError struct {
	code int
	msg  string
	data any
}

func (e *codedError) Error() string  { return e.msg }
func (e *codedError) ErrorCode() int { return e.code }
func (e *codedError) ErrorData() any { return e.data }

// codeOnlyError knows its code but carries no data.
type codeOnlyError struct{}

func (codeOnlyError) Error() string  { return "limited" }
func (codeOnlyError) ErrorCode() int { return -32005 }

func TestFromError(t *testing.T) {
	revert := &Error{Code: 3, Message: "execution reverted", Data: json.RawMessage(`"0x08c379a0"`)}
	var typedNil *Error
	tests := []struct {
		name     string
		err      error
		same     *Error // FromError must return this very value
		wantCode int
		wantMsg  string
		wantData string
	}{
		{name: "*Error passthrough", err: revert, same: revert},
		{name: "*Error wrapped with %w", err: fmt.Errorf("call: %w", revert), same: revert},
		{name: "*Error wrapped twice", err: fmt.Errorf("a: %w", fmt.Errorf("b: %w", revert)), same: revert},
		{name: "*Error in errors.Join", err: errors.Join(io.EOF, revert), same: revert},
		{name: "coder with data", err: &codedError{code: 3, msg: "execution reverted", data: "0x08c379a0"},
			wantCode: 3, wantMsg: "execution reverted", wantData: `"0x08c379a0"`},
		{name: "coder with raw JSON data", err: &codedError{code: -32000, msg: "m", data: json.RawMessage(`{"a": 1}`)},
			wantCode: -32000, wantMsg: "m", wantData: `{"a":1}`},
		{name: "coder with nil data", err: &codedError{code: -32000, msg: "m"}, wantCode: -32000, wantMsg: "m"},
		{name: "coder with unencodable data keeps the error", err: &codedError{code: 1, msg: "m", data: func() {}}, wantCode: 1, wantMsg: "m"},
		{name: "coder wrapped", err: fmt.Errorf("upstream: %w", &codedError{code: 3, msg: "reverted", data: "0x"}),
			wantCode: 3, wantMsg: "reverted", wantData: `"0x"`},
		{name: "coder without data", err: codeOnlyError{}, wantCode: -32005, wantMsg: "limited"},
		{name: "deadline", err: context.DeadlineExceeded, wantCode: CodeTimeout, wantMsg: "request timed out"},
		{name: "deadline wrapped", err: fmt.Errorf("waiting for upstreams: %w", context.DeadlineExceeded), wantCode: CodeTimeout, wantMsg: "request timed out"},
		{name: "cancelled", err: context.Canceled, wantCode: CodeTimeout, wantMsg: "request cancelled"},
		{name: "plain error", err: errors.New("boom"), wantCode: CodeInternal, wantMsg: "boom"},
		{name: "plain wrapped error", err: fmt.Errorf("a: %w", io.EOF), wantCode: CodeInternal, wantMsg: "a: EOF"},
		{name: "typed nil *Error is still an error", err: typedNil, wantCode: CodeInternal, wantMsg: "internal error"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := FromError(tt.err)
			if got == nil {
				t.Fatal("FromError returned nil for an error")
			}
			if tt.same != nil {
				if got != tt.same {
					t.Errorf("got %+v, want the same *Error %+v", got, tt.same)
				}
				return
			}
			if got.Code != tt.wantCode || got.Message != tt.wantMsg || string(got.Data) != tt.wantData {
				t.Errorf("got {%d %q %s}, want {%d %q %s}", got.Code, got.Message, got.Data, tt.wantCode, tt.wantMsg, tt.wantData)
			}
			if out := ErrorResponse(json.RawMessage(`1`), got).AppendJSON(nil); !json.Valid(out) {
				t.Errorf("invalid JSON: %s", out)
			}
		})
	}
	if FromError(nil) != nil {
		t.Error("FromError(nil) != nil")
	}
}

func TestErrorMethods(t *testing.T) {
	e := Errorf(CodeInvalidParams, "bad %s %d", "param", 2)
	if e.Code != CodeInvalidParams || e.Message != "bad param 2" || e.Data != nil {
		t.Fatalf("Errorf = %+v", e)
	}
	if got, want := e.Error(), "json-rpc error -32602: bad param 2"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
	if e.ErrorCode() != CodeInvalidParams {
		t.Errorf("ErrorCode() = %d", e.ErrorCode())
	}
	// No data: ErrorData is an untyped nil, so an rpc server that asks for
	// it writes no "data" member.
	if d := e.ErrorData(); d != nil {
		t.Errorf("ErrorData() = %#v, want nil", d)
	}
	var _ Coder = e
	var _ DataCoder = e

	d := e.WithData(map[string]int{"n": 1})
	if string(d.Data) != `{"n":1}` || d.Code != e.Code || d.Message != e.Message {
		t.Errorf("WithData = %+v", d)
	}
	if e.Data != nil {
		t.Error("WithData changed the receiver")
	}
	if raw, ok := d.ErrorData().(json.RawMessage); !ok || string(raw) != `{"n":1}` {
		t.Errorf("ErrorData() = %#v", d.ErrorData())
	}
	if bad := e.WithData(make(chan int)); bad.Data != nil || bad.Message != e.Message {
		t.Errorf("WithData(unencodable) = %+v", bad)
	}
}

func TestCodeString(t *testing.T) {
	tests := []struct {
		code int
		want string
	}{
		{CodeParseError, "parse_error"},
		{CodeInvalidRequest, "invalid_request"},
		{CodeMethodNotFound, "method_not_found"},
		{CodeInvalidParams, "invalid_params"},
		{CodeInternal, "internal"},
		{CodeLimitExceeded, "limit_exceeded"},
		{CodeUnavailable, "unavailable"},
		{CodeUpstreamsFailed, "upstreams_failed"},
		{CodeTimeout, "timeout"},
		{3, "execution_reverted"},
		{-32000, "-32000"},
		{0, "0"},
	}
	for _, tt := range tests {
		if got := CodeString(tt.code); got != tt.want {
			t.Errorf("CodeString(%d) = %q, want %q", tt.code, got, tt.want)
		}
	}
}
