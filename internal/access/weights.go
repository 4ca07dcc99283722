package access

import (
	"slices"
	"strings"
)

// defaultWeights are the credits a call costs against a daily quota,
// by method (or prefix ending in "*"). They follow how providers count
// compute units: what braid answers itself or a node answers from memory
// is nearly free, state reads cost a few tens, log scans and estimates
// more, traces the most. auth.weights adds to and overrides them.
var defaultWeights = map[string]int64{
	// Answered by braid, or keep-alives libraries send constantly.
	"eth_chainId":         0,
	"net_version":         0,
	"web3_clientVersion":  0,
	"net_listening":       0,
	"eth_syncing":         0,
	"web3_sha3":           0,
	"eth_unsubscribe":     0,
	"eth_uninstallFilter": 0,

	"eth_blockNumber":                 10,
	"eth_gasPrice":                    10,
	"eth_maxPriorityFeePerGas":        10,
	"eth_blobBaseFee":                 10,
	"eth_feeHistory":                  10,
	"eth_subscribe":                   10,
	"eth_getFilterChanges":            20,
	"eth_newFilter":                   20,
	"eth_newBlockFilter":              20,
	"eth_newPendingTransactionFilter": 20,

	"eth_getBalance":          20,
	"eth_getCode":             20,
	"eth_getStorageAt":        20,
	"eth_getTransactionCount": 20,
	"eth_getProof":            25,
	"eth_call":                20,
	"eth_createAccessList":    40,
	"eth_estimateGas":         80,

	"eth_getBlockByNumber":                    20,
	"eth_getBlockByHash":                      20,
	"eth_getTransactionByHash":                20,
	"eth_getTransactionByBlockHashAndIndex":   20,
	"eth_getTransactionByBlockNumberAndIndex": 20,
	"eth_getTransactionReceipt":               20,
	"eth_getBlockTransactionCountByHash":      20,
	"eth_getBlockTransactionCountByNumber":    20,
	"eth_getUncleCountByBlockHash":            20,
	"eth_getUncleCountByBlockNumber":          20,
	"eth_getBlockReceipts":                    100,

	"eth_getLogs":       75,
	"eth_getFilterLogs": 75,
	"eth_simulateV1":    100,

	"eth_sendRawTransaction":     250,
	"eth_sendTransaction":        250,
	"eth_sendRawTransactionSync": 250,

	"trace_*":  300,
	"debug_*":  300,
	"txpool_*": 100,
}

// Weights price calls in credits.
type Weights struct {
	exact    map[string]int64
	prefixes []prefixWeight // longest first
	fallback int64
}

type prefixWeight struct {
	prefix string
	weight int64
}

// NewWeights returns braid's table with overrides applied; methods
// neither names cost fallback.
func NewWeights(overrides map[string]int64, fallback int64) *Weights {
	w := &Weights{exact: make(map[string]int64), fallback: fallback}
	prefixes := make(map[string]int64)
	for _, table := range []map[string]int64{defaultWeights, overrides} {
		for m, c := range table {
			if p, ok := strings.CutSuffix(m, "*"); ok {
				prefixes[p] = c
			} else {
				w.exact[m] = c
			}
		}
	}
	for p, c := range prefixes {
		w.prefixes = append(w.prefixes, prefixWeight{p, c})
	}
	// Longest prefix first, so "debug_trace*" beats "debug_*".
	slices.SortFunc(w.prefixes, func(a, b prefixWeight) int { return len(b.prefix) - len(a.prefix) })
	return w
}

// Of returns the credits of one call of method.
func (w *Weights) Of(method string) int64 {
	if c, ok := w.exact[method]; ok {
		return c
	}
	for _, p := range w.prefixes {
		if strings.HasPrefix(method, p.prefix) {
			return p.weight
		}
	}
	return w.fallback
}
