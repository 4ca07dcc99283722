package quorum

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/braidrpc/braid/internal/jsonrpc"
)

func TestFingerprint(t *testing.T) {
	res := func(s string) *jsonrpc.Response { return &jsonrpc.Response{Result: json.RawMessage(s)} }
	same := []struct{ a, b string }{
		{`{"a":1,"b":[1,2]}`, `{ "b" : [1, 2], "a" : 1 }`},
		{`"0xab"`, ` "0xab" `},
		{`"a<b"`, `"a\u003cb"`}, // one string, two spellings
		{`{"x":{"y":"\u00e9"}}`, `{"x":{"y":"é"}}`},
		{`null`, `null`},
	}
	for _, tt := range same {
		if FingerprintOf(res(tt.a), nil) != FingerprintOf(res(tt.b), nil) {
			t.Errorf("%s and %s differ", tt.a, tt.b)
		}
	}
	differ := []struct{ a, b string }{
		{`"0xab"`, `"0xAB"`}, // hex case is not normalised
		{`1`, `1.0`},         // nor number spelling
		{`[1,2]`, `[2,1]`},   // order of arrays matters
		{`null`, `"0x"`},
		{`{"a":1}`, `{"a":1,"b":null}`},
	}
	for _, tt := range differ {
		if FingerprintOf(res(tt.a), nil) == FingerprintOf(res(tt.b), nil) {
			t.Errorf("%s and %s are the same", tt.a, tt.b)
		}
	}
	ignore := []string{"totalDifficulty"}
	a := `{"number":"0x1","totalDifficulty":"0x10","uncles":[{"totalDifficulty":"0x1"}]}`
	b := `{"number":"0x1","uncles":[{}]}`
	if FingerprintOf(res(a), ignore) != FingerprintOf(res(b), ignore) {
		t.Error("ignored fields were compared")
	}
	if FingerprintOf(res(a), nil) == FingerprintOf(res(b), nil) {
		t.Error("fields compared without ignore_fields were not")
	}
	e1 := &jsonrpc.Response{Error: &jsonrpc.Error{Code: 3, Message: "execution reverted", Data: json.RawMessage(`"0x01"`)}}
	e2 := &jsonrpc.Response{Error: &jsonrpc.Error{Code: 3, Message: "reverted", Data: json.RawMessage(`"0x01"`)}}
	e3 := &jsonrpc.Response{Error: &jsonrpc.Error{Code: 3, Message: "reverted", Data: json.RawMessage(`"0x02"`)}}
	if FingerprintOf(e1, nil) != FingerprintOf(e2, nil) || FingerprintOf(e1, nil) == FingerprintOf(e3, nil) {
		t.Error("errors are compared by code and data")
	}
	if FingerprintOf(res(`"0x01"`), nil) == FingerprintOf(e1, nil) {
		t.Error("a result equals an error")
	}
}

// FuzzCanonical checks that the fast path for plain values agrees with
// a full re-encoding, and that canonical forms are fixed points.
func FuzzCanonical(f *testing.F) {
	for _, s := range []string{`"0xab"`, `1e2`, `-0.5`, `null`, `{"b":1,"a":[true,false]}`, `"a<b"`, `"\u00e9"`, `[`, ``, `"é"`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		c := Canonical(raw, nil)
		if !json.Valid(raw) {
			return
		}
		if again := Canonical(c, nil); !bytes.Equal(again, c) {
			t.Fatalf("not a fixed point: %q → %q → %q", raw, c, again)
		}
		var v any
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.UseNumber()
		if dec.Decode(&v) != nil {
			return
		}
		full, err := json.Marshal(v)
		if err == nil && !bytes.Equal(full, c) {
			t.Fatalf("fast path %q, full encoding %q, of %q", c, full, raw)
		}
	})
}
