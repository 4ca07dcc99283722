package jsonrpc

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
)

const benchCall = `{"jsonrpc":"2.0","id":42,"method":"eth_call","params":[{"to":"0x6b175474e89094c44da98b954eedeac495271d0f","data":"0x70a08231000000000000000000000000ab5801a7d398351b8be11c439e05c5b3259aec9b"},"latest"]}`

func BenchmarkDecodeSingle(b *testing.B) {
	body := []byte(benchCall)
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		msg, errResp := Decode(body, 0)
		if errResp != nil || msg.Members[0].Req == nil {
			b.Fatal("decode failed")
		}
	}
}

func BenchmarkDecodeBatch100(b *testing.B) {
	parts := make([]string, 100)
	for i := range parts {
		parts[i] = strings.Replace(benchCall, `"id":42`, fmt.Sprintf(`"id":%d`, i), 1)
	}
	body := []byte("[" + strings.Join(parts, ",") + "]")
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		msg, errResp := Decode(body, 1000)
		if errResp != nil || len(msg.Members) != 100 || msg.Members[99].Req == nil {
			b.Fatal("decode failed")
		}
	}
}

func BenchmarkAppendJSON(b *testing.B) {
	result := json.RawMessage(`"0x00000000000000000000000000000000000000000000000000000000000f4240"`)
	ok := ResultResponse(json.RawMessage(`42`), result)
	fail := ErrorResponse(json.RawMessage(`"abc"`), &Error{Code: 3, Message: "execution reverted: \"insufficient\"", Data: json.RawMessage(`"0x08c379a0"`)})
	buf := make([]byte, 0, 512)
	b.ReportAllocs()
	for b.Loop() {
		buf = ok.AppendJSON(buf[:0])
		buf = fail.AppendJSON(buf)
	}
}

func BenchmarkDecodeResponse(b *testing.B) {
	body := []byte(`{"jsonrpc":"2.0","id":7,"result":{"number":"0x10d4f","hash":"0xdc0818cf78f21a8e70579cb46a43643f78291264dda342ae31049421c82d21ae","transactions":["0x1","0x2","0x3"]}}`)
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		if _, err := DecodeResponse(body); err != nil {
			b.Fatal(err)
		}
	}
}
