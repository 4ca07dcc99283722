package route

import "github.com/braidrpc/braid/internal/jsonrpc"

// Attempt describes one failed try, for the client's error data and logs.
// It names the upstream and its operator, never its URL.
type Attempt struct {
	Upstream string `json:"upstream"`
	Operator string `json:"operator"`
	Error    string `json:"error"`
	// BatchRefused: the upstream refused the call's batch (it takes no
	// batches, or none this large).
	BatchRefused bool `json:"-"`
}

// Failure is a call no upstream answered. It carries its JSON-RPC code and
// the attempts as error data.
type Failure struct {
	Code     int
	Message  string
	Attempts []Attempt
}

func (f *Failure) Error() string { return f.Message }

// BatchRefused reports whether an upstream refused the call's batch (it
// takes no batches, or none this large): a smaller batch, or single
// calls, may pass where this one failed.
func (f *Failure) BatchRefused() bool {
	for _, a := range f.Attempts {
		if a.BatchRefused {
			return true
		}
	}
	return false
}

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
