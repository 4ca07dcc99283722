package plan

import "github.com/braidrpc/braid/internal/config"

// Verified are the methods whose answers braid checks against headers it
// trusts in strict mode (proofs, transaction, receipt and log roots).
var Verified = map[string]bool{
	"eth_getBalance": true, "eth_getTransactionCount": true, "eth_getCode": true, "eth_getStorageAt": true,
	"eth_getProof":         true,
	"eth_getBlockByNumber": true, "eth_getBlockByHash": true,
	"eth_getTransactionByHash": true, "eth_getTransactionByBlockHashAndIndex": true,
	"eth_getTransactionByBlockNumberAndIndex": true,
	"eth_getTransactionReceipt":               true, "eth_getBlockReceipts": true,
	"eth_getLogs": true,
}

// trustedWithoutCheck are methods strict mode serves without a check
// because there is nothing a provider could falsify: braid answers them
// from the trusted tip or its own config (eth_chainId, eth_blockNumber),
// the answer is fixed by the request (eth_sendRawTransaction's hash is
// computed by braid), or the answer is a fee suggestion rather than chain
// data. Filters and subscriptions are braid's own, fed by its block stream,
// whose headers and logs are the verified ones (eth_getFilterLogs runs a
// verified eth_getLogs); pending transaction hashes are best effort from
// any upstream's pool and claim nothing about the chain.
var trustedWithoutCheck = map[string]bool{
	"eth_chainId": true, "web3_clientVersion": true, "net_version": true, "eth_blockNumber": true,
	"eth_sendRawTransaction": true,
	"eth_gasPrice":           true, "eth_maxPriorityFeePerGas": true, "eth_feeHistory": true, "eth_blobBaseFee": true,
	"eth_newFilter": true, "eth_newBlockFilter": true, "eth_newPendingTransactionFilter": true,
	"eth_getFilterChanges": true, "eth_getFilterLogs": true, "eth_uninstallFilter": true,
	"eth_subscribe": true, "eth_unsubscribe": true,
}

// WithVerify returns p enforcing v: in strict mode a method braid cannot
// check is refused unless v.AllowUnverified names it.
func (p *Planner) WithVerify(v config.Verify) *Planner {
	p.strict = v.Strict()
	p.allowUnverified = v.AllowUnverified
	return p
}

// verifyPolicy decides, in strict mode, whether method is checked
// (verify), served as is (ok), or refused.
func (p *Planner) verifyPolicy(method string) (verify, ok bool) {
	switch {
	case !p.strict:
		return false, true
	case Verified[method]:
		return true, true
	case trustedWithoutCheck[method], matchAny(p.allowUnverified, method, false):
		return false, true
	}
	return false, false
}

// ServedUnchecked reports whether strict mode v serves method without a
// check: braid needs none, or the configuration allows it.
func ServedUnchecked(v config.Verify, method string) bool {
	return !Verified[method] && (trustedWithoutCheck[method] || matchAny(v.AllowUnverified, method, false))
}
