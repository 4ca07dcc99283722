package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
)

// The fake upstream: a chain that never moves, answering the calls the
// scenarios and braid's head poll make, as fast as a Go HTTP server can.
// Like go-ethereum's server it sends answers over 2 kB chunked (no
// Content-Length): net/http does so for any body larger than its buffer.

const (
	headNumber  = 100_000
	chainIDHex  = "0x1"
	blockTxs    = 16 // full transactions per block: about 14 kB
	balanceHex  = `"0x1bc16d674ec80000"`
	finalityLag = 64
)

// blockHash is block n's hash: distinct per number, linking each block to
// its parent.
func blockHash(n uint64) string { return fmt.Sprintf("0x%064x", n+0xb0a1d) }

// blockJSON is block n with full transactions (full) or their hashes.
func blockJSON(n uint64, full bool) string {
	h := func(b string) string { return `"0x` + strings.Repeat(b, 32) + `"` }
	txs := make([]string, blockTxs)
	for i := range txs {
		hash := fmt.Sprintf(`"0x%064x"`, n<<8|uint64(i))
		if !full {
			txs[i] = hash
			continue
		}
		txs[i] = fmt.Sprintf(`{"blockHash":"%s","blockNumber":"0x%x","from":"0x%040x","gas":"0x5208","gasPrice":"0x4a817c800",`+
			`"maxFeePerGas":"0x4a817c800","maxPriorityFeePerGas":"0x3b9aca00","hash":%s,"input":"0xa9059cbb000000000000000000000000%040x0000000000000000000000000000000000000000000000000de0b6b3a7640000",`+
			`"nonce":"0x%x","to":"0x%040x","transactionIndex":"0x%x","value":"0x0","type":"0x2","accessList":[],"chainId":"0x1","v":"0x1",`+
			`"r":"0x%064x","s":"0x%064x","yParity":"0x1"}`, blockHash(n), n, i+1, hash, i+3, i, i+2, i, n*31+uint64(i), n*17+uint64(i))
	}
	return fmt.Sprintf(`{"baseFeePerGas":"0x7","difficulty":"0x0","extraData":"0x","gasLimit":"0x1c9c380","gasUsed":"0x5208",`+
		`"hash":"%s","logsBloom":"0x%s","miner":"0x%040x","mixHash":%s,"nonce":"0x0000000000000000","number":"0x%x","parentHash":"%s",`+
		`"receiptsRoot":%s,"sha3Uncles":%s,"size":"0x36b0","stateRoot":%s,"timestamp":"0x%x","totalDifficulty":"0x0","transactions":[%s],`+
		`"transactionsRoot":%s,"uncles":[],"withdrawals":[],"withdrawalsRoot":%s}`,
		blockHash(n), strings.Repeat("00", 256), 0, h("cd"), n, blockHash(n-1), h("12"), h("34"), h("56"), 1_700_000_000+12*n,
		strings.Join(txs, ","), h("9a"), h("bc"))
}

// fakeUpstream answers JSON-RPC calls over HTTP.
type fakeUpstream struct {
	mu     sync.Mutex
	blocks map[string][]byte // "n/full" → result bytes, built once
}

func newFakeUpstream() *fakeUpstream { return &fakeUpstream{blocks: map[string][]byte{}} }

type rpcCall struct {
	ID     json.RawMessage   `json:"id"`
	Method string            `json:"method"`
	Params []json.RawMessage `json:"params"`
}

func (f *fakeUpstream) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return
	}
	w.Header().Set("Content-Type", "application/json")
	if len(body) > 0 && body[0] == '[' {
		var calls []rpcCall
		if err := json.Unmarshal(body, &calls); err != nil {
			http.Error(w, "bad batch", http.StatusBadRequest)
			return
		}
		out := []byte{'['}
		for i, c := range calls {
			if i > 0 {
				out = append(out, ',')
			}
			out = f.answer(out, c)
		}
		_, _ = w.Write(append(out, ']'))
		return
	}
	var c rpcCall
	if err := json.Unmarshal(body, &c); err != nil {
		http.Error(w, "bad call", http.StatusBadRequest)
		return
	}
	_, _ = w.Write(f.answer(nil, c))
}

// answer appends the answer to c.
func (f *fakeUpstream) answer(dst []byte, c rpcCall) []byte {
	id := c.ID
	if len(id) == 0 {
		id = json.RawMessage("null")
	}
	dst = append(dst, `{"jsonrpc":"2.0","id":`...)
	dst = append(dst, id...)
	dst = append(dst, `,"result":`...)
	switch c.Method {
	case "eth_chainId":
		dst = append(dst, `"`+chainIDHex+`"`...)
	case "net_version":
		dst = append(dst, `"1"`...)
	case "eth_blockNumber":
		dst = append(dst, `"0x`+strconv.FormatUint(headNumber, 16)+`"`...)
	case "eth_getBalance", "eth_getTransactionCount", "eth_call":
		dst = append(dst, balanceHex...)
	case "eth_getBlockByNumber", "eth_getBlockByHash":
		dst = append(dst, f.block(c)...)
	default:
		dst = dst[:len(dst)-len(`,"result":`)]
		dst = append(dst, `,"error":{"code":-32601,"message":"the method `+c.Method+` does not exist/is not available"}`...)
	}
	return append(dst, '}')
}

// block answers eth_getBlockByNumber and eth_getBlockByHash.
func (f *fakeUpstream) block(c rpcCall) []byte {
	n, ok := uint64(0), false
	if len(c.Params) > 0 {
		n, ok = blockNumberOf(c.Params[0], c.Method == "eth_getBlockByHash")
	}
	if !ok {
		return []byte("null")
	}
	full := len(c.Params) > 1 && string(c.Params[1]) == "true"
	key := strconv.FormatUint(n, 10) + "/" + strconv.FormatBool(full)
	f.mu.Lock()
	defer f.mu.Unlock()
	b, ok := f.blocks[key]
	if !ok {
		b = []byte(blockJSON(n, full))
		if len(f.blocks) < 4096 { // memory runs ask for many: keep only the first
			f.blocks[key] = b
		}
	}
	return b
}

// blockNumberOf reads a block tag, number or (byHash) hash; false for
// a block this chain does not have.
func blockNumberOf(raw json.RawMessage, byHash bool) (uint64, bool) {
	var s string
	if json.Unmarshal(raw, &s) != nil {
		var obj struct {
			BlockHash   string `json:"blockHash"`
			BlockNumber string `json:"blockNumber"`
		}
		if json.Unmarshal(raw, &obj) != nil {
			return 0, false
		}
		if obj.BlockHash != "" {
			s, byHash = obj.BlockHash, true
		} else {
			s = obj.BlockNumber
		}
	}
	if byHash {
		v, err := strconv.ParseUint(strings.TrimPrefix(s, "0x"), 16, 64)
		if err != nil || v < 0xb0a1d || v-0xb0a1d > headNumber {
			return 0, false
		}
		return v - 0xb0a1d, true
	}
	switch s {
	case "latest", "pending", "":
		return headNumber, true
	case "safe":
		return headNumber - finalityLag/2, true
	case "finalized":
		return headNumber - finalityLag, true
	case "earliest":
		return 0, true
	}
	v, err := strconv.ParseUint(strings.TrimPrefix(s, "0x"), 16, 64)
	if err != nil || v > headNumber {
		return 0, false
	}
	return v, true
}
