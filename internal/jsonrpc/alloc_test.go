package jsonrpc

import (
	"bytes"
	"encoding/json"
	"io"
	"strings"
	"testing"
)

func TestAppendStringEqualsMarshal(t *testing.T) {
	for _, s := range []string{"", "eth_call", "a\"b", `a\b`, "<&>", "\x00\x1f", "é", "\xff", "\u2028", strings.Repeat("x", 300)} {
		want, _ := json.Marshal(s)
		if got := appendString([]byte("pre"), s); string(got) != "pre"+string(want) {
			t.Errorf("appendString(%q) = %s, json.Marshal says %s", s, got[3:], want)
		}
	}
}

func FuzzAppendString(f *testing.F) {
	for _, s := range []string{"eth_call", "a\"b<", "\xff\x00é"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		want, _ := json.Marshal(s)
		if got := appendString(nil, s); string(got) != string(want) {
			t.Fatalf("appendString(%q) = %s, json.Marshal says %s", s, got, want)
		}
	})
}

func TestMethodNames(t *testing.T) {
	for raw, want := range map[string]string{
		`"eth_call"`:        "eth_call",
		`"eth\u005fcall"`:   "eth_call",
		`"eth_call\u0000"`:  "eth_call\x00",
		`"my_ownMethod"`:    "my_ownMethod",
		`"eth_getBalance "`: "eth_getBalance ",
	} {
		msg, bad := Decode([]byte(`{"jsonrpc":"2.0","id":1,"method":`+raw+`}`), 0)
		if bad != nil || msg.Members[0].Req.Method != want {
			t.Errorf("method %s decoded as %+v %+v, want %q", raw, msg, bad, want)
		}
	}
}

// The paths every call takes allocate only what they keep.
func TestHotPathAllocations(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts mean nothing under the race detector")
	}
	big := ResultResponse(json.RawMessage(`1`), json.RawMessage(testBlock(2)))
	small := ResultResponse(json.RawMessage(`"x"`), json.RawMessage(`"0x1"`))
	fail := ErrorResponse(json.RawMessage(`7`), &Error{Code: -32000, Message: "header not found"})
	for name, r := range map[string]*Response{"large result": big, "small result": small, "error": fail} {
		if n := testing.AllocsPerRun(100, func() { _, _ = r.WriteTo(io.Discard) }); n != 0 {
			t.Errorf("WriteTo of a %s: %v allocations, want 0", name, n)
		}
	}
	batch := []*Response{big, small, fail}
	if n := testing.AllocsPerRun(100, func() { _, _ = WriteBatch(io.Discard, batch) }); n != 0 {
		t.Errorf("WriteBatch: %v allocations, want 0", n)
	}
	call := []byte(`{"jsonrpc":"2.0","id":42,"method":"eth_getBlockByNumber","params":["0x10",false]}`)
	// The message (with its request inside) and its own copy of the bytes.
	if n := testing.AllocsPerRun(100, func() { _, _ = Decode(call, 0) }); n != 2 {
		t.Errorf("Decode of one call: %v allocations, want 2", n)
	}
	var out []byte
	if n := testing.AllocsPerRun(100, func() { out = AppendRequest(out[:0], 9, "eth_call", json.RawMessage(`[]`)) }); n != 0 {
		t.Errorf("AppendRequest: %v allocations, want 0", n)
	}
	answer := testAnswer(testBlock(2))
	// The Response, nothing else: its fields point into the answer.
	if n := testing.AllocsPerRun(100, func() { _, _ = DecodeResponse(answer) }); n != 1 {
		t.Errorf("DecodeResponse: %v allocations, want 1", n)
	}
	var w bytes.Buffer
	if _, err := big.WriteTo(&w); err != nil || w.String() != string(big.AppendJSON(nil)) {
		t.Errorf("WriteTo wrote %q, want AppendJSON's bytes", w.String())
	}
}

// ParamList splits params as json.Unmarshal into []json.RawMessage does,
// for any bytes a hand-built request may hold.
func FuzzParamList(f *testing.F) {
	for _, s := range []string{`["0x1",false]`, ` [ {"a":[1,2]} , "x" ] `, `[]`, `[1,]`, `[1 2]`, `{"a":1}`, `null`, `[` + strings.Repeat("[", 20)} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, params []byte) {
		got, err := (&Request{Params: params}).ParamList()
		trimmed := trimSpace(params)
		if len(trimmed) == 0 || string(trimmed) == "null" {
			if got != nil || err != nil {
				t.Fatalf("absent params: %q, %v", got, err)
			}
			return
		}
		if trimmed[0] != '[' {
			if err == nil {
				t.Fatalf("params %q are not an array, yet split into %q", params, got)
			}
			return
		}
		var want []json.RawMessage
		wantErr := json.Unmarshal(trimmed, &want)
		if (err == nil) != (wantErr == nil) {
			t.Fatalf("params %q: error %v, json.Unmarshal's %v", params, err, wantErr)
		}
		if err != nil {
			return
		}
		if len(got) != len(want) {
			t.Fatalf("params %q: %d elements, json.Unmarshal finds %d", params, len(got), len(want))
		}
		for i := range got {
			if string(got[i]) != string(want[i]) {
				t.Fatalf("params %q element %d: %q, json.Unmarshal's %q", params, i, got[i], want[i])
			}
		}
	})
}
