package upstream

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"

	"github.com/braidrpc/braid/internal/jsonrpc"
)

// ErrBatchRefused: the upstream does not accept the JSON-RPC batch (it
// answered it with a single object, an HTTP 4xx, or, as go-ethereum does
// for a batch over its limit, a one-member array holding an
// invalid-request error): it takes no batches, or none this large.
var ErrBatchRefused = errors.New("upstream refuses batches")

// BatchCall is one member of a batch sent to an upstream.
type BatchCall struct {
	Method string
	Params json.RawMessage
}

// CallBatch sends calls as one JSON-RPC batch in one HTTP request and
// returns the answers in the calls' order. Like Call, it returns JSON-RPC
// error answers as Responses; the error is for batches that got no usable
// answer (ErrBatchRefused when the provider does not take batches, so the
// caller can fall back to single calls).
func (u *Upstream) CallBatch(ctx context.Context, calls []BatchCall) ([]*jsonrpc.Response, error) {
	first := u.nextID.Add(uint64(len(calls))) - uint64(len(calls)) + 1
	body := make([]byte, 0, 64*len(calls))
	body = append(body, '[')
	for i, c := range calls {
		if i > 0 {
			body = append(body, ',')
		}
		body = jsonrpc.AppendRequest(body, first+uint64(i), c.Method, c.Params)
	}
	body = append(body, ']')
	raw, err := u.post(ctx, body)
	if err != nil {
		var ae *AttemptError
		if errors.As(err, &ae) && ae.Kind == ErrHTTPStatus && ae.Status >= 400 && ae.Status < 500 {
			return nil, &AttemptError{Upstream: u.Name, Kind: ErrBatchRefused, Status: ae.Status}
		}
		return nil, err
	}
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || raw[0] != '[' {
		return nil, &AttemptError{Upstream: u.Name, Kind: ErrBatchRefused}
	}
	var members []json.RawMessage
	if err := json.Unmarshal(raw, &members); err != nil {
		return nil, &AttemptError{Upstream: u.Name, Kind: ErrBadResponse, Err: u.redactErr(err)}
	}
	if len(members) == 1 && len(calls) > 1 && refusesWhole(members[0]) {
		// go-ethereum answers a batch over its limit with one error
		// ("batch too large"): the batch's size is refused, not the node
		// broken.
		return nil, &AttemptError{Upstream: u.Name, Kind: ErrBatchRefused}
	}
	out := make([]*jsonrpc.Response, len(calls))
	for _, m := range members {
		resp, err := jsonrpc.DecodeResponse(m)
		if err != nil {
			return nil, &AttemptError{Upstream: u.Name, Kind: ErrBadResponse, Err: u.redactErr(err)}
		}
		u.redactError(resp.Error)
		id, err := strconv.ParseUint(string(resp.ID), 10, 64)
		if err != nil || id < first || id >= first+uint64(len(calls)) {
			return nil, &AttemptError{Upstream: u.Name, Kind: ErrBadResponse, Err: fmt.Errorf("batch answer with unknown id %s", u.Redact(truncate(resp.ID)))}
		}
		out[id-first] = resp
	}
	for i, r := range out {
		if r == nil {
			return nil, &AttemptError{Upstream: u.Name, Kind: ErrBadResponse, Err: fmt.Errorf("batch answer lacks call %d (%s)", i, calls[i].Method)}
		}
	}
	return out, nil
}

// refusesWhole reports whether a batch's only answer is an
// invalid-request error (-32600), which a node gives for the batch as a
// whole: go-ethereum's "batch too large".
func refusesWhole(member json.RawMessage) bool {
	var m struct {
		Error *struct {
			Code int `json:"code"`
		} `json:"error"`
	}
	return json.Unmarshal(member, &m) == nil && m.Error != nil && m.Error.Code == jsonrpc.CodeInvalidRequest
}
