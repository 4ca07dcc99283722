package jsonrpc

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
)

// Response is one answer. Result holds the raw result bytes exactly as an
// upstream sent them (including the literal null); Error is set instead on
// failure.
type Response struct {
	ID     json.RawMessage
	Result json.RawMessage
	Error  *Error
	// Cached: the answer came from braid's cache (the Braid-Cache
	// header). Not part of the wire form.
	Cached bool
	// Source is where a history answer came from when not the providers:
	// "store" or "peer" (the Braid-Source header). Not part of the wire
	// form.
	Source string
}

// ErrorResponse builds an error answer for id.
func ErrorResponse(id json.RawMessage, err *Error) *Response {
	return &Response{ID: id, Error: err}
}

// ResultResponse builds a success answer for id with raw result bytes.
func ResultResponse(id json.RawMessage, result json.RawMessage) *Response {
	return &Response{ID: id, Result: result}
}

// AppendJSON appends the wire form of r. Result bytes are copied verbatim,
// never re-encoded.
func (r *Response) AppendJSON(dst []byte) []byte {
	dst = append(dst, `{"jsonrpc":"2.0","id":`...)
	if len(r.ID) == 0 {
		dst = append(dst, "null"...)
	} else {
		dst = append(dst, r.ID...)
	}
	if r.Error != nil {
		dst = append(dst, `,"error":`...)
		dst = r.Error.appendJSON(dst)
	} else {
		dst = append(dst, `,"result":`...)
		if len(r.Result) == 0 {
			dst = append(dst, "null"...)
		} else {
			dst = append(dst, r.Result...)
		}
	}
	return append(dst, '}')
}

func (e *Error) appendJSON(dst []byte) []byte {
	dst = append(dst, `{"code":`...)
	dst = strconv.AppendInt(dst, int64(e.Code), 10)
	dst = append(dst, `,"message":`...)
	msg, _ := json.Marshal(e.Message) // a string always marshals
	dst = append(dst, msg...)
	if len(e.Data) > 0 {
		dst = append(dst, `,"data":`...)
		dst = append(dst, e.Data...)
	}
	return append(dst, '}')
}

// Size is the length of r's wire form (what AppendJSON appends and WriteTo
// writes), known without building it: a Content-Length, or what an answer
// costs against a batch's bound.
func (r *Response) Size() int {
	n := len(`{"jsonrpc":"2.0","id":`) + rawLen(r.ID) + len("}")
	if r.Error != nil {
		return n + len(`,"error":`) + len(r.Error.appendJSON(nil))
	}
	return n + len(`,"result":`) + rawLen(r.Result)
}

// rawLen is the length raw is written with: null when empty.
func rawLen(raw json.RawMessage) int {
	if len(raw) == 0 {
		return len("null")
	}
	return len(raw)
}

// WriteTo writes r's wire form to w: the bytes AppendJSON appends, with
// the result bytes written as they are instead of copied, so that an
// answer of many megabytes is never held twice.
func (r *Response) WriteTo(w io.Writer) (int64, error) {
	_, n, err := r.writeTo(w, nil)
	return n, err
}

// writeTo is WriteTo with a scratch buffer for the envelope, returned for
// reuse.
func (r *Response) writeTo(w io.Writer, scratch []byte) ([]byte, int64, error) {
	if r.Error != nil || len(r.Result) <= 256 {
		scratch = r.AppendJSON(scratch[:0])
		n, err := w.Write(scratch)
		return scratch, int64(n), err
	}
	head := append(scratch[:0], `{"jsonrpc":"2.0","id":`...)
	if len(r.ID) == 0 {
		head = append(head, "null"...)
	} else {
		head = append(head, r.ID...)
	}
	head = append(head, `,"result":`...)
	var total int64
	for _, part := range [][]byte{head, r.Result, []byte("}")} {
		n, err := w.Write(part)
		total += int64(n)
		if err != nil {
			return head, total, err
		}
	}
	return head, total, nil
}

// BatchSize is the length of the JSON array of rs that WriteBatch writes.
func BatchSize(rs []*Response) int {
	n := len("[]") + max(len(rs)-1, 0) // brackets and commas
	for _, r := range rs {
		n += r.Size()
	}
	return n
}

// WriteBatch writes the JSON array of rs to w member by member, each as
// WriteTo writes it: the array is never assembled in memory.
func WriteBatch(w io.Writer, rs []*Response) (int64, error) {
	var scratch []byte
	var total int64
	write := func(b []byte) error {
		n, err := w.Write(b)
		total += int64(n)
		return err
	}
	if err := write([]byte("[")); err != nil {
		return total, err
	}
	for i, r := range rs {
		if i > 0 {
			if err := write([]byte(",")); err != nil {
				return total, err
			}
		}
		var n int64
		var err error
		scratch, n, err = r.writeTo(w, scratch)
		total += n
		if err != nil {
			return total, err
		}
	}
	return total, write([]byte("]"))
}

// AppendRequest appends the wire form of an outgoing call with a numeric id.
// params may be nil (sent as []).
func AppendRequest(dst []byte, id uint64, method string, params json.RawMessage) []byte {
	dst = append(dst, `{"jsonrpc":"2.0","id":`...)
	dst = strconv.AppendUint(dst, id, 10)
	dst = append(dst, `,"method":`...)
	m, _ := json.Marshal(method)
	dst = append(dst, m...)
	dst = append(dst, `,"params":`...)
	if len(params) == 0 {
		dst = append(dst, "[]"...)
	} else {
		dst = append(dst, params...)
	}
	return append(dst, '}')
}

// DecodeResponse parses one upstream answer. The result bytes are kept as
// sent; a literal null result is kept as "null" so that it reaches the
// client as an answer. An answer with neither result nor error, or with a
// malformed error object, is an error: the upstream misbehaved.
//
// Member names are matched exactly ("Result" is not "result"). The response
// points into body, which the caller hands over and must not reuse: upstream
// answers can be tens of megabytes, and copying them again is waste.
func DecodeResponse(body []byte) (*Response, error) {
	body = bytes.TrimSpace(body)
	if len(body) == 0 || body[0] != '{' {
		return nil, fmt.Errorf("upstream answer is not a JSON object")
	}
	if !json.Valid(body) {
		var v any
		err := json.Unmarshal(body, &v) // for the syntax error's wording
		if err == nil {
			err = fmt.Errorf("invalid JSON")
		}
		return nil, fmt.Errorf("upstream answer: %w", err)
	}
	var f [3][]byte
	fields(body, f[:], "id", "result", "error")
	id, result, rawErr := f[0], f[1], f[2]
	resp := &Response{ID: id}
	switch {
	case rawErr != nil && string(rawErr) != "null":
		e, err := decodeError(rawErr)
		if err != nil {
			return nil, fmt.Errorf("upstream error object: %w", err)
		}
		if e.Code == 0 && e.Message == "" {
			return nil, fmt.Errorf("upstream error object has neither code nor message")
		}
		resp.Error = e
	case result != nil:
		resp.Result = result
	default:
		return nil, fmt.Errorf("upstream answer has neither result nor error")
	}
	return resp, nil
}

// decodeError reads an error object (valid JSON) with exact member names:
// code an integer or null, message a string or null (null is the zero
// value), data kept raw. A repeated member: the last one wins.
func decodeError(raw []byte) (*Error, error) {
	if raw[0] != '{' {
		return nil, fmt.Errorf("not a JSON object")
	}
	var e Error
	for it := newMembers(raw); ; {
		name, value, ok := it.next()
		if !ok {
			break
		}
		switch {
		case nameIs(name, "code"):
			e.Code = 0
			if string(value) == "null" {
				continue
			}
			c, err := strconv.ParseInt(string(value), 10, 0)
			if err != nil {
				return nil, fmt.Errorf("code %s is not an integer", truncate(value, 32))
			}
			e.Code = int(c)
		case nameIs(name, "message"):
			e.Message = ""
			if string(value) == "null" {
				continue
			}
			msg, ok := unquote(value)
			if !ok {
				return nil, fmt.Errorf("message %s is not a string", truncate(value, 32))
			}
			e.Message = msg
		case nameIs(name, "data"):
			e.Data = value
		}
	}
	return &e, nil
}
