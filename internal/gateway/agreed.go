package gateway

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/core/types"

	"github.com/braidrpc/braid/internal/archive"
	"github.com/braidrpc/braid/internal/jsonrpc"
	"github.com/braidrpc/braid/internal/plan"
	"github.com/braidrpc/braid/internal/verify"
)

// This file is the history stage's last way to a block number's canonical
// hash under a quorum (verify.mode off, quorum.k above 1): the header the
// network's quorum of operators agrees on. Providers keep headers when
// they prune bodies (EIP-4444), so go-ethereum's eth_getHeaderByNumber
// still answers for pruned blocks. Strict mode never uses it: it stays
// proof-only.

var _ archive.AgreedHeaders = (*Network)(nil)

// headerMethod is what operators are asked for a block number's header.
const headerMethod = "eth_getHeaderByNumber"

// headerQuorum is the quorum a block read by number has on this network
// (quorum.k, or the block group's or eth_getBlockByNumber's own entry):
// K 1 when there is none.
func (n *Network) headerQuorum() plan.Quorum {
	pl, err := n.planner.Plan(&jsonrpc.Request{Method: "eth_getBlockByNumber", Params: json.RawMessage(`["0x0",false]`)})
	if err != nil {
		return plan.Quorum{K: 1}
	}
	return pl.Quorum
}

// AgreedHeader is the header of block number as K distinct operators agree
// on it (the network's quorum for block reads, through the same quorum
// read as a client's), checked to hash to the hash they agree on. A
// shortfall (fewer than K agreeing, even under on_shortfall: best_effort or
// on_dispute: majority), a dispute, or an agreed error or null is an error.
func (n *Network) AgreedHeader(ctx context.Context, number uint64) (*types.Header, error) {
	q := n.headerQuorum()
	if q.K < 2 || n.strict != nil {
		return nil, errors.New("the network has no quorum of operators to agree on headers")
	}
	params, _ := json.Marshal([]any{hexutil.Uint64(number)})
	pl := &plan.Plan{Method: headerMethod, Kind: plan.Forward, Params: params, Quorum: q}
	// Upstreams whose head reached number; no HasBlock: a pruned node
	// keeps headers, so neither its learned history depth keeps it from
	// being asked nor does its answer raise that depth.
	pin := plan.Pinning{Params: params, MinHead: number, Explicit: true}
	call := routeCall(pl, pin)
	call.Class = plan.ClassBlock // a block read, as eth_getBlockByNumber is
	a, err := n.quorumRead(ctx, pl, pin, call)
	if err != nil {
		return nil, err
	}
	if a.k != 0 {
		return nil, fmt.Errorf("only %d of the %d operators needed agree on the header of block %d", a.agreed, a.k, number)
	}
	if e := a.resp.Error; e != nil {
		return nil, fmt.Errorf("the operators agree on an error for the header of block %d: %d %s", number, e.Code, e.Message)
	}
	var named struct {
		Hash *common.Hash `json:"hash"`
	}
	if err := json.Unmarshal(a.resp.Result, &named); err != nil || named.Hash == nil {
		return nil, fmt.Errorf("the operators' agreed answer for the header of block %d names no hash", number)
	}
	h, err := verify.HeaderFromJSON(a.resp.Result, *named.Hash)
	if err != nil {
		return nil, fmt.Errorf("the header of block %d the operators agree on: %w", number, err)
	}
	if h.Number == nil || !h.Number.IsUint64() || h.Number.Uint64() != number {
		return nil, fmt.Errorf("the header the operators agree on for block %d is block %v's", number, h.Number)
	}
	return h, nil
}
