package server

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// block14k is an eth_getBlockByNumber answer with 16 full transactions,
// about 14 kB: the load comparison's large pass-through.
func block14k() string {
	h := func(b string) string { return `"0x` + strings.Repeat(b, 32) + `"` }
	var txs []string
	for i := range 16 {
		txs = append(txs, fmt.Sprintf(`{"blockHash":%s,"blockNumber":"0x1312d00","from":"0x%040x","gas":"0x5208","gasPrice":"0x4a817c800",`+
			`"maxFeePerGas":"0x4a817c800","maxPriorityFeePerGas":"0x3b9aca00","hash":"0x%064x","input":"0xa9059cbb000000000000000000000000%040x0000000000000000000000000000000000000000000000000de0b6b3a7640000",`+
			`"nonce":"0x%x","to":"0x%040x","transactionIndex":"0x%x","value":"0x0","type":"0x2","accessList":[],"chainId":"0x1","v":"0x1",`+
			`"r":"0x%064x","s":"0x%064x","yParity":"0x1"}`, h("ab"), i+1, i*7919+1, i+3, i, i+2, i, i*31+5, i*17+9))
	}
	return `{"hash":` + h("ab") + `,"logsBloom":"0x` + strings.Repeat("00", 256) + `","number":"0x1312d00","parentHash":` + h("ef") +
		`,"transactions":[` + strings.Join(txs, ",") + `],"uncles":[]}`
}

// BenchmarkHotPath14k is BenchmarkHotPath with a 14 kB answer that the
// upstream sends chunked (no Content-Length), as go-ethereum's HTTP server
// does for any answer over 2 kB.
func BenchmarkHotPath14k(b *testing.B) {
	answer := []byte(`{"jsonrpc":"2.0","id":1,"result":` + block14k() + `}`)
	chain := []byte(`{"jsonrpc":"2.0","id":1,"result":"0x1"}`)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		w.Header().Set("Content-Type", "application/json")
		if bytes.Contains(body, []byte(`"eth_chainId"`)) {
			w.Write(chain)
			return
		}
		w.Write(answer[:1024])
		w.(http.Flusher).Flush() // chunked, as a streaming JSON encoder's answer is
		w.Write(answer[1024:])
	}))
	b.Cleanup(srv.Close)
	h := benchGateway(b, srv.URL)
	body := []byte(benchRequest)
	b.ReportAllocs()
	b.SetBytes(int64(len(answer)))
	b.ResetTimer()
	defer cpuSince(b, processCPU())
	for b.Loop() {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/", bytes.NewReader(body)))
		if rec.Code != http.StatusOK || rec.Body.Len() < len(answer)-64 {
			b.Fatalf("status %d, %d bytes", rec.Code, rec.Body.Len())
		}
	}
}
