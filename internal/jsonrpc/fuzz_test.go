package jsonrpc

import (
	"bytes"
	"encoding/json"
	"strconv"
	"testing"
	"unicode/utf8"
)

// validOut reports whether out is JSON a client can read: syntactically
// valid (json.Valid) and UTF-8 (json.Valid does not check that).
func validOut(out []byte) bool { return json.Valid(out) && utf8.Valid(out) }

func FuzzDecode(f *testing.F) {
	for _, s := range []string{
		`{"jsonrpc":"2.0","id":1,"method":"eth_chainId"}`,
		`[{"jsonrpc":"2.0","id":"x","method":"a"},{"jsonrpc":"2.0","method":"n"},7]`,
		`{"jsonrpc":"2.0","id":-0.5e-3,"method":"m","params":{"k":[1,{"v":"]"}]}}`,
		`{"Jsonrpc":"2.0","ID":1,"method":"m"}`,
		"{\"jsonrpc\":\"2.0\",\"id\":\"\xc3\",\"method\":\"m\"}",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		for _, maxBatch := range []int{0, 3} {
			checkDecode(t, body, maxBatch)
		}
	})
}

func checkDecode(t *testing.T, body []byte, maxBatch int) {
	msg, errResp := Decode(body, maxBatch)
	ref := refDecode(body, maxBatch)
	if (msg == nil) == (errResp == nil) {
		t.Fatalf("want exactly one of message and error answer, got %v and %v", msg, errResp)
	}
	if errResp != nil {
		if errResp.Error == nil || string(errResp.ID) != "null" {
			t.Fatalf("bad top-level error answer %+v", errResp)
		}
		if out := errResp.AppendJSON(nil); !validOut(out) {
			t.Fatalf("error answer is not valid JSON: %q", out)
		}
		if ref.top != errResp.Error.Code {
			t.Fatalf("top-level code %d, reference %d (%+v)", errResp.Error.Code, ref.top, ref)
		}
		return
	}
	if ref.top != 0 {
		t.Fatalf("decoded, but the reference answers %d", ref.top)
	}
	if len(msg.Members) == 0 || (!msg.Batch && len(msg.Members) != 1) || msg.Batch != ref.batch {
		t.Fatalf("batch=%v with %d members (reference batch=%v)", msg.Batch, len(msg.Members), ref.batch)
	}
	if maxBatch > 0 && len(msg.Members) > maxBatch {
		t.Fatalf("%d members over the limit %d", len(msg.Members), maxBatch)
	}
	if len(msg.Members) != len(ref.members) {
		t.Fatalf("%d members, reference %d", len(msg.Members), len(ref.members))
	}
	answers := make([]*Response, 0, len(msg.Members))
	for i, m := range msg.Members {
		if (m.Req == nil) == (m.Err == nil) {
			t.Fatalf("member %d: want exactly one of Req and Err: %+v", i, m)
		}
		want := ref.members[i]
		var r *Response
		if m.Err != nil {
			r = m.Err
			if r.Error == nil || r.Error.Code != CodeInvalidRequest {
				t.Fatalf("member %d: error answer %+v", i, r)
			}
			if want.code != r.Error.Code || string(want.id) != string(r.ID) {
				t.Fatalf("member %d: error %d id %q, reference %d id %q", i, r.Error.Code, r.ID, want.code, want.id)
			}
		} else {
			req := m.Req
			if req.ID != nil && !json.Valid(req.ID) {
				t.Fatalf("member %d: id %q is not valid JSON", i, req.ID)
			}
			if req.Method == "" {
				t.Fatalf("member %d: empty method", i)
			}
			if req.Params != nil && (!json.Valid(req.Params) || (req.Params[0] != '[' && req.Params[0] != '{')) {
				t.Fatalf("member %d: params %q", i, req.Params)
			}
			if _, err := req.ParamList(); err != nil && req.Params[0] == '[' {
				t.Fatalf("member %d: ParamList(%q): %v", i, req.Params, err)
			}
			if want.code != 0 || string(want.id) != string(req.ID) || (want.id == nil) != (req.ID == nil) ||
				want.method != req.Method || string(want.params) != string(req.Params) || (want.params == nil) != (req.Params == nil) {
				t.Fatalf("member %d: request %+v, reference %+v", i, req, want)
			}
			r = ResultResponse(req.ID, json.RawMessage("1"))
		}
		out := r.AppendJSON(nil)
		if r.Size() != len(out) {
			t.Fatalf("member %d: Size %d, wire form %d bytes", i, r.Size(), len(out))
		}
		if !validOut(out) {
			t.Fatalf("member %d: answer is not valid JSON: %q", i, out)
		}
		answers = append(answers, r)
	}
	var out bytes.Buffer
	if n, err := WriteBatch(&out, answers); err != nil || n != int64(out.Len()) || BatchSize(answers) != out.Len() || !validOut(out.Bytes()) {
		t.Fatalf("batch answer (%d bytes written, BatchSize %d, %v) is not valid JSON: %q", n, BatchSize(answers), err, out.Bytes())
	}
}

// The reference decoder below follows the same rules as Decode with
// encoding/json doing all the parsing (a map keeps member names exact), so
// the fuzzer can compare the two.

type refMember struct {
	code   int
	id     json.RawMessage
	method string
	params json.RawMessage
}

type refMessage struct {
	top     int
	batch   bool
	members []refMember
}

func refDecode(body []byte, maxBatch int) refMessage {
	body = bytes.Trim(body, " \t\r\n")
	if len(body) == 0 || !json.Valid(body) {
		return refMessage{top: CodeParseError}
	}
	if body[0] != '[' {
		return refMessage{members: []refMember{refDecodeMember(body)}}
	}
	var raws []json.RawMessage
	if err := json.Unmarshal(body, &raws); err != nil {
		panic(err) // valid JSON
	}
	if len(raws) == 0 || (maxBatch > 0 && len(raws) > maxBatch) {
		return refMessage{top: CodeInvalidRequest}
	}
	m := refMessage{batch: true}
	for _, raw := range raws {
		m.members = append(m.members, refDecodeMember(raw))
	}
	return m
}

func refDecodeMember(raw []byte) refMember {
	bad := func(id json.RawMessage) refMember {
		if id == nil {
			id = json.RawMessage("null")
		}
		return refMember{code: CodeInvalidRequest, id: id}
	}
	if raw[0] != '{' {
		return bad(nil)
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(raw, &obj); err != nil {
		panic(err)
	}
	id, hasID := obj["id"]
	if hasID {
		switch {
		case id[0] == '"' && !utf8.Valid(id):
			return bad(nil)
		case id[0] == '"', id[0] == 'n', id[0] == '-', id[0] >= '0' && id[0] <= '9':
		default:
			return bad(nil)
		}
	}
	var version string
	if v, ok := obj["jsonrpc"]; !ok || v[0] != '"' || json.Unmarshal(v, &version) != nil || version != "2.0" {
		return bad(id)
	}
	var method string
	if m, ok := obj["method"]; !ok || m[0] != '"' || json.Unmarshal(m, &method) != nil || method == "" {
		return bad(id)
	}
	params := obj["params"]
	if params != nil {
		switch params[0] {
		case '[', '{':
		case 'n':
			params = nil
		default:
			return bad(id)
		}
	}
	return refMember{id: id, method: method, params: params}
}

func FuzzDecodeResponse(f *testing.F) {
	for _, s := range []string{
		`{"jsonrpc":"2.0","id":1,"result":{"hash":"0x1","txs":[]}}`,
		`{"jsonrpc":"2.0","id":1,"error":{"code":3,"message":"execution reverted","data":"0x"}}`,
		`{"id":1,"error":{"code":-1,"message":null,"code":null,"data":{"a":"}"}}}`,
		`{"id":1,"result":[1,,2]}`,
		`{"id":1,"result":{"a" 1},"x":"\u00e9\"}`,
		"{\"id\":1,\"result\":\"a\x01\"}",
		`{"id":"x","result":[{"a":[-0.5e+3,true,false,null]}],"error":null}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		resp, err := DecodeResponse(body)
		ref, refErr := refDecodeResponse(body)
		if (err == nil) != (refErr == nil) {
			t.Fatalf("error %v, reference error %v", err, refErr)
		}
		if err != nil {
			return
		}
		if (resp.Result == nil) == (resp.Error == nil) {
			t.Fatalf("want exactly one of Result and Error: %+v", resp)
		}
		if string(resp.ID) != string(ref.ID) || string(resp.Result) != string(ref.Result) || (resp.Error == nil) != (ref.Error == nil) {
			t.Fatalf("got %+v, reference %+v", resp, ref)
		}
		if e := resp.Error; e != nil {
			if e.Code != ref.Error.Code || e.Message != ref.Error.Message || string(e.Data) != string(ref.Error.Data) {
				t.Fatalf("error %+v, reference %+v", e, ref.Error)
			}
			if e.Code == 0 && e.Message == "" {
				t.Fatalf("accepted an empty error object")
			}
		}
		if out := resp.AppendJSON(nil); !json.Valid(out) {
			t.Fatalf("re-encoding is not valid JSON: %q", out)
		}
		// Under a client's id, as the server sends it.
		client := *resp
		client.ID = json.RawMessage(`"client"`)
		if out := client.AppendJSON(nil); !json.Valid(out) {
			t.Fatalf("re-encoding is not valid JSON: %q", out)
		}
	})
}

// refDecodeResponse is DecodeResponse's rules with encoding/json doing the
// parsing.
func refDecodeResponse(body []byte) (*Response, error) {
	body = bytes.TrimSpace(body)
	if len(body) == 0 || body[0] != '{' {
		return nil, strconv.ErrSyntax
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(body, &obj); err != nil {
		return nil, err
	}
	resp := &Response{ID: obj["id"]}
	if raw, ok := obj["error"]; ok && string(raw) != "null" {
		if raw[0] != '{' {
			return nil, strconv.ErrSyntax
		}
		var fields map[string]json.RawMessage
		if err := json.Unmarshal(raw, &fields); err != nil {
			panic(err)
		}
		var e Error
		if c, ok := fields["code"]; ok {
			if err := json.Unmarshal(c, &e.Code); err != nil {
				return nil, err
			}
		}
		if m, ok := fields["message"]; ok {
			if err := json.Unmarshal(m, &e.Message); err != nil {
				return nil, err
			}
		}
		e.Data = fields["data"]
		if e.Code == 0 && e.Message == "" {
			return nil, strconv.ErrSyntax
		}
		resp.Error = &e
		return resp, nil
	}
	if r, ok := obj["result"]; ok {
		resp.Result = r
		return resp, nil
	}
	return nil, strconv.ErrSyntax
}
