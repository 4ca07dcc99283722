//go:build goexperiment.jsonv2

package jsonrpc

import (
	"bytes"
	"encoding/json/jsontext"
	"io"
	"testing"
)

// BenchmarkValidateJSONv2 measures encoding/json/v2's tokenizer
// (GOEXPERIMENT=jsonv2) validating the same 14 kB answer.
func BenchmarkValidateJSONv2(b *testing.B) {
	body := testAnswer(testBlock(16))
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	b.Run("jsontext-Value.IsValid", func(b *testing.B) {
		b.SetBytes(int64(len(body)))
		cpuLoop(b, func() {
			if !jsontext.Value(body).IsValid() {
				b.Fatal("invalid")
			}
		})
	})
	b.Run("jsontext-Decoder.SkipValue", func(b *testing.B) {
		b.SetBytes(int64(len(body)))
		b.ReportAllocs()
		dec := jsontext.NewDecoder(bytes.NewReader(body))
		for b.Loop() {
			dec.Reset(bytes.NewReader(body))
			if err := dec.SkipValue(); err != nil {
				b.Fatal(err)
			}
			if _, err := dec.ReadToken(); err != io.EOF {
				b.Fatal(err)
			}
		}
	})
}
