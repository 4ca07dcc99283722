package jsonrpc

import (
	"fmt"
	"strings"
)

// testBlock is an eth_getBlockByNumber answer with full transactions,
// shaped like a mainnet block's: n transactions of about 600 bytes each
// (n = 16 gives a 14 kB answer, the load comparison's).
func testBlock(n int) string {
	h := func(b string) string { return `"0x` + strings.Repeat(b, 32) + `"` }
	var txs []string
	for i := range n {
		txs = append(txs, fmt.Sprintf(`{"blockHash":%s,"blockNumber":"0x1312d00","from":"0x%040x","gas":"0x5208","gasPrice":"0x4a817c800",`+
			`"maxFeePerGas":"0x4a817c800","maxPriorityFeePerGas":"0x3b9aca00","hash":"0x%064x","input":"0xa9059cbb000000000000000000000000%040x0000000000000000000000000000000000000000000000000de0b6b3a7640000",`+
			`"nonce":"0x%x","to":"0x%040x","transactionIndex":"0x%x","value":"0x0","type":"0x2","accessList":[],"chainId":"0x1","v":"0x1",`+
			`"r":"0x%064x","s":"0x%064x","yParity":"0x1"}`, h("ab"), i+1, i*7919+1, i+3, i, i+2, i, i*31+5, i*17+9))
	}
	return `{"baseFeePerGas":"0x7","difficulty":"0x0","extraData":"0x","gasLimit":"0x1c9c380","gasUsed":"0x5208","hash":` + h("ab") +
		`,"logsBloom":"0x` + strings.Repeat("00", 256) + `","miner":"0x` + strings.Repeat("00", 20) + `","mixHash":` + h("cd") +
		`,"nonce":"0x0000000000000000","number":"0x1312d00","parentHash":` + h("ef") + `,"receiptsRoot":` + h("12") +
		`,"sha3Uncles":` + h("34") + `,"size":"0x2a1","stateRoot":` + h("56") + `,"timestamp":"0x6553f100","transactions":[` +
		strings.Join(txs, ",") + `],"transactionsRoot":` + h("9a") + `,"uncles":[],"withdrawals":[],"withdrawalsRoot":` + h("bc") + `}`
}

// testAnswer wraps result in an upstream's envelope.
func testAnswer(result string) []byte {
	return []byte(`{"jsonrpc":"2.0","id":7,"result":` + result + `}`)
}
