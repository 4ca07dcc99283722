package gateway

import (
	"context"

	"github.com/braidrpc/braid/internal/jsonrpc"
	"github.com/braidrpc/braid/internal/plan"
)

// verified answers a call whose answer must be checked (strict mode): on
// the local EVM for eth_call and its kin, the pending nonce from proven
// and pooled counts, state reads at "pending" at the trusted tip, and
// everything else through the verified reader.
func (n *Network) verified(ctx context.Context, pl *plan.Plan) (*jsonrpc.Response, error) {
	switch pl.Method {
	case "eth_call", "eth_estimateGas", "eth_createAccessList":
		return n.verifiedCall(ctx, pl)
	case "eth_getTransactionCount":
		if len(pl.Args) > 1 && isPendingTag(pl.Args[1]) {
			return n.pendingNonce(ctx, pl)
		}
	case "eth_getBalance", "eth_getCode", "eth_getStorageAt", "eth_getProof":
		pl = pendingAtTip(ctx, pl)
	}
	return n.trust.Read(ctx, pl)
}
