package jsonrpc

import (
	"bytes"
	"encoding/json"
	"fmt"
	"unicode/utf8"
)

// Request is one decoded client call. ID holds the id exactly as the client
// wrote it (number, string or null; nil when absent, which makes the call a
// notification). Params holds the raw params (nil when absent or null).
type Request struct {
	ID     json.RawMessage
	Method string
	Params json.RawMessage
	// Client names who sent the call (its address, as the server tells
	// clients apart) for the per-client caps; "" when unknown, which no
	// per-client cap counts. Not part of the wire form.
	Client string
}

// IsNotification reports whether the client sent no id, so expects no answer.
func (r *Request) IsNotification() bool { return r.ID == nil }

// Member is one element of a decoded message: either a valid request or the
// error its malformed JSON object earns (with the id, when one was readable).
type Member struct {
	Req *Request
	Err *Response
}

// Message is a decoded request body.
type Message struct {
	Batch   bool
	Members []Member

	// A single call's member and request live in the message itself:
	// decoding one call allocates the message and its bytes, no more.
	one [1]Member
	req Request
}

var nullID = json.RawMessage("null")

// Decode parses a request body. A body that is not JSON yields a parse
// error, an empty batch or one longer than maxBatch (when maxBatch > 0) an
// invalid-request error; both are returned as a single error *Response to
// send back as is. Malformed members of a batch become error members, so
// the valid members still run.
//
// Member names are matched exactly ("Id" is not "id"). The returned
// requests hold their own copy of the bytes they need: the caller may
// reuse body once Decode returns.
func Decode(body []byte, maxBatch int) (*Message, *Response) {
	trimmed := trimSpace(body)
	if len(trimmed) == 0 {
		return nil, ErrorResponse(nullID, Errorf(CodeParseError, "parse error: empty body"))
	}
	if !valid(trimmed) {
		return nil, ErrorResponse(nullID, Errorf(CodeParseError, "parse error: body is not valid JSON"))
	}
	if trimmed[0] != '[' {
		msg := &Message{}
		msg.one[0] = decodeMember(bytes.Clone(trimmed), &msg.req)
		msg.Members = msg.one[:]
		return msg, nil
	}
	n := 0
	for it := newElements(trimmed); ; n++ {
		if _, ok := it.next(); !ok {
			break
		}
	}
	if n == 0 {
		return nil, ErrorResponse(nullID, Errorf(CodeInvalidRequest, "invalid request: empty batch"))
	}
	if maxBatch > 0 && n > maxBatch {
		return nil, ErrorResponse(nullID, Errorf(CodeInvalidRequest,
			"invalid request: batch of %d calls exceeds the limit of %d", n, maxBatch))
	}
	// One copy of the body backs every member's id and params.
	owned := bytes.Clone(trimmed)
	msg := &Message{Batch: true, Members: make([]Member, n)}
	reqs := make([]Request, n) // one allocation for every member's request
	it := newElements(owned)
	for i := range msg.Members {
		raw, _ := it.next()
		msg.Members[i] = decodeMember(raw, &reqs[i])
	}
	return msg, nil
}

// decodeMember checks one call. raw is valid JSON, owned by the caller's
// message: the request's ID and Params alias it. A valid call is stored in
// into, which the member then points to.
func decodeMember(raw []byte, into *Request) Member {
	invalid := func(id json.RawMessage, format string, args ...any) Member {
		if id == nil {
			id = nullID
		}
		return Member{Err: ErrorResponse(id, Errorf(CodeInvalidRequest, "invalid request: "+format, args...))}
	}
	if len(raw) == 0 || raw[0] != '{' {
		return invalid(nil, "a call must be a JSON object")
	}
	var f [4][]byte
	fields(raw, f[:], "jsonrpc", "id", "method", "params")
	version, rawID, rawMethod, params := f[0], f[1], f[2], f[3]
	// The id is checked first so that every later error can echo it.
	var id json.RawMessage
	if rawID != nil {
		switch rawID[0] {
		case '"':
			// Echoed byte for byte, so it must be text a client can read
			// back: JSON is UTF-8 (RFC 8259, section 8.1).
			if !utf8.Valid(rawID) {
				return invalid(nil, "id must be valid UTF-8")
			}
			id = rawID
		case 'n', '-', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9':
			id = rawID
		default:
			return invalid(nil, "id must be a string, a number or null")
		}
	}
	if !bytes.Equal(version, []byte(`"2.0"`)) {
		if version == nil {
			return invalid(id, `missing "jsonrpc": "2.0"`)
		}
		if v, ok := unquote(version); !ok || v != "2.0" {
			return invalid(id, `"jsonrpc" must be "2.0", got %s`, truncate(version, 32))
		}
	}
	if len(rawMethod) == 0 || rawMethod[0] != '"' {
		return invalid(id, "method must be a string")
	}
	method, ok := methodName(rawMethod)
	if !ok || method == "" {
		return invalid(id, "method must be a non-empty string")
	}
	if params != nil {
		switch params[0] {
		case '[', '{':
		case 'n': // null: treated as absent, as go-ethereum does
			params = nil
		default:
			return invalid(id, "params must be an array or an object")
		}
	}
	*into = Request{ID: id, Method: method, Params: params}
	return Member{Req: into}
}

// truncate shortens b to at most n bytes, cutting at a character boundary.
func truncate(b []byte, n int) string {
	if len(b) <= n {
		return string(b)
	}
	for n > 0 && !utf8.RuneStart(b[n]) {
		n--
	}
	return string(b[:n]) + "…"
}

// ParamList splits array params into their raw elements. Absent params are
// an empty list; object (by-name) params are an error for the caller to
// report, since Ethereum's methods are positional.
//
// Requests built by hand are read the way Decode would have left them: empty
// or null params are absent, surrounding whitespace is ignored.
func (r *Request) ParamList() ([]json.RawMessage, error) {
	params := trimSpace(r.Params)
	if len(params) == 0 || string(params) == "null" {
		return nil, nil
	}
	if params[0] != '[' {
		return nil, fmt.Errorf("params must be an array")
	}
	if !valid(params) {
		return nil, fmt.Errorf("params: %w", syntaxError(params))
	}
	// The elements alias the params (each capped at its end, so an append
	// copies): one allocation, for the list.
	n := 0
	for it := newElements(params); ; n++ {
		if _, ok := it.next(); !ok {
			break
		}
	}
	list := make([]json.RawMessage, n)
	it := newElements(params)
	for i := range list {
		list[i], _ = it.next()
	}
	return list, nil
}
