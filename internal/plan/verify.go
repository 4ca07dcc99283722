package plan

import (
	"fmt"
	"slices"

	"github.com/braidrpc/braid/internal/config"
	"github.com/braidrpc/braid/internal/jsonrpc"
)

// Proof is how strict mode stands behind a method's answer.
type Proof string

const (
	// Proven answers are checked against a header braid trusts: Merkle
	// proofs, transaction, receipt and log roots, or a local EVM run over
	// proven state.
	Proven Proof = "proven"
	// Derived answers are computed by braid from what it trusts (the
	// trusted tip and verified headers, its configuration) or fixed by the
	// request itself; no operator's word is in them.
	Derived Proof = "derived"
	// QuorumOnly answers are the operators' word, under the network's
	// quorum (and, where braid proves a part, bounded by it): the answer
	// says so in its Braid-Proof header.
	QuorumOnly Proof = "quorum_only"
	// Refused methods are answered with -32046 and the reason.
	Refused Proof = "refused"
)

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

// Executed are the methods strict mode answers on its local EVM over
// proven state (verify.evm).
var Executed = map[string]bool{"eth_call": true, "eth_estimateGas": true, "eth_createAccessList": true}

// derived are methods strict mode answers from what braid trusts, with no
// operator's word in the answer: braid's configuration (eth_chainId,
// web3_clientVersion), the trusted tip (eth_blockNumber), verified headers
// (eth_blobBaseFee), the request (eth_sendRawTransaction's hash is
// computed by braid), and filters and subscriptions braid keeps from its
// block stream, whose headers and logs are the verified ones.
var derived = map[string]bool{
	"eth_chainId": true, "web3_clientVersion": true, "eth_blockNumber": true, "eth_blobBaseFee": true,
	"eth_sendRawTransaction": true,
	"eth_newFilter":          true, "eth_newBlockFilter": true,
	"eth_getFilterChanges": true, "eth_getFilterLogs": true, "eth_uninstallFilter": true,
	"eth_subscribe": true, "eth_unsubscribe": true,
}

// quorumOnly are methods strict mode serves on the operators' word under
// the network's quorum, because the chain holds no answer to prove: a
// priority fee is a suggestion (the operators' median; the base fee of
// eth_gasPrice and eth_feeHistory comes from verified headers), the
// pending pool is each node's own, net_version is the node's network id.
var quorumOnly = map[string]bool{
	"net_version":  true,
	"eth_gasPrice": true, "eth_maxPriorityFeePerGas": true, "eth_feeHistory": true,
	"eth_newPendingTransactionFilter": true,
}

// refusedWhy says why strict mode refuses a method braid knows.
var refusedWhy = map[string]string{
	"eth_syncing":   "it is a node's own sync state, which nothing on chain proves",
	"net_listening": "it is a node's own network state, which nothing on chain proves",
	"net_peerCount": "it is a node's own network state, which nothing on chain proves",
}

// WithVerify returns p enforcing v: in strict mode a method braid cannot
// check is refused unless v.AllowUnverified names it, a method braid does
// not know is answered -32601 as a node answers it.
func (p *Planner) WithVerify(v config.Verify) *Planner {
	p.strict = v.Strict()
	p.allowUnverified = v.AllowUnverified
	p.evmOff = ""
	if !v.EVM.On() {
		p.evmOff = "the local EVM is off (verify.evm.enabled: false)"
	}
	return p
}

// WithoutEVM makes strict mode refuse the methods of the local EVM, for
// reason (e.g. no chain configuration for the network), unless
// verify.allow_unverified names them.
func (p *Planner) WithoutEVM(reason string) *Planner {
	p.evmOff = reason
	return p
}

// ProofOf is how strict mode stands behind method's answer on this
// planner's network, and for a refused one why.
func (p *Planner) ProofOf(method string) (Proof, string) {
	switch {
	case Verified[method]:
		return Proven, ""
	case Executed[method] && p.evmOff == "":
		return Proven, ""
	case derived[method]:
		return Derived, ""
	case quorumOnly[method], matchAny(p.allowUnverified, method, false):
		return QuorumOnly, ""
	case Executed[method]:
		return Refused, fmt.Sprintf("%s is answered by braid's local EVM, and %s", method, p.evmOff)
	}
	if why, ok := refusedWhy[method]; ok {
		return Refused, why
	}
	if Lookup(method) != nil {
		return Refused, "braid cannot check its answer"
	}
	return Refused, ""
}

// verifyPolicy decides, in strict mode, whether method is checked
// (verify), served as is (nil error), or refused: -32601 for a method
// braid does not know (as a node answers it), -32046 with the reason for
// one it cannot check.
func (p *Planner) verifyPolicy(method string) (verify bool, err *jsonrpc.Error) {
	if !p.strict {
		return false, nil
	}
	proof, why := p.ProofOf(method)
	switch {
	case proof == Proven:
		return true, nil
	case proof != Refused:
		return false, nil
	case why == "":
		return false, jsonrpc.Errorf(jsonrpc.CodeMethodNotFound, "the method %s does not exist/is not available", method)
	}
	return false, jsonrpc.Errorf(jsonrpc.CodeUnverifiable,
		"%s is refused: %s, and this endpoint returns only verified answers (verify: strict); list it in verify.allow_unverified to serve it unchecked",
		method, why)
}

// MethodProofs lists, per class, the methods braid knows and how strict
// mode answers them on this planner's network (for /status), with the
// reason for each refused one; methods verify.allow_unverified names by
// pattern are listed as their patterns. Methods braid does not know are
// answered -32601.
type MethodProofs struct {
	Proven     []string          `json:"proven"`
	Derived    []string          `json:"derived"`
	QuorumOnly []string          `json:"quorum_only"`
	Refused    map[string]string `json:"refused"`
}

// Proofs returns the planner's MethodProofs (strict mode; nil otherwise).
func (p *Planner) Proofs() *MethodProofs {
	if !p.strict {
		return nil
	}
	out := &MethodProofs{Refused: map[string]string{}}
	names := make([]string, 0, len(methods))
	for name := range methods {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		switch proof, why := p.ProofOf(name); proof {
		case Proven:
			out.Proven = append(out.Proven, name)
		case Derived:
			out.Derived = append(out.Derived, name)
		case QuorumOnly:
			out.QuorumOnly = append(out.QuorumOnly, name)
		default:
			out.Refused[name] = why
		}
	}
	for _, pat := range p.allowUnverified {
		if methods[pat] == nil {
			out.QuorumOnly = append(out.QuorumOnly, pat)
		}
	}
	return out
}

// ServedUnchecked reports whether strict mode v serves method on the
// operators' word (QuorumOnly): braid cannot prove its answer and the
// method table or the configuration serves it anyway.
func ServedUnchecked(v config.Verify, method string) bool {
	p := (&Planner{}).WithVerify(v)
	proof, _ := p.ProofOf(method)
	return proof == QuorumOnly
}
