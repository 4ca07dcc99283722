package jsonrpc

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
)

// wantMember describes one decoded member: a request (method set) or an
// error answer (code set).
type wantMember struct {
	id     string // raw id; "" for a notification (Req) or as the error's id must be null
	method string
	params string // raw params; "" when absent
	code   int    // error code when the member is an error answer
	msg    string // substring of the error message
}

// encodeMember is what the server would send for m: the error answer, or a
// stand-in result for a request.
func encodeMember(m Member) []byte {
	if m.Err != nil {
		return m.Err.AppendJSON(nil)
	}
	return ResultResponse(m.Req.ID, json.RawMessage("1")).AppendJSON(nil)
}

func checkMember(t *testing.T, i int, got Member, want wantMember) {
	t.Helper()
	if (got.Req == nil) == (got.Err == nil) {
		t.Fatalf("member %d: want exactly one of Req/Err, got Req=%v Err=%v", i, got.Req, got.Err)
	}
	if want.code != 0 {
		if got.Err == nil {
			t.Fatalf("member %d: want error %d, got request %+v", i, want.code, got.Req)
		}
		if got.Err.Error == nil || got.Err.Error.Code != want.code {
			t.Fatalf("member %d: want code %d, got %+v", i, want.code, got.Err.Error)
		}
		if !strings.Contains(got.Err.Error.Message, want.msg) {
			t.Errorf("member %d: message %q does not contain %q", i, got.Err.Error.Message, want.msg)
		}
		wantID := want.id
		if wantID == "" {
			wantID = "null"
		}
		if string(got.Err.ID) != wantID {
			t.Errorf("member %d: error id = %q, want %q", i, got.Err.ID, wantID)
		}
		return
	}
	if got.Req == nil {
		t.Fatalf("member %d: want request, got error %s", i, got.Err.AppendJSON(nil))
	}
	r := got.Req
	if r.Method != want.method {
		t.Errorf("member %d: method = %q, want %q", i, r.Method, want.method)
	}
	if want.id == "" {
		if r.ID != nil || !r.IsNotification() {
			t.Errorf("member %d: want notification, got id %q", i, r.ID)
		}
	} else {
		if string(r.ID) != want.id || r.IsNotification() {
			t.Errorf("member %d: id = %q (notification %v), want %q", i, r.ID, r.IsNotification(), want.id)
		}
		out := string(encodeMember(got))
		wantOut := `{"jsonrpc":"2.0","id":` + want.id + `,"result":1}`
		if out != wantOut {
			t.Errorf("member %d: echoed %s, want %s", i, out, wantOut)
		}
	}
	if string(r.Params) != want.params {
		t.Errorf("member %d: params = %q, want %q", i, r.Params, want.params)
	}
	if want.params == "" && r.Params != nil {
		t.Errorf("member %d: params = %q, want nil", i, r.Params)
	}
}

func call(id, rest string) string {
	return `{"jsonrpc":"2.0","id":` + id + `,"method":"eth_chainId"` + rest + `}`
}

func TestDecode(t *testing.T) {
	tests := []struct {
		name     string
		body     string
		maxBatch int
		topCode  int    // a single error answer for the whole body
		topMsg   string // substring of its message
		batch    bool
		members  []wantMember
	}{
		{name: "single", body: `{"jsonrpc":"2.0","id":1,"method":"eth_blockNumber","params":[]}`,
			members: []wantMember{{id: "1", method: "eth_blockNumber", params: "[]"}}},
		{name: "single with surrounding whitespace", body: " \r\n\t" + call("1", "") + "\n ",
			members: []wantMember{{id: "1", method: "eth_chainId"}}},
		{name: "members in any order", body: `{"params":["0x1",true],"method":"eth_getBlockByNumber","id":"a","jsonrpc":"2.0"}`,
			members: []wantMember{{id: `"a"`, method: "eth_getBlockByNumber", params: `["0x1",true]`}}},
		{name: "whitespace inside kept in params", body: `{ "jsonrpc" : "2.0" , "id" : 7 , "method" : "eth_call" , "params" : [ {"to" : "0x1"} , "latest" ] }`,
			members: []wantMember{{id: "7", method: "eth_call", params: `[ {"to" : "0x1"} , "latest" ]`}}},
		{name: "object params kept", body: call("1", `,"params":{"a":1}`),
			members: []wantMember{{id: "1", method: "eth_chainId", params: `{"a":1}`}}},
		{name: "unknown members ignored", body: `{"jsonrpc":"2.0","id":1,"method":"x","extra":{"id":5}}`,
			members: []wantMember{{id: "1", method: "x"}}},
		{name: "escaped method", body: `{"jsonrpc":"2.0","id":1,"method":"eth_\u0063hainId"}`,
			members: []wantMember{{id: "1", method: "eth_chainId"}}},
		{name: "escaped member names", body: `{"\u006asonrpc":"2.0","i\u0064":3,"method":"x"}`,
			members: []wantMember{{id: "3", method: "x"}}},
		{name: "escaped version", body: `{"jsonrpc":"2\u002e0","id":1,"method":"x"}`,
			members: []wantMember{{id: "1", method: "x"}}},
		{name: "duplicate id: last wins", body: `{"jsonrpc":"2.0","id":1,"method":"x","id":2}`,
			members: []wantMember{{id: "2", method: "x"}}},

		// Notifications and null ids.
		{name: "notification", body: `{"jsonrpc":"2.0","method":"eth_chainId"}`,
			members: []wantMember{{method: "eth_chainId"}}},
		{name: "id null is owed an answer", body: call("null", ""),
			members: []wantMember{{id: "null", method: "eth_chainId"}}},
		{name: "member names are case-sensitive: Id is not id", body: `{"jsonrpc":"2.0","method":"x","Id":5}`,
			members: []wantMember{{method: "x"}}},
		{name: "member names are case-sensitive: Method", body: `{"jsonrpc":"2.0","id":1,"Method":"x"}`,
			members: []wantMember{{id: "1", code: CodeInvalidRequest, msg: "method must be a string"}}},
		{name: "member names are case-sensitive: JSONRPC", body: `{"JSONRPC":"2.0","id":1,"method":"x"}`,
			members: []wantMember{{id: "1", code: CodeInvalidRequest, msg: `missing "jsonrpc": "2.0"`}}},

		// Illegal ids: the answer's id is null.
		{name: "id object", body: call(`{"a":1}`, ""),
			members: []wantMember{{code: CodeInvalidRequest, msg: "id must be"}}},
		{name: "id array", body: call(`[1]`, ""),
			members: []wantMember{{code: CodeInvalidRequest, msg: "id must be"}}},
		{name: "id true", body: call(`true`, ""),
			members: []wantMember{{code: CodeInvalidRequest, msg: "id must be"}}},
		{name: "id false", body: call(`false`, ""),
			members: []wantMember{{code: CodeInvalidRequest, msg: "id must be"}}},
		{name: "id string with invalid UTF-8", body: call("\"a\xffb\"", ""),
			members: []wantMember{{code: CodeInvalidRequest, msg: "UTF-8"}}},

		// Not JSON at all.
		{name: "empty body", body: "", topCode: CodeParseError, topMsg: "empty body"},
		{name: "whitespace-only body", body: " \n\t\r ", topCode: CodeParseError, topMsg: "empty body"},
		{name: "truncated object", body: `{"jsonrpc":"2.0","id":1`, topCode: CodeParseError},
		{name: "trailing garbage", body: call("1", "") + "x", topCode: CodeParseError},
		{name: "two objects", body: call("1", "") + call("2", ""), topCode: CodeParseError},
		{name: "truncated batch", body: `[` + call("1", ""), topCode: CodeParseError},
		{name: "batch with trailing comma", body: `[` + call("1", "") + `,]`, topCode: CodeParseError},
		{name: "single quotes", body: `{'jsonrpc':'2.0'}`, topCode: CodeParseError},
		{name: "leading zero number id", body: call("01", ""), topCode: CodeParseError},
		{name: "plus number id", body: call("+1", ""), topCode: CodeParseError},
		{name: "NaN id", body: call("NaN", ""), topCode: CodeParseError},
		{name: "control character in string", body: "{\"jsonrpc\":\"2.0\",\"id\":\"a\nb\",\"method\":\"x\"}", topCode: CodeParseError},
		{name: "vertical tab is not JSON whitespace", body: "\v" + call("1", ""), topCode: CodeParseError},

		// Top-level values that are JSON but not a call.
		{name: "top-level number", body: `1`, members: []wantMember{{code: CodeInvalidRequest, msg: "JSON object"}}},
		{name: "top-level string", body: `"x"`, members: []wantMember{{code: CodeInvalidRequest, msg: "JSON object"}}},
		{name: "top-level null", body: `null`, members: []wantMember{{code: CodeInvalidRequest, msg: "JSON object"}}},
		{name: "top-level true", body: `true`, members: []wantMember{{code: CodeInvalidRequest, msg: "JSON object"}}},
		{name: "empty object", body: `{}`, members: []wantMember{{code: CodeInvalidRequest, msg: "jsonrpc"}}},

		// Version.
		{name: "missing jsonrpc echoes the id", body: `{"id":9,"method":"x"}`,
			members: []wantMember{{id: "9", code: CodeInvalidRequest, msg: `missing "jsonrpc": "2.0"`}}},
		{name: "jsonrpc 1.0", body: `{"jsonrpc":"1.0","id":"q","method":"x"}`,
			members: []wantMember{{id: `"q"`, code: CodeInvalidRequest, msg: `got "1.0"`}}},
		{name: "jsonrpc number", body: `{"jsonrpc":2.0,"id":9,"method":"x"}`,
			members: []wantMember{{id: "9", code: CodeInvalidRequest, msg: `got 2.0`}}},
		{name: "jsonrpc null", body: `{"jsonrpc":null,"id":9,"method":"x"}`,
			members: []wantMember{{id: "9", code: CodeInvalidRequest, msg: `got null`}}},
		{name: "jsonrpc long value truncated", body: `{"jsonrpc":"` + strings.Repeat("é", 40) + `","id":9,"method":"x"}`,
			members: []wantMember{{id: "9", code: CodeInvalidRequest, msg: `got "` + strings.Repeat("é", 15) + "…"}}},

		// Method.
		{name: "missing method", body: `{"jsonrpc":"2.0","id":1}`,
			members: []wantMember{{id: "1", code: CodeInvalidRequest, msg: "method must be a string"}}},
		{name: "method number", body: `{"jsonrpc":"2.0","id":1,"method":1}`,
			members: []wantMember{{id: "1", code: CodeInvalidRequest, msg: "method must be a string"}}},
		{name: "method null", body: `{"jsonrpc":"2.0","id":1,"method":null}`,
			members: []wantMember{{id: "1", code: CodeInvalidRequest, msg: "method must be a string"}}},
		{name: "method array", body: `{"jsonrpc":"2.0","id":1,"method":["x"]}`,
			members: []wantMember{{id: "1", code: CodeInvalidRequest, msg: "method must be a string"}}},
		{name: "method empty", body: `{"jsonrpc":"2.0","id":"e","method":""}`,
			members: []wantMember{{id: `"e"`, code: CodeInvalidRequest, msg: "non-empty"}}},
		{name: "invalid method of a notification answered with id null", body: `{"jsonrpc":"2.0","method":5}`,
			members: []wantMember{{code: CodeInvalidRequest, msg: "method must be a string"}}},

		// Params.
		{name: "params string", body: call("1", `,"params":"0x1"`),
			members: []wantMember{{id: "1", code: CodeInvalidRequest, msg: "params must be an array or an object"}}},
		{name: "params number", body: call("1", `,"params":1`),
			members: []wantMember{{id: "1", code: CodeInvalidRequest, msg: "params must be an array or an object"}}},
		{name: "params bool", body: call("1", `,"params":false`),
			members: []wantMember{{id: "1", code: CodeInvalidRequest, msg: "params must be an array or an object"}}},
		{name: "params null is absent", body: call("1", `,"params":null`),
			members: []wantMember{{id: "1", method: "eth_chainId"}}},

		// Batches.
		{name: "batch", body: `[` + call("1", "") + `,` + call(`"two"`, `,"params":[]`) + `]`, batch: true,
			members: []wantMember{{id: "1", method: "eth_chainId"}, {id: `"two"`, method: "eth_chainId", params: "[]"}}},
		{name: "batch of one", body: ` [ ` + call("1", "") + ` ] `, batch: true,
			members: []wantMember{{id: "1", method: "eth_chainId"}}},
		{name: "batch with a notification", body: `[{"jsonrpc":"2.0","method":"a"},` + call("1", "") + `]`, batch: true,
			members: []wantMember{{method: "a"}, {id: "1", method: "eth_chainId"}}},
		{name: "empty batch", body: `[]`, topCode: CodeInvalidRequest, topMsg: "empty batch"},
		{name: "empty batch with whitespace", body: " [ \n ] ", topCode: CodeInvalidRequest, topMsg: "empty batch"},
		{name: "batch at the limit", body: `[` + call("1", "") + `,` + call("2", "") + `]`, maxBatch: 2, batch: true,
			members: []wantMember{{id: "1", method: "eth_chainId"}, {id: "2", method: "eth_chainId"}}},
		{name: "batch over the limit", body: `[` + call("1", "") + `,` + call("2", "") + `,` + call("3", "") + `]`, maxBatch: 2,
			topCode: CodeInvalidRequest, topMsg: "batch of 3 calls exceeds the limit of 2"},
		{name: "no limit when maxBatch is 0", body: `[` + strings.Repeat(call("1", "")+",", 99) + call("1", "") + `]`, batch: true,
			members: repeatMember(wantMember{id: "1", method: "eth_chainId"}, 100)},
		{name: "batch of non-objects", body: `[1, {"jsonrpc":"2.0","id":1,"method":"x"}]`, batch: true,
			members: []wantMember{{code: CodeInvalidRequest, msg: "JSON object"}, {id: "1", method: "x"}}},
		{name: "batch mixing valid and invalid members", batch: true,
			body: `[` + call("1", "") + `, "x", null, [], [` + call("2", "") + `], {"jsonrpc":"1.0","id":3,"method":"x"}, {"jsonrpc":"2.0","id":{},"method":"x"}, {"jsonrpc":"2.0","id":4,"method":"y","params":7}, {"jsonrpc":"2.0","method":"n"}, ` + call(`"5"`, "") + `]`,
			members: []wantMember{
				{id: "1", method: "eth_chainId"},
				{code: CodeInvalidRequest, msg: "JSON object"},
				{code: CodeInvalidRequest, msg: "JSON object"},
				{code: CodeInvalidRequest, msg: "JSON object"},
				{code: CodeInvalidRequest, msg: "JSON object"},
				{id: "3", code: CodeInvalidRequest, msg: `"jsonrpc" must be "2.0"`},
				{code: CodeInvalidRequest, msg: "id must be"},
				{id: "4", code: CodeInvalidRequest, msg: "params must be"},
				{method: "n"},
				{id: `"5"`, method: "eth_chainId"},
			}},
		{name: "nested strings with brackets do not confuse the batch", batch: true,
			body:    `[{"jsonrpc":"2.0","id":"]\"[","method":"x","params":["}{\\",{"a":"]"}]},{"jsonrpc":"2.0","id":2,"method":"y"}]`,
			members: []wantMember{{id: `"]\"["`, method: "x", params: `["}{\\",{"a":"]"}]`}, {id: "2", method: "y"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			msg, errResp := Decode([]byte(tt.body), tt.maxBatch)
			if tt.topCode != 0 {
				if msg != nil || errResp == nil {
					t.Fatalf("want a single error %d, got message %+v", tt.topCode, msg)
				}
				if errResp.Error == nil || errResp.Error.Code != tt.topCode {
					t.Fatalf("want code %d, got %s", tt.topCode, errResp.AppendJSON(nil))
				}
				if !strings.Contains(errResp.Error.Message, tt.topMsg) {
					t.Errorf("message %q does not contain %q", errResp.Error.Message, tt.topMsg)
				}
				if string(errResp.ID) != "null" {
					t.Errorf("id = %q, want null", errResp.ID)
				}
				if out := errResp.AppendJSON(nil); !json.Valid(out) {
					t.Errorf("invalid JSON: %s", out)
				}
				return
			}
			if errResp != nil {
				t.Fatalf("unexpected error answer %s", errResp.AppendJSON(nil))
			}
			if msg.Batch != tt.batch {
				t.Errorf("Batch = %v, want %v", msg.Batch, tt.batch)
			}
			if len(msg.Members) != len(tt.members) {
				t.Fatalf("got %d members, want %d", len(msg.Members), len(tt.members))
			}
			for i, w := range tt.members {
				checkMember(t, i, msg.Members[i], w)
				if out := encodeMember(msg.Members[i]); !json.Valid(out) {
					t.Errorf("member %d: invalid JSON %s", i, out)
				}
			}
		})
	}
}

func repeatMember(w wantMember, n int) []wantMember {
	out := make([]wantMember, n)
	for i := range out {
		out[i] = w
	}
	return out
}

// TestDecodeEchoesIDs checks that every legal id reaches the answer byte for
// byte, whatever Go would make of it as a value.
func TestDecodeEchoesIDs(t *testing.T) {
	ids := []string{
		`1`, `0`, `-5`, `-0`, `"abc"`, `""`, `null`, `1e2`, `1E+2`, `-1.5e-7`,
		`12345678901234567890123456789`, `-98765432109876543210987654321.0`,
		`1.5`, `1.50`, `"\u00e9"`, `"é"`, `"\ud83d\ude00"`, `"😀"`, `"a\"b\\c\/d"`,
		`"\n\t"`, `"0x1"`, `1e999999`, `"` + strings.Repeat("z", 300) + `"`,
	}
	for _, id := range ids {
		for _, form := range []struct{ name, body string }{
			{"single", call(id, "")},
			{"batch", `[` + call(id, "") + `,` + call(id, `,"params":[]`) + `]`},
			{"id last", `{"jsonrpc":"2.0","method":"m","id":` + id + `}`},
			{"spaced", `{"jsonrpc":"2.0", "method":"m", "id" :  ` + id + "\n}"},
		} {
			msg, errResp := Decode([]byte(form.body), 0)
			if errResp != nil {
				t.Fatalf("%s %s: %s", form.name, id, errResp.AppendJSON(nil))
			}
			want := `{"jsonrpc":"2.0","id":` + id + `,"result":1}`
			for i, m := range msg.Members {
				if m.Req == nil {
					t.Fatalf("%s %s: member %d: %s", form.name, id, i, m.Err.AppendJSON(nil))
				}
				if got := string(encodeMember(m)); got != want {
					t.Errorf("%s: member %d: got %s, want %s", form.name, i, got, want)
				}
				// An error for the same request echoes the id too.
				errOut := string(ErrorResponse(m.Req.ID, Errorf(CodeInternal, "x")).AppendJSON(nil))
				if !strings.HasPrefix(errOut, `{"jsonrpc":"2.0","id":`+id+`,"error":`) || !json.Valid([]byte(errOut)) {
					t.Errorf("%s: member %d: error answer %s", form.name, i, errOut)
				}
			}
		}
	}
}

// TestDecodeDoesNotAliasBody: the caller may reuse its buffer once Decode
// has returned.
func TestDecodeDoesNotAliasBody(t *testing.T) {
	for _, body := range []string{
		`{"jsonrpc":"2.0","id":"abc","method":"eth_x","params":[1,2]}`,
		`[{"jsonrpc":"2.0","id":"abc","method":"eth_x","params":[1,2]}]`,
	} {
		buf := []byte(body)
		msg, errResp := Decode(buf, 0)
		if errResp != nil {
			t.Fatal(errResp.AppendJSON(nil))
		}
		for i := range buf {
			buf[i] = 'X'
		}
		r := msg.Members[0].Req
		if string(r.ID) != `"abc"` || r.Method != "eth_x" || string(r.Params) != "[1,2]" {
			t.Errorf("%s: request changed with the body: %q %q %q", body, r.ID, r.Method, r.Params)
		}
	}
}

func TestParamList(t *testing.T) {
	tests := []struct {
		params  string // "" = nil
		want    []string
		wantErr string
	}{
		{params: "", want: nil},
		{params: "null", want: nil},
		{params: "[]", want: []string{}},
		{params: ` [ 1 , "a" , {"b": [2]}, null ] `, want: []string{"1", `"a"`, `{"b": [2]}`, "null"}},
		{params: `{"a":1}`, wantErr: "params must be an array"},
		{params: `[1,`, wantErr: "params:"},
		{params: `"x"`, wantErr: "params must be an array"},
	}
	for _, tt := range tests {
		r := &Request{Method: "m"}
		if tt.params != "" {
			r.Params = json.RawMessage(tt.params)
		}
		got, err := r.ParamList()
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("%q: err = %v, want %q", tt.params, err, tt.wantErr)
			}
			continue
		}
		if err != nil {
			t.Errorf("%q: %v", tt.params, err)
			continue
		}
		if len(got) != len(tt.want) || (got == nil) != (tt.want == nil) {
			t.Errorf("%q: got %q, want %q", tt.params, got, tt.want)
			continue
		}
		for i := range got {
			if string(got[i]) != tt.want[i] {
				t.Errorf("%q: [%d] = %s, want %s", tt.params, i, got[i], tt.want[i])
			}
		}
	}
	// Built by hand rather than by Decode: an empty non-nil Params must not
	// panic.
	if got, err := (&Request{Params: json.RawMessage{}}).ParamList(); err != nil || got != nil {
		t.Errorf("empty params: %q, %v", got, err)
	}
}

// TestDecodeMembersDoNotShareCapacity: members of a batch share one copy of
// the body, but appending to one member's id or params must not write over
// the next member.
func TestDecodeMembersDoNotShareCapacity(t *testing.T) {
	for _, body := range []string{
		`[{"jsonrpc":"2.0","id":1,"method":"a","params":[1]},{"jsonrpc":"2.0","id":2,"method":"b","params":[2]}]`,
		`{"jsonrpc":"2.0","id":1,"params":[1],"method":"a"}`,
	} {
		msg, errResp := Decode([]byte(body), 0)
		if errResp != nil {
			t.Fatal(errResp.Error)
		}
		var reqs []*Request
		for _, m := range msg.Members {
			reqs = append(reqs, m.Req)
		}
		_ = append(reqs[0].ID, "!!!!!!!!!!!"...)     // shorter than what follows it
		_ = append(reqs[0].Params, "!!!!!!!!!!!"...) // in the body
		for i, r := range reqs {
			want := fmt.Sprintf("[%d]", i+1)
			if string(r.ID) != fmt.Sprint(i+1) || string(r.Params) != want {
				t.Errorf("%s: appending to one field changed member %d: %q %q", body, i, r.ID, r.Params)
			}
		}
	}
}
