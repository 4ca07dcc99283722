package jsonrpc

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

func TestAppendJSON(t *testing.T) {
	tests := []struct {
		name string
		resp *Response
		want string
	}{
		{"number result", ResultResponse(json.RawMessage(`1`), json.RawMessage(`"0x1"`)),
			`{"jsonrpc":"2.0","id":1,"result":"0x1"}`},
		{"null result kept", ResultResponse(json.RawMessage(`"a"`), json.RawMessage(`null`)),
			`{"jsonrpc":"2.0","id":"a","result":null}`},
		{"missing result is null", ResultResponse(json.RawMessage(`2`), nil),
			`{"jsonrpc":"2.0","id":2,"result":null}`},
		{"missing id is null", ResultResponse(nil, json.RawMessage(`true`)),
			`{"jsonrpc":"2.0","id":null,"result":true}`},
		{"empty results kept", ResultResponse(json.RawMessage(`3`), json.RawMessage(`[]`)),
			`{"jsonrpc":"2.0","id":3,"result":[]}`},
		{"0x result kept", ResultResponse(json.RawMessage(`3`), json.RawMessage(`"0x"`)),
			`{"jsonrpc":"2.0","id":3,"result":"0x"}`},
		{"nested object with odd whitespace verbatim", ResultResponse(json.RawMessage(`1e2`),
			json.RawMessage("{ \"a\" :\n\t[1 , {\"b\":null} ],\r\n\"c\":\"\\u00e9\"  }")),
			"{\"jsonrpc\":\"2.0\",\"id\":1e2,\"result\":{ \"a\" :\n\t[1 , {\"b\":null} ],\r\n\"c\":\"\\u00e9\"  }}"},
		{"big number id", ResultResponse(json.RawMessage(`12345678901234567890123456789`), json.RawMessage(`0`)),
			`{"jsonrpc":"2.0","id":12345678901234567890123456789,"result":0}`},
		{"error", ErrorResponse(json.RawMessage(`7`), Errorf(CodeMethodNotFound, "the method %s does not exist", "x_y")),
			`{"jsonrpc":"2.0","id":7,"error":{"code":-32601,"message":"the method x_y does not exist"}}`},
		{"revert data under code 3 kept raw", ErrorResponse(json.RawMessage(`"r"`),
			&Error{Code: 3, Message: "execution reverted", Data: json.RawMessage(`"0x08c379a00000000000000000000000000000000000000000000000000000000000000020"`)}),
			`{"jsonrpc":"2.0","id":"r","error":{"code":3,"message":"execution reverted","data":"0x08c379a00000000000000000000000000000000000000000000000000000000000000020"}}`},
		{"object data kept raw", ErrorResponse(json.RawMessage(`1`),
			&Error{Code: -32000, Message: "m", Data: json.RawMessage(`{ "attempts" : [1,2] }`)}),
			`{"jsonrpc":"2.0","id":1,"error":{"code":-32000,"message":"m","data":{ "attempts" : [1,2] }}}`},
		{"null data kept", ErrorResponse(json.RawMessage(`1`), &Error{Code: 1, Message: "m", Data: json.RawMessage(`null`)}),
			`{"jsonrpc":"2.0","id":1,"error":{"code":1,"message":"m","data":null}}`},
		{"code 0 and empty message", ErrorResponse(nil, &Error{}),
			`{"jsonrpc":"2.0","id":null,"error":{"code":0,"message":""}}`},
		{"error wins over result", &Response{ID: json.RawMessage(`1`), Result: json.RawMessage(`1`), Error: &Error{Code: 2, Message: "m"}},
			`{"jsonrpc":"2.0","id":1,"error":{"code":2,"message":"m"}}`},
		{"message escaping", ErrorResponse(json.RawMessage(`1`), &Error{Code: -1, Message: "a \"quoted\" \\ line\nnext\ttab é 😀 \u2028 \x01"}),
			`{"jsonrpc":"2.0","id":1,"error":{"code":-1,"message":"a \"quoted\" \\ line\nnext\ttab é 😀 \u2028 \u0001"}}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			prefix := []byte("prefix:")
			got := tt.resp.AppendJSON(prefix)
			if !strings.HasPrefix(string(got), "prefix:") {
				t.Fatalf("AppendJSON lost dst: %s", got)
			}
			got = got[len(prefix):]
			if string(got) != tt.want {
				t.Errorf("got  %s\nwant %s", got, tt.want)
			}
			if !json.Valid(got) {
				t.Errorf("invalid JSON: %s", got)
			}
		})
	}
}

func TestAppendJSONMessageRoundTrip(t *testing.T) {
	for _, msg := range []string{
		"", `"`, `\`, "\n\r\t\b\f", "<script>&</script>", "é😀", "\u2028\u2029", "\x00\x1f\x7f",
		"execution reverted: \"ERC20: transfer amount exceeds balance\"",
	} {
		out := ErrorResponse(json.RawMessage(`1`), &Error{Code: 3, Message: msg}).AppendJSON(nil)
		var back struct {
			Error struct {
				Code    int    `json:"code"`
				Message string `json:"message"`
			} `json:"error"`
		}
		if err := json.Unmarshal(out, &back); err != nil {
			t.Fatalf("%q: %v in %s", msg, err, out)
		}
		if back.Error.Message != msg || back.Error.Code != 3 {
			t.Errorf("%q: round trip gave %+v", msg, back.Error)
		}
	}
	// Invalid UTF-8 in a message still makes valid JSON.
	out := ErrorResponse(nil, &Error{Code: 1, Message: "a\xffb"}).AppendJSON(nil)
	if !json.Valid(out) {
		t.Errorf("invalid JSON: %q", out)
	}
}

func TestWriteBatch(t *testing.T) {
	tests := []struct {
		rs   []*Response
		want string
	}{
		{nil, `[]`},
		{[]*Response{ResultResponse(json.RawMessage(`1`), json.RawMessage(`null`))}, `[{"jsonrpc":"2.0","id":1,"result":null}]`},
		{[]*Response{
			ResultResponse(json.RawMessage(`1`), json.RawMessage(`"0x1"`)),
			ErrorResponse(json.RawMessage(`null`), Errorf(CodeInvalidRequest, "bad")),
			ResultResponse(json.RawMessage(`"x"`), json.RawMessage(`{}`)),
			ResultResponse(nil, json.RawMessage(`"`+strings.Repeat("ab", 300)+`"`)),
		}, `[{"jsonrpc":"2.0","id":1,"result":"0x1"},{"jsonrpc":"2.0","id":null,"error":{"code":-32600,"message":"bad"}},{"jsonrpc":"2.0","id":"x","result":{}},` +
			`{"jsonrpc":"2.0","id":null,"result":"` + strings.Repeat("ab", 300) + `"}]`},
	}
	for _, tt := range tests {
		var b bytes.Buffer
		n, err := WriteBatch(&b, tt.rs)
		got := b.String()
		if err != nil || got != tt.want {
			t.Errorf("got  %s (%v)\nwant %s", got, err, tt.want)
		}
		if n != int64(len(got)) || BatchSize(tt.rs) != len(got) {
			t.Errorf("WriteBatch says %d bytes, BatchSize %d, written %d", n, BatchSize(tt.rs), len(got))
		}
		if !json.Valid(b.Bytes()) {
			t.Errorf("invalid JSON: %s", got)
		}
	}
}

// TestWriteToMatchesAppendJSON: WriteTo writes what AppendJSON appends,
// Size says how long it is, and a large result is written from its own
// bytes, never copied.
func TestWriteToMatchesAppendJSON(t *testing.T) {
	big := json.RawMessage(`"` + strings.Repeat("f", 1<<20) + `"`)
	for _, r := range []*Response{
		ResultResponse(json.RawMessage(`1`), json.RawMessage(`"0x1"`)),
		ResultResponse(nil, nil),
		ResultResponse(json.RawMessage(`"id"`), big),
		ErrorResponse(json.RawMessage(`7`), &Error{Code: 3, Message: "é \"x\"", Data: json.RawMessage(`"0x08"`)}),
		ErrorResponse(nil, &Error{}),
	} {
		want := r.AppendJSON(nil)
		var b bytes.Buffer
		n, err := r.WriteTo(&b)
		if err != nil || b.String() != string(want) || n != int64(len(want)) || r.Size() != len(want) {
			t.Errorf("WriteTo %.80s (%d, %v), Size %d; AppendJSON %.80s (%d)", b.String(), n, err, r.Size(), want, len(want))
		}
	}
	var sizes []int
	w := writerFunc(func(p []byte) (int, error) {
		sizes = append(sizes, len(p))
		if len(p) == len(big) && &p[0] != &big[0] {
			t.Error("the result was copied before it was written")
		}
		return len(p), nil
	})
	if _, err := ResultResponse(json.RawMessage(`1`), big).WriteTo(w); err != nil {
		t.Fatal(err)
	}
	if len(sizes) != 3 || sizes[1] != len(big) {
		t.Errorf("writes of %v bytes, want the envelope, the result as one write, the closing brace", sizes)
	}
}

type writerFunc func(p []byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }

func TestAppendRequest(t *testing.T) {
	tests := []struct {
		id     uint64
		method string
		params string
		want   string
	}{
		{1, "eth_chainId", "", `{"jsonrpc":"2.0","id":1,"method":"eth_chainId","params":[]}`},
		{18446744073709551615, "eth_getBalance", `["0x1","latest"]`,
			`{"jsonrpc":"2.0","id":18446744073709551615,"method":"eth_getBalance","params":["0x1","latest"]}`},
		{0, `we"ird`, `{"a":1}`, `{"jsonrpc":"2.0","id":0,"method":"we\"ird","params":{"a":1}}`},
	}
	for _, tt := range tests {
		got := AppendRequest(nil, tt.id, tt.method, json.RawMessage(tt.params))
		if string(got) != tt.want {
			t.Errorf("got  %s\nwant %s", got, tt.want)
		}
		if !json.Valid(got) {
			t.Errorf("invalid JSON: %s", got)
		}
		// What braid sends, braid's own decoder reads back.
		msg, errResp := Decode(got, 0)
		if errResp != nil || msg.Members[0].Req == nil || msg.Members[0].Req.Method != tt.method {
			t.Errorf("%s does not decode back", got)
		}
	}
}

func TestDecodeResponse(t *testing.T) {
	tests := []struct {
		name       string
		body       string
		wantID     string
		wantResult string // raw; "" when none
		wantErr    *Error
		fail       string // substring of the error when the answer is rejected
	}{
		{name: "result", body: `{"jsonrpc":"2.0","id":1,"result":"0x10"}`, wantID: "1", wantResult: `"0x10"`},
		{name: "result first, whitespace", body: " \n{ \"result\" : [ 1, 2 ] , \"id\" : \"a\" , \"jsonrpc\" : \"2.0\" }\n", wantID: `"a"`, wantResult: `[ 1, 2 ]`},
		{name: "null result kept", body: `{"jsonrpc":"2.0","id":1,"result":null}`, wantID: "1", wantResult: "null"},
		{name: "empty array result", body: `{"jsonrpc":"2.0","id":1,"result":[]}`, wantID: "1", wantResult: "[]"},
		{name: "0x result", body: `{"jsonrpc":"2.0","id":1,"result":"0x"}`, wantID: "1", wantResult: `"0x"`},
		{name: "nested result verbatim", body: `{"id":1,"result":{"a" :{"b":[null, "\u00e9"]}}}`, wantID: "1", wantResult: `{"a" :{"b":[null, "\u00e9"]}}`},
		{name: "missing id", body: `{"jsonrpc":"2.0","result":1}`, wantResult: "1"},
		{name: "error null with a result", body: `{"jsonrpc":"2.0","id":1,"result":"0x1","error":null}`, wantID: "1", wantResult: `"0x1"`},
		{name: "error null before a result", body: `{"jsonrpc":"2.0","id":1,"error":null,"result":null}`, wantID: "1", wantResult: `null`},
		{name: "error", body: `{"jsonrpc":"2.0","id":1,"error":{"code":-32000,"message":"header not found"}}`, wantID: "1",
			wantErr: &Error{Code: -32000, Message: "header not found"}},
		{name: "revert data kept raw", body: `{"jsonrpc":"2.0","id":1,"error":{"code":3,"message":"execution reverted","data":"0x08c379a0"}}`, wantID: "1",
			wantErr: &Error{Code: 3, Message: "execution reverted", Data: json.RawMessage(`"0x08c379a0"`)}},
		{name: "object data kept raw", body: `{"id":1,"error":{"data": { "x" : 1 },"message":"m","code":-1}}`, wantID: "1",
			wantErr: &Error{Code: -1, Message: "m", Data: json.RawMessage(`{ "x" : 1 }`)}},
		{name: "null data kept", body: `{"id":1,"error":{"code":5,"message":"m","data":null}}`, wantID: "1",
			wantErr: &Error{Code: 5, Message: "m", Data: json.RawMessage(`null`)}},
		{name: "error with only a code", body: `{"id":1,"error":{"code":-32005}}`, wantID: "1", wantErr: &Error{Code: -32005}},
		{name: "error with only a message", body: `{"id":1,"error":{"message":"m"}}`, wantID: "1", wantErr: &Error{Message: "m"}},
		{name: "escaped message", body: `{"id":1,"error":{"code":1,"message":"a\"b\n\u00e9"}}`, wantID: "1", wantErr: &Error{Code: 1, Message: "a\"b\né"}},
		{name: "error wins over result", body: `{"id":1,"result":1,"error":{"code":1,"message":"m"}}`, wantID: "1", wantErr: &Error{Code: 1, Message: "m"}},
		{name: "unknown members ignored", body: `{"id":1,"result":1,"extra":{"error":{"code":1}}}`, wantID: "1", wantResult: "1"},

		{name: "error with code 0 and empty message", body: `{"id":1,"error":{"code":0,"message":""}}`, fail: "neither code nor message"},
		{name: "empty error object", body: `{"id":1,"error":{}}`, fail: "neither code nor message"},
		{name: "error not an object", body: `{"id":1,"error":"boom"}`, fail: "upstream error object"},
		{name: "error code not an integer", body: `{"id":1,"error":{"code":1.5,"message":"m"}}`, fail: "upstream error object"},
		{name: "error code a string", body: `{"id":1,"error":{"code":"1","message":"m"}}`, fail: "upstream error object"},
		{name: "error message a number", body: `{"id":1,"error":{"code":1,"message":2}}`, fail: "upstream error object"},
		{name: "neither result nor error", body: `{"jsonrpc":"2.0","id":1}`, fail: "neither result nor error"},
		{name: "only error null", body: `{"jsonrpc":"2.0","id":1,"error":null}`, fail: "neither result nor error"},
		{name: "member names are case-sensitive", body: `{"jsonrpc":"2.0","id":1,"Result":1}`, fail: "neither result nor error"},
		{name: "array", body: `[{"jsonrpc":"2.0","id":1,"result":1}]`, fail: "not a JSON object"},
		{name: "number", body: `1`, fail: "not a JSON object"},
		{name: "string", body: `"x"`, fail: "not a JSON object"},
		{name: "empty", body: ``, fail: "not a JSON object"},
		{name: "html", body: `<html>502 Bad Gateway</html>`, fail: "not a JSON object"},
		{name: "truncated", body: `{"jsonrpc":"2.0","id":1,"result":"0x`, fail: "upstream answer"},
		{name: "trailing garbage", body: `{"id":1,"result":1}x`, fail: "upstream answer"},
		// Balanced but malformed results: a check that only matched
		// brackets and string ends would pass these on to a client.
		{name: "result with an empty element", body: `{"id":1,"result":[1,,2]}`, fail: "upstream answer"},
		{name: "result member without a colon", body: `{"id":1,"result":{"a" 1}}`, fail: "upstream answer"},
		{name: "result elements without a comma", body: `{"id":1,"result":["0x1" "0x2"]}`, fail: "upstream answer"},
		{name: "result with a raw control character", body: "{\"id\":1,\"result\":\"0x\n1\"}", fail: "upstream answer"},
		{name: "result with a bad escape", body: `{"id":1,"result":"\x41"}`, fail: "upstream answer"},
		{name: "result a bare word", body: `{"id":1,"result":nul}`, fail: "upstream answer"},
		{name: "result a bad number", body: `{"id":1,"result":01}`, fail: "upstream answer"},
		{name: "result with a trailing comma", body: `{"id":1,"result":{"a":1,}}`, fail: "upstream answer"},
		{name: "unknown member malformed", body: `{"id":1,"result":1,"x":[}`, fail: "upstream answer"},
		{name: "envelope trailing comma", body: `{"id":1,"result":1,}`, fail: "upstream answer"},
		{name: "nested too deep", body: `{"id":1,"result":` + strings.Repeat("[", 10000) + strings.Repeat("]", 10000) + `}`, fail: "upstream answer"},
		{name: "nested as deep as encoding/json allows", body: `{"id":1,"result":` + strings.Repeat("[", 9999) + strings.Repeat("]", 9999) + `}`,
			wantID: "1", wantResult: strings.Repeat("[", 9999) + strings.Repeat("]", 9999)},
		{name: "invalid UTF-8 passes as with json.Valid", body: "{\"id\":1,\"result\":\"\xff\"}", wantID: "1", wantResult: "\"\xff\""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, err := DecodeResponse([]byte(tt.body))
			if tt.fail != "" {
				if err == nil {
					t.Fatalf("want error %q, got %+v", tt.fail, resp)
				}
				if !strings.Contains(err.Error(), tt.fail) {
					t.Errorf("error %q does not contain %q", err, tt.fail)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if string(resp.ID) != tt.wantID || (tt.wantID == "" && resp.ID != nil) {
				t.Errorf("id = %q, want %q", resp.ID, tt.wantID)
			}
			if tt.wantErr != nil {
				if resp.Result != nil {
					t.Errorf("result %q set beside the error", resp.Result)
				}
				e := resp.Error
				if e == nil || e.Code != tt.wantErr.Code || e.Message != tt.wantErr.Message || string(e.Data) != string(tt.wantErr.Data) {
					t.Errorf("error = %+v, want %+v", e, tt.wantErr)
				}
				if tt.wantErr.Data == nil && e != nil && e.Data != nil {
					t.Errorf("data = %q, want none", e.Data)
				}
			} else {
				if resp.Error != nil {
					t.Fatalf("unexpected error %+v", resp.Error)
				}
				if string(resp.Result) != tt.wantResult {
					t.Errorf("result = %q, want %q", resp.Result, tt.wantResult)
				}
			}
			if out := resp.AppendJSON(nil); !json.Valid(out) {
				t.Errorf("re-encoding is not valid JSON: %s", out)
			}
		})
	}
}

// TestDecodeResponseTakesOverBody: the result is the upstream's bytes in
// place, not a copy (answers can be tens of megabytes).
func TestDecodeResponseTakesOverBody(t *testing.T) {
	buf := []byte(`{"jsonrpc":"2.0","id":"i","result":{"a":1}}`)
	resp, err := DecodeResponse(buf)
	if err != nil {
		t.Fatal(err)
	}
	if string(resp.Result) != `{"a":1}` {
		t.Fatalf("result %q", resp.Result)
	}
	if &resp.Result[0] != &buf[len(buf)-len(`{"a":1}}`)] {
		t.Fatal("result was copied out of the body")
	}
}

// TestUpstreamErrorPassesThrough: an upstream's error reaches the client
// with its code, message and data unchanged, under the client's id.
func TestUpstreamErrorPassesThrough(t *testing.T) {
	up, err := DecodeResponse([]byte(`{"jsonrpc":"2.0","id":99,"error":{"code":3,"message":"execution reverted","data":"0x08c379a0"}}`))
	if err != nil {
		t.Fatal(err)
	}
	got := string(ErrorResponse(json.RawMessage(`"client-id"`), FromError(up.Error)).AppendJSON(nil))
	want := `{"jsonrpc":"2.0","id":"client-id","error":{"code":3,"message":"execution reverted","data":"0x08c379a0"}}`
	if got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
}

func TestDecodeResponseFieldsDoNotShareCapacity(t *testing.T) {
	resp, err := DecodeResponse([]byte(`{"id":1,"result":"0x1"}`))
	if err != nil {
		t.Fatal(err)
	}
	_ = append(resp.ID, "!!!!!!!!!!!!"...) // shorter than what follows it in the body
	if string(resp.Result) != `"0x1"` {
		t.Errorf("appending to the id changed the result: %q", resp.Result)
	}
}
