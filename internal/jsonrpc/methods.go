package jsonrpc

// knownMethods are the names most calls carry. A call naming one gets the
// shared string instead of a new one: decoding a call allocates less.
// Any other name is decoded as usual; this list only saves work.
var knownMethods = func() map[string]string {
	m := map[string]string{}
	for _, name := range []string{
		"eth_blockNumber", "eth_call", "eth_chainId", "eth_estimateGas", "eth_feeHistory", "eth_gasPrice",
		"eth_getBalance", "eth_getBlockByHash", "eth_getBlockByNumber", "eth_getBlockReceipts",
		"eth_getBlockTransactionCountByHash", "eth_getBlockTransactionCountByNumber", "eth_getCode",
		"eth_getFilterChanges", "eth_getFilterLogs", "eth_getLogs", "eth_getProof", "eth_getStorageAt",
		"eth_getTransactionByBlockHashAndIndex", "eth_getTransactionByBlockNumberAndIndex",
		"eth_getTransactionByHash", "eth_getTransactionCount", "eth_getTransactionReceipt",
		"eth_getUncleByBlockHashAndIndex", "eth_getUncleByBlockNumberAndIndex", "eth_getUncleCountByBlockHash",
		"eth_getUncleCountByBlockNumber", "eth_maxPriorityFeePerGas", "eth_newBlockFilter", "eth_newFilter",
		"eth_newPendingTransactionFilter", "eth_sendRawTransaction", "eth_subscribe", "eth_syncing",
		"eth_uninstallFilter", "eth_unsubscribe", "eth_blobBaseFee", "eth_createAccessList", "eth_simulateV1",
		"net_version", "net_listening", "net_peerCount", "web3_clientVersion", "web3_sha3",
		"debug_traceTransaction", "debug_traceCall", "debug_traceBlockByNumber", "debug_traceBlockByHash",
		"trace_block", "trace_transaction", "trace_filter", "trace_call", "trace_replayTransaction",
	} {
		m[name] = name
	}
	return m
}()

// methodName decodes a call's quoted method name, sharing the string of a
// known name.
func methodName(quoted []byte) (string, bool) {
	if len(quoted) >= 2 {
		if name, ok := knownMethods[string(quoted[1:len(quoted)-1])]; ok {
			return name, true
		}
	}
	return unquote(quoted)
}
