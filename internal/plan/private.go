package plan

import "strings"

// nodePrivate are the methods that use or change a node's own keys or
// its administration rather than read or send to the chain: the
// namespaces that manage the node itself (admin, personal, miner, engine,
// clique, les), signing with the node's accounts (eth_sign*,
// eth_sendTransaction, eth_resend), and the debug methods that change the
// node (go-ethereum's debug_setHead, profiling and tuning). On an endpoint
// others use they are refused unless methods.allow names them (see
// privateAllowed). Read-only debug methods (debug_trace*, …) are not here.
// Patterns ending in "*" are prefixes; all match regardless of case, as
// providers may resolve names case-insensitively.
var nodePrivate = []string{
	"admin_*", "personal_*", "miner_*", "engine_*", "clique_*", "les_*",
	"eth_sign*", // eth_sign, eth_signTransaction, eth_signTypedData (_v1, _v3, _v4)
	"eth_sendTransaction", "eth_resend",
	"debug_setHead", "debug_chaindbCompact", "debug_setTrieFlushInterval", "debug_clearTxpool",
	"debug_verbosity", "debug_vmodule", "debug_setGCPercent", "debug_setMemoryLimit", "debug_freeOSMemory",
	"debug_cpuProfile", "debug_startCPUProfile", "debug_stopCPUProfile",
	"debug_goTrace", "debug_startGoTrace", "debug_stopGoTrace",
	"debug_blockProfile", "debug_setBlockProfileRate", "debug_writeBlockProfile",
	"debug_mutexProfile", "debug_setMutexProfileFraction", "debug_writeMutexProfile",
	"debug_writeMemProfile",
}

// privatePattern returns the nodePrivate pattern method falls under.
func privatePattern(method string) (string, bool) {
	for _, p := range nodePrivate {
		if matchAny([]string{p}, method, true) {
			return p, true
		}
	}
	return "", false
}

// privateAllowed reports whether the allow list lets a node-private
// method through: an entry must name it exactly, or be a prefix pattern
// within its group ("admin_*", "eth_sign*", "debug_setHead"). A broader
// pattern ("eth_*", "debug_*", "*") does not: an operator who allows a
// namespace for its reads has not decided to expose the node's keys.
func privateAllowed(allow []string, method, group string) bool {
	groupPrefix := strings.TrimSuffix(group, "*")
	for _, a := range allow {
		prefix, isPrefix := strings.CutSuffix(a, "*")
		switch {
		case !isPrefix:
			if a == method {
				return true
			}
		case strings.HasPrefix(method, prefix) && len(prefix) >= len(groupPrefix):
			return true
		}
	}
	return false
}
