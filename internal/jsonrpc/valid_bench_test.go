package jsonrpc

import (
	"encoding/json"
	"testing"
)

// The validators side by side on a 14 kB block answer (go test -bench
// Validate): json.Valid against this package's scanner.
func BenchmarkValidate(b *testing.B) {
	body := testAnswer(testBlock(16))
	b.Run("encoding-json", func(b *testing.B) {
		b.SetBytes(int64(len(body)))
		cpuLoop(b, func() {
			if !json.Valid(body) {
				b.Fatal("invalid")
			}
		})
	})
	b.Run("scanner", func(b *testing.B) {
		b.SetBytes(int64(len(body)))
		cpuLoop(b, func() {
			if !valid(body) {
				b.Fatal("invalid")
			}
		})
	})
}

// BenchmarkSkipStructural is the cheapest possible pass for comparison:
// matching brackets and string ends only (valueEnd), no grammar.
func BenchmarkSkipStructural(b *testing.B) {
	body := testAnswer(testBlock(16))
	b.SetBytes(int64(len(body)))
	cpuLoop(b, func() {
		if valueEnd(body, 0) != len(body) {
			b.Fatal("short")
		}
	})
}

// BenchmarkDecodeResponse14k is an upstream's 14 kB block answer read the
// previous way (json.Valid, then a second walk for the members) and the
// current way (one pass: DecodeResponse).
func BenchmarkDecodeResponse14k(b *testing.B) {
	body := testAnswer(testBlock(16))
	b.Run("json.Valid+fields", func(b *testing.B) {
		b.SetBytes(int64(len(body)))
		b.ReportAllocs()
		cpuLoop(b, func() {
			var f [3][]byte
			if !json.Valid(body) {
				b.Fatal("invalid")
			}
			fields(body, f[:], "id", "result", "error")
			if f[1] == nil {
				b.Fatal("no result")
			}
		})
	})
	b.Run("DecodeResponse", func(b *testing.B) {
		b.SetBytes(int64(len(body)))
		b.ReportAllocs()
		cpuLoop(b, func() {
			if r, err := DecodeResponse(body); err != nil || r.Result == nil {
				b.Fatal(err)
			}
		})
	})
}
