package jsonrpc

import (
	"encoding/json"
	"strings"
	"testing"
)

// validCases are inputs where a validator that skips rather than checks
// would go wrong; each must be judged as json.Valid judges it.
var validCases = []string{
	``, ` `, `{}`, `[]`, `{ }`, `[ ]`, `{"a":1}`, `{"a" : [1, 2 , {"b":null}]}`,
	`"x"`, `"\u00e9\n\"\\\/\b\f\r\t"`, `"\u00g0"`, `"\x"`, `"abc`, "\"a\x01b\"", "\"a\x7fb\"",
	"\"\xff\xfe\"", `"0123456789abcdef0123456789abcdef\"0123456789abcdef"`,
	`0`, `-0`, `01`, `-`, `1.`, `1.5`, `1e`, `1e+`, `1E-7`, `-0.0e0`, `.5`, `+1`, `1.5e3.2`,
	`true`, `tru`, `truex`, `false`, `null`, `nul`, `NULL`,
	`{"a":1,}`, `[1,]`, `[,1]`, `{,}`, `{"a"}`, `{"a":}`, `{"a" 1}`, `{1:2}`, `{"a":1 "b":2}`,
	`[1 2]`, `[1]]`, `[[1]`, `{"a":[}`, `{"a":1]`, `[}`, `1 2`, " \t\n\r[1]\r\n", "\v[1]", "[1]\f",
	`{"a":{"b":{"c":[[[]]]}}}`, `{"":""}`, `["}"]`, `["]"]`, `{"a":"\\"}`, `{"a":"\\\"}`,
	strings.Repeat("[", 10000) + strings.Repeat("]", 10000),
	strings.Repeat("[", 10001) + strings.Repeat("]", 10001),
	strings.Repeat(`{"a":`, 10000) + "1" + strings.Repeat("}", 10000),
	strings.Repeat(`{"a":`, 10000) + "{}" + strings.Repeat("}", 10000),
	strings.Repeat("[", 10000) + "[]" + strings.Repeat("]", 10000),
}

func TestValidAgreesWithEncodingJSON(t *testing.T) {
	for _, s := range validCases {
		if got, want := valid([]byte(s)), json.Valid([]byte(s)); got != want {
			t.Errorf("valid(%.60q) = %v, json.Valid says %v", s, got, want)
		}
	}
}

func FuzzValid(f *testing.F) {
	for _, s := range validCases {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if got, want := valid(b), json.Valid(b); got != want {
			t.Fatalf("valid(%q) = %v, json.Valid says %v", b, got, want)
		}
	})
}
