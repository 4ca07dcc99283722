package route

import "github.com/braidrpc/braid/internal/jsonrpc"

// Attempt describes one failed try, for the client's error data and logs.
// It names the upstream and its operator, never its URL.
type Attempt struct {
	Upstream string `json:"upstream"`
	Operator string `json:"operator"`
	Error    string `json:"error"`
}

// Failure is a call no upstream answered. It carries its JSON-RPC code and
// the attempts as error data.
type Failure struct {
	Code     int
	Message  string
	Attempts []Attempt
}

func (f *Failure) Error() string { return f.Message }

var (
	_ jsonrpc.Coder     = (*Failure)(nil)
	_ jsonrpc.DataCoder = (*Failure)(nil)
)

// ErrorCode implements jsonrpc.Coder.
func (f *Failure) ErrorCode() int { return f.Code }

// ErrorData implements jsonrpc.DataCoder.
func (f *Failure) ErrorData() any {
	if len(f.Attempts) == 0 {
		return nil
	}
	return map[string]any{"attempts": f.Attempts}
}
