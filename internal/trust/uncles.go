package trust

import (
	"context"
	"encoding/json"
	"slices"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/core/types"

	"github.com/braidrpc/braid/internal/plan"
	"github.com/braidrpc/braid/internal/route"
	"github.com/braidrpc/braid/internal/upstream"
	"github.com/braidrpc/braid/internal/verify"
)

const uncleMethod = "eth_getUncleByBlockHashAndIndex"

// blockUncles returns the verified uncle headers of the block of header h
// (before the merge a block may name up to two): each fetched by index
// until a null, the whole checked by verify.VerifyUncles against h's
// uncle hash. A block that commits to no uncles has none, without a
// fetch. Uncles that do not check out are a VerifyFailure and cost no
// operator a strike: the headers may come from several operators, so the
// check cannot tell which one lied. A block answer's uncle list is then
// checked against them (checkUncles), and there a lie is the answerer's.
func (r *Reader) blockUncles(ctx context.Context, h *types.Header) ([]*types.Header, error) {
	if h.UncleHash == types.EmptyUncleHash {
		return nil, nil
	}
	var (
		raws     []json.RawMessage
		attempts []route.Attempt
	)
	for i := range verify.MaxUncles {
		res, err := r.fetch.Do(ctx, route.Call{Method: uncleMethod, Params: hashParams(h.Hash(), hexutil.Uint64(i)),
			Class: plan.ClassBlock, Data: upstream.HistoryData})
		if err != nil {
			return nil, err
		}
		attempts = append(attempts, route.Attempt{Operator: res.Upstream.Operator, Upstream: res.Upstream.Name})
		if res.Response.Error != nil {
			return nil, &rpcAnswer{res.Response}
		}
		if string(res.Response.Result) == "null" {
			break
		}
		raws = append(raws, res.Response.Result)
	}
	uncles, err := verify.VerifyUncles(h, raws)
	if err != nil {
		for i := range attempts {
			attempts[i].Error = err.Error()
		}
		return nil, &VerifyFailure{Method: uncleMethod, Attempts: attempts}
	}
	return uncles, nil
}

func uncleHashes(uncles []*types.Header) []common.Hash {
	hashes := make([]common.Hash, len(uncles))
	for i, u := range uncles {
		hashes[i] = u.Hash()
	}
	return hashes
}

// checkUncles checks that a block answer (already checked by verify, so
// its "uncles" is a list of hashes) lists exactly the verified uncles, in
// order.
func checkUncles(raw json.RawMessage, want []common.Hash) error {
	var b struct {
		Uncles []common.Hash `json:"uncles"`
	}
	if err := json.Unmarshal(raw, &b); err != nil {
		return &verify.Error{What: "block uncles: " + err.Error()}
	}
	if !slices.Equal(b.Uncles, want) {
		return &verify.Error{What: "the block's uncle list is not the uncles its header commits to"}
	}
	return nil
}
