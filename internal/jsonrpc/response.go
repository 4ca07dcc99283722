package jsonrpc

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"sync"
)

// Response is one answer. Result holds the raw result bytes exactly as an
// upstream sent them (including the literal null); Error is set instead on
// failure.
type Response struct {
	ID     json.RawMessage
	Result json.RawMessage
	Error  *Error
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
	dst = appendString(dst, e.Message)
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
// answer of many megabytes is never held twice. The envelope is built in
// a pooled buffer: writing an answer allocates nothing.
func (r *Response) WriteTo(w io.Writer) (int64, error) {
	buf := scratchPool.Get().(*[]byte)
	var n int64
	var err error
	*buf, n, err = r.writeTo(w, *buf)
	putScratch(buf)
	return n, err
}

// scratchPool holds the buffers answers' envelopes are built in.
var scratchPool = sync.Pool{New: func() any { b := make([]byte, 0, 512); return &b }}

// maxPooledScratch: a buffer that grew past this (an error answer with
// large data) is left to the collector rather than kept.
const maxPooledScratch = 64 << 10

func putScratch(buf *[]byte) {
	if cap(*buf) <= maxPooledScratch {
		*buf = (*buf)[:0]
		scratchPool.Put(buf)
	}
}

// closeBrace is the answer's last byte, as a slice that costs nothing to
// write.
var closeBrace = []byte("}")

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
	n, err := w.Write(head)
	total := int64(n)
	if err == nil {
		n, err = w.Write(r.Result)
		total += int64(n)
	}
	if err == nil {
		n, err = w.Write(closeBrace)
		total += int64(n)
	}
	return head, total, err
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
	buf := scratchPool.Get().(*[]byte)
	defer func() { putScratch(buf) }()
	var total int64
	write := func(b []byte) error {
		n, err := w.Write(b)
		total += int64(n)
		return err
	}
	if err := write(openBracket); err != nil {
		return total, err
	}
	for i, r := range rs {
		if i > 0 {
			if err := write(comma); err != nil {
				return total, err
			}
		}
		var n int64
		var err error
		*buf, n, err = r.writeTo(w, *buf)
		total += n
		if err != nil {
			return total, err
		}
	}
	return total, write(closeBracket)
}

var (
	openBracket  = []byte("[")
	comma        = []byte(",")
	closeBracket = []byte("]")
)

// AppendRequest appends the wire form of an outgoing call with a numeric id.
// params may be nil (sent as []).
func AppendRequest(dst []byte, id uint64, method string, params json.RawMessage) []byte {
	dst = append(dst, `{"jsonrpc":"2.0","id":`...)
	dst = strconv.AppendUint(dst, id, 10)
	dst = append(dst, `,"method":`...)
	dst = appendString(dst, method)
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
	// One pass checks the syntax (exactly as json.Valid would) and finds
	// the members; the result's bytes are looked at once.
	var f [3][]byte
	if !scanObject(body, f[:], "id", "result", "error") {
		return nil, fmt.Errorf("upstream answer: %w", syntaxError(body))
	}
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

// syntaxError words what is wrong with JSON text that failed the check:
// encoding/json's message (which names the offset), found only on this
// rare path.
func syntaxError(b []byte) error {
	var v struct{}
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	return errors.New("invalid JSON")
}

// appendString appends s as a JSON string, as json.Marshal writes it
// (HTML characters escaped, invalid UTF-8 replaced), without allocating
// for the plain ASCII that method names and most messages are.
func appendString(dst []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x80 || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			q, _ := json.Marshal(s) // a string always marshals
			return append(dst, q...)
		}
	}
	dst = append(dst, '"')
	dst = append(dst, s...)
	return append(dst, '"')
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
