package trust

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"

	"github.com/ethereum/go-ethereum/core/types"

	"github.com/braidrpc/braid/internal/jsonrpc"
	"github.com/braidrpc/braid/internal/route"
	"github.com/braidrpc/braid/internal/verify"
)

// VerifyFailure is a verified read no operator could answer with an answer
// that checks out. Its data names the method and every operator tried.
type VerifyFailure struct {
	Method   string
	Attempts []route.Attempt
}

func (f *VerifyFailure) Error() string {
	return fmt.Sprintf("no operator gave a verifiable answer to %s (%d tried)", f.Method, len(f.Attempts))
}

// ErrorCode implements jsonrpc.Coder.
func (f *VerifyFailure) ErrorCode() int { return jsonrpc.CodeVerificationFailed }

// ErrorData implements jsonrpc.DataCoder.
func (f *VerifyFailure) ErrorData() any {
	return map[string]any{"method": f.Method, "attempts": f.Attempts}
}

var (
	_ jsonrpc.Coder     = (*VerifyFailure)(nil)
	_ jsonrpc.DataCoder = (*VerifyFailure)(nil)
	_ jsonrpc.Coder     = (*aboveTipError)(nil)
)

// fetchVerified asks call of one operator after another, best first, until
// an answer passes check. An answer that fails check is a lie: its
// operator is struck and the next one asked. An error answer (the node
// cannot serve it) moves on without a strike. With nullOK a null answer,
// which cannot be proven either way, is accepted only when every
// operator able to answer says null (errAllNull); otherwise check sees
// it like any answer.
func (r *Reader) fetchVerified(ctx context.Context, call route.Call, nullOK bool, check func(*route.Result) error) (*route.Result, error) {
	var (
		attempts []route.Attempt
		lastRPC  *route.Result
		nulls    int
		lied     bool
	)
	// Each round lets the router pick (and fail over, and hedge) among the
	// operators not yet heard from; an operator that answered, truly or
	// not, is excluded from the next round.
	for {
		res, err := r.fetch.Do(ctx, call)
		if err != nil {
			var f *route.Failure
			if errors.As(err, &f) && f.Code == jsonrpc.CodeUnavailable && len(call.Exclude) > 0 {
				break // every operator has answered
			}
			if len(attempts) == 0 {
				return nil, err // nobody answered at all: the router's error says why
			}
			attempts = append(attempts, route.Attempt{Error: jsonrpc.FromError(err).Message})
			break
		}
		op := res.Upstream.Operator
		call.Exclude = append(slices.Clip(call.Exclude), op)
		if res.Unserved || res.Response.Error != nil {
			attempts = append(attempts, route.Attempt{Operator: op, Upstream: res.Upstream.Name, Error: res.Response.Error.Message})
			lastRPC = res
			continue
		}
		if nullOK && string(res.Response.Result) == "null" {
			nulls++
			attempts = append(attempts, route.Attempt{Operator: op, Upstream: res.Upstream.Name, Error: "null"})
			continue
		}
		err = check(res)
		if err == nil {
			return res, nil
		}
		if errors.Is(err, errOffChainNull) {
			nulls++
			attempts = append(attempts, route.Attempt{Operator: op, Upstream: res.Upstream.Name, Error: "null"})
			continue
		}
		var lie *verify.Error
		if !errors.As(err, &lie) {
			return nil, err // something the check needed failed: not this operator's lie
		}
		r.caught(op, res.Upstream, call.Method, err)
		lied = true
		attempts = append(attempts, route.Attempt{Operator: op, Upstream: res.Upstream.Name, Error: err.Error()})
	}
	switch {
	case nulls > 0 && nulls == len(attempts):
		return nil, errAllNull
	case lastRPC != nil && !lied:
		// The nodes could not serve it (e.g. an invalid argument): their
		// own error is the answer, as without verification.
		return lastRPC, nil
	}
	return nil, &VerifyFailure{Method: call.Method, Attempts: attempts}
}

// errOffChainNull is offChainNull's answer to a null about a block that is
// not on braid's trusted chain: no lie, counted as a null.
var errOffChainNull = errors.New("null about a block off the trusted chain")

// offChainNull wraps check, a check of answers about the block of header
// h, for reads where a null would be a lie only if h is on braid's
// trusted chain: a block known only by its own hash (a side or reorged-out
// block some operators hold) is one an honest node may never have seen, so
// its null is counted as a null, not a lie — or any client could get an
// honest operator struck by asking about another operator's side block.
// Whether h is canonical is asked only when a null arrives; when it cannot
// be told (beyond the trusted path's reach), the null is no lie either.
func (r *Reader) offChainNull(ctx context.Context, h *types.Header, check func(*route.Result) error) func(*route.Result) error {
	return func(res *route.Result) error {
		if string(res.Response.Result) == "null" {
			if canon, err := r.CanonicalHash(ctx, h.Number.Uint64()); err != nil || canon != h.Hash() {
				return errOffChainNull
			}
		}
		return check(res)
	}
}

// rpcAnswer carries a node's error answer to pass through unchanged.
type rpcAnswer struct{ resp *jsonrpc.Response }

func (a *rpcAnswer) Error() string { return a.resp.Error.Message }

// errorAnswer is a fetchVerified result that is the nodes' own error
// answer (no operator could serve the call, or it is the request's
// fault), as an error to pass through; nil for a checked answer. Callers
// that use what the check extracted must stop on it: nothing was checked.
func errorAnswer(res *route.Result) error {
	if res != nil && res.Response.Error != nil {
		return &rpcAnswer{res.Response}
	}
	return nil
}

// answer turns a fetchVerified result into the raw result, or an error
// answer to pass through.
func answer(res *route.Result) (json.RawMessage, error) {
	if res.Response.Error != nil {
		return nil, &rpcAnswer{res.Response}
	}
	return res.Response.Result, nil
}
