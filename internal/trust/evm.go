package trust

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"

	"github.com/braidrpc/braid/internal/evm"
	"github.com/braidrpc/braid/internal/jsonrpc"
	"github.com/braidrpc/braid/internal/plan"
	"github.com/braidrpc/braid/internal/route"
	"github.com/braidrpc/braid/internal/upstream"
	"github.com/braidrpc/braid/internal/verify"
)

// EVMSource is the local EVM's evm.Source over the network's operators.
// Every request is pinned to the block's hash; every answer is checked
// against the block's trusted header (proofs against its state root, code
// against the proven code hash). An answer that fails its check is a lie:
// its operator is struck (caught) and the rest is asked of the next one.
// Proofs for a call go to one operator as one batch: one round trip.
type EVMSource struct{ r *Reader }

var _ evm.Source = EVMSource{}

// EVMSource returns the local EVM's Source over this reader.
func (r *Reader) EVMSource() EVMSource { return EVMSource{r} }

// blockAt is the EIP-1898 block parameter naming block by hash.
func blockAt(h *types.Header) map[string]string {
	return map[string]string{"blockHash": h.Hash().Hex()}
}

// stateCall routes a call about state at block h: to operators holding
// it, best first, with the state's depth taken into account.
func stateCall(method string, h *types.Header) route.Call {
	return route.Call{Method: method, Class: plan.ClassState, Data: upstream.StateData,
		HasBlock: true, Block: h.Number.Uint64()}
}

// proveBatch proves queries[pending] into out with one batch to one
// operator at a time: what it could not serve or proved false goes to the
// next operator, until every query is proven.
func (s EVMSource) proveBatch(ctx context.Context, block *types.Header, queries []evm.Query, pending []int, out []evm.Proven) error {
	call := stateCall("eth_getProof", block)
	var attempts []route.Attempt
	var lastRPC *jsonrpc.Response
	lied := false
	for len(pending) > 0 {
		call.Batch = proofBatch(block, queries, pending)
		res, err := s.r.fetch.Do(ctx, call)
		if err != nil {
			var f *route.Failure
			if len(attempts) == 0 || !errors.As(err, &f) {
				return err
			}
			break // every operator was asked
		}
		if res.Unserved {
			lastRPC = res.Response
			break
		}
		op := res.Upstream.Operator
		call.Exclude = append(slices.Clip(call.Exclude), op)
		var rest []int
		var lie error
		k := 0
		for _, i := range pending {
			q := queries[i]
			proof := res.Batch[k]
			k++
			var code *jsonrpc.Response
			if q.Code {
				code = res.Batch[k]
				k++
			}
			p, err := checkProven(block, q, proof, code)
			var rpcErr *jsonrpc.Error
			switch {
			case errors.As(err, &rpcErr):
				lastRPC = &jsonrpc.Response{Error: rpcErr}
				rest = append(rest, i)
			case err != nil:
				lie = err
				rest = append(rest, i)
			default:
				out[i] = p
			}
		}
		if lie != nil {
			lied = true
			s.r.caught(op, res.Upstream, "eth_getProof", lie)
			attempts = append(attempts, route.Attempt{Operator: op, Upstream: res.Upstream.Name, Error: lie.Error()})
		} else if len(rest) > 0 {
			attempts = append(attempts, route.Attempt{Operator: op, Upstream: res.Upstream.Name, Error: lastRPC.Error.Message})
		}
		pending = rest
	}
	if len(pending) == 0 {
		return nil
	}
	if lastRPC != nil && !lied {
		return lastRPC.Error // the nodes' own answer (e.g. state pruned)
	}
	return &VerifyFailure{Method: "eth_getProof", Attempts: attempts}
}

// proofBatch is the batch asking for queries[pending] at block: each
// query's eth_getProof, followed by its eth_getCode when it asks for code.
func proofBatch(block *types.Header, queries []evm.Query, pending []int) []upstream.BatchCall {
	at := blockAt(block)
	var calls []upstream.BatchCall
	for _, i := range pending {
		q := queries[i]
		keys := make([]string, len(q.Slots))
		for j, s := range q.Slots {
			keys[j] = s.Hex()
		}
		p, _ := json.Marshal([]any{q.Address, keys, at})
		calls = append(calls, upstream.BatchCall{Method: "eth_getProof", Params: p})
		if q.Code {
			p, _ := json.Marshal([]any{q.Address, at})
			calls = append(calls, upstream.BatchCall{Method: "eth_getCode", Params: p})
		}
	}
	return calls
}

// checkProven checks one query's answers: a *jsonrpc.Error when the node
// answered with an error (it cannot serve it: not a lie), another error
// when an answer fails its check (a lie).
func checkProven(block *types.Header, q evm.Query, proof, code *jsonrpc.Response) (evm.Proven, error) {
	if proof.Error != nil {
		return evm.Proven{}, proof.Error
	}
	if code != nil && code.Error != nil {
		return evm.Proven{}, code.Error
	}
	acct, err := verify.VerifyProof(block.Root, q.Address, q.Slots, proof.Result)
	if err != nil {
		return evm.Proven{}, err
	}
	p := evm.Proven{Account: acct}
	if code == nil {
		return p, nil
	}
	var c hexutil.Bytes
	if err := json.Unmarshal(code.Result, &c); err != nil {
		return evm.Proven{}, &verify.Error{What: "code does not decode: " + err.Error()}
	}
	if err := verify.VerifyCode(acct, c); err != nil {
		return evm.Proven{}, err
	}
	p.Code = c
	return p, nil
}

// Code implements evm.Source: eth_getCode at block, checked against the
// proven code hash.
func (s EVMSource) Code(ctx context.Context, block *types.Header, address common.Address, codeHash common.Hash) ([]byte, error) {
	call := stateCall("eth_getCode", block)
	call.Params, _ = json.Marshal([]any{address, blockAt(block)})
	call.Hedge = true
	var code hexutil.Bytes
	res, err := s.r.fetchVerified(ctx, call, false, func(res *route.Result) error {
		if err := json.Unmarshal(res.Response.Result, &code); err != nil {
			return &verify.Error{What: "code does not decode: " + err.Error()}
		}
		if got := crypto.Keccak256Hash(code); got != codeHash {
			return &verify.Error{What: fmt.Sprintf("code of %s hashes to %s, its proven code hash is %s", address.Hex(), got.Hex(), codeHash.Hex())}
		}
		return nil
	})
	if err == nil && res.Response.Error != nil {
		err = res.Response.Error
	}
	if err != nil {
		return nil, err
	}
	return code, nil
}

// AccessList implements evm.Source: one operator's eth_createAccessList
// at block, a hint that is not checked (a wrong one costs round trips,
// never correctness, and is nobody's strike: nodes may differ).
func (s EVMSource) AccessList(ctx context.Context, block *types.Header, args *evm.TransactionArgs, overrides evm.StateOverride) (types.AccessList, error) {
	call := stateCall("eth_createAccessList", block)
	call.Class = plan.ClassCall
	params := []any{args, blockAt(block)}
	if len(overrides) > 0 {
		params = append(params, overrides)
	}
	call.Params, _ = json.Marshal(params)
	res, err := s.r.fetch.Do(ctx, call)
	if err != nil {
		return nil, err
	}
	if res.Response.Error != nil {
		return nil, res.Response.Error
	}
	var out struct {
		AccessList types.AccessList `json:"accessList"`
	}
	if err := json.Unmarshal(res.Response.Result, &out); err != nil {
		return nil, fmt.Errorf("access list does not decode: %w", err)
	}
	return out.AccessList, nil
}

// BlockHashes implements evm.Source: the hashes of block's ancestors at
// numbers, from verified headers reached by walking parent hashes back
// from block.
func (s EVMSource) BlockHashes(ctx context.Context, block *types.Header, numbers []uint64) ([]common.Hash, error) {
	return s.r.ancestorHashes(ctx, block, numbers)
}

// CallBlock resolves the block parameter of a call on the local EVM to
// its verified header ("pending": the trusted tip). When the block is not
// one a node would run the call on, answer is what go-ethereum answers
// instead: "header not found" above the tip, "header for hash not found"
// for a hash no operator knows.
func (r *Reader) CallBlock(ctx context.Context, raw json.RawMessage) (h *types.Header, answer *jsonrpc.Response, err error) {
	hash, err := r.Resolve(ctx, raw)
	var above *aboveTipError
	if errors.As(err, &above) {
		return nil, &jsonrpc.Response{Error: errHeaderNotFound}, nil
	} else if err != nil {
		return nil, nil, err
	}
	h, err = r.Header(ctx, hash)
	if errors.Is(err, errAllNull) {
		return nil, &jsonrpc.Response{Error: &jsonrpc.Error{Code: -32000, Message: "header for hash not found"}}, nil
	}
	return h, nil, err
}

// TipHeader is the trusted tip's verified header.
func (r *Reader) TipHeader(ctx context.Context) (*types.Header, error) {
	tip, err := r.trusted()
	if err != nil {
		return nil, err
	}
	return r.Header(ctx, tip.Hash)
}

// RangeHeaders returns the verified headers of the trusted chain's blocks
// from..to (to at most the trusted tip).
func (r *Reader) RangeHeaders(ctx context.Context, from, to uint64) ([]*types.Header, error) {
	return r.rangeHeaders(ctx, from, to)
}
