package trust

import (
	"context"
	"encoding/json"
	"errors"

	"github.com/braidrpc/braid/internal/jsonrpc"
	"github.com/braidrpc/braid/internal/plan"
	"github.com/braidrpc/braid/internal/route"
	"github.com/braidrpc/braid/internal/upstream"
	"github.com/braidrpc/braid/internal/verify"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/core/types"
)

// verifiedState answers an account or storage read from eth_getProof
// pinned to the block's hash and proven against its state root. Code is
// fetched alongside the proof and checked against the proven code hash.
func (r *Reader) verifiedState(ctx context.Context, pl *plan.Plan) (json.RawMessage, error) {
	if len(pl.Args) == 0 {
		return nil, jsonrpc.Errorf(jsonrpc.CodeInvalidParams, "invalid params: %s needs an address", pl.Method)
	}
	var addr common.Address
	if err := json.Unmarshal(pl.Args[0], &addr); err != nil {
		return nil, jsonrpc.Errorf(jsonrpc.CodeInvalidParams, "invalid params: address: %v", err)
	}
	blockIdx := pl.Spec.BlockParam
	slots, keysParam, err := stateSlots(pl)
	if err != nil {
		return nil, err
	}
	var blockArg json.RawMessage
	if blockIdx >= 0 && blockIdx < len(pl.Args) {
		blockArg = pl.Args[blockIdx]
	}
	hash, err := r.Resolve(ctx, blockArg)
	if err != nil {
		return nil, err
	}
	h, err := r.Header(ctx, hash)
	if errors.Is(err, errAllNull) {
		return nil, jsonrpc.Errorf(jsonrpc.CodeInvalidParams, "block %s is not known to any operator", hash.Hex())
	} else if err != nil {
		return nil, err
	}
	at := json.RawMessage(`{"blockHash":"` + hash.Hex() + `"}`)
	proofParams, _ := json.Marshal([]json.RawMessage{pl.Args[0], keysParam, at})

	// eth_getCode: the code goes out alongside the proof.
	var codeCh chan codeAnswer
	codeCall := route.Call{Method: "eth_getCode", Class: plan.ClassState, Data: upstream.StateData, Hedge: true}
	if pl.Method == "eth_getCode" {
		codeCall.Params, _ = json.Marshal([]json.RawMessage{pl.Args[0], at})
		codeCh = make(chan codeAnswer, 1)
		go func() {
			res, err := r.fetch.Do(ctx, codeCall)
			codeCh <- codeAnswer{res, err}
		}()
	}
	var acct *verify.Account
	res, err := r.fetchVerified(ctx, route.Call{Method: "eth_getProof", Params: proofParams, Class: plan.ClassState, Data: upstream.StateData, Hedge: true},
		false, func(res *route.Result) error {
			var err error
			acct, err = verify.VerifyProof(h.Root, addr, slots, res.Response.Result)
			return err
		})
	if err != nil {
		return nil, err
	}
	if res.Response.Error != nil {
		return nil, &rpcAnswer{res.Response}
	}
	switch pl.Method {
	case "eth_getProof":
		return res.Response.Result, nil
	case "eth_getBalance":
		return verify.BalanceJSON(acct), nil
	case "eth_getTransactionCount":
		return verify.NonceJSON(acct), nil
	case "eth_getStorageAt":
		return verify.StorageJSON(acct, slots[0]), nil
	}
	return r.verifiedCode(ctx, acct, codeCall, <-codeCh)
}

// stateSlots returns the storage slots a state read asks about, and the
// storage keys param of the eth_getProof that answers it.
func stateSlots(pl *plan.Plan) ([]common.Hash, json.RawMessage, error) {
	switch pl.Method {
	case "eth_getStorageAt":
		slot, err := verify.SlotKey(pl.Args[1])
		if err != nil {
			return nil, nil, jsonrpc.Errorf(jsonrpc.CodeInvalidParams, "invalid params: slot: %v", err)
		}
		keys, _ := json.Marshal([]string{slot.Hex()})
		return []common.Hash{slot}, keys, nil
	case "eth_getProof":
		var keys []json.RawMessage
		if err := json.Unmarshal(pl.Args[1], &keys); err != nil {
			return nil, nil, jsonrpc.Errorf(jsonrpc.CodeInvalidParams, "invalid params: storage keys: %v", err)
		}
		var slots []common.Hash
		for _, k := range keys {
			slot, err := verify.SlotKey(k)
			if err != nil {
				return nil, nil, jsonrpc.Errorf(jsonrpc.CodeInvalidParams, "invalid params: storage key %s: %v", k, err)
			}
			slots = append(slots, slot)
		}
		return slots, pl.Args[1], nil // the keys echoed as the client wrote them
	}
	return nil, json.RawMessage("[]"), nil
}

// codeAnswer is the eth_getCode answer fetched alongside a proof.
type codeAnswer struct {
	res *route.Result
	err error
}

// verifiedCode returns the code whose hash acct proves: the answer
// fetched alongside the proof when it checks out (its operator is caught
// when it does not), otherwise one asked of the operators in turn.
func (r *Reader) verifiedCode(ctx context.Context, acct *verify.Account, codeCall route.Call, ca codeAnswer) (json.RawMessage, error) {
	if ca.err == nil && !ca.res.Unserved && ca.res.Response.Error == nil {
		var code hexutil.Bytes
		err := json.Unmarshal(ca.res.Response.Result, &code)
		if err == nil {
			err = verify.VerifyCode(acct, code)
		}
		if err == nil {
			return verify.CodeJSON(code), nil
		}
		var lie *verify.Error
		if !errors.As(err, &lie) {
			err = &verify.Error{What: "code does not decode: " + err.Error()}
		}
		r.caught(ca.res.Upstream.Operator, ca.res.Upstream, "eth_getCode", err)
	}
	code, err := r.fetchCode(ctx, acct, codeCall)
	if err != nil {
		return nil, err
	}
	return verify.CodeJSON(code), nil
}

// fetchCode asks codeCall of the operators in turn until one answers with
// the code whose hash acct proves.
func (r *Reader) fetchCode(ctx context.Context, acct *verify.Account, codeCall route.Call) ([]byte, error) {
	var code hexutil.Bytes
	res, err := r.fetchVerified(ctx, codeCall, false, func(res *route.Result) error {
		if err := json.Unmarshal(res.Response.Result, &code); err != nil {
			return &verify.Error{What: "code does not decode: " + err.Error()}
		}
		return verify.VerifyCode(acct, code)
	})
	if err == nil {
		err = errorAnswer(res)
	}
	if err != nil {
		return nil, err
	}
	return code, nil
}

// Account returns address's account at the block of header h, with the
// storage slots listed, proven against h's state root: the operators are
// asked for eth_getProof in turn until an answer checks out, and each
// answer that fails its check is reported as a lie.
func (r *Reader) Account(ctx context.Context, h *types.Header, address common.Address, slots []common.Hash) (*verify.Account, error) {
	keys := make([]string, len(slots))
	for i, s := range slots {
		keys[i] = s.Hex()
	}
	p, _ := json.Marshal([]any{address, keys, map[string]string{"blockHash": h.Hash().Hex()}})
	var acct *verify.Account
	res, err := r.fetchVerified(ctx, route.Call{Method: "eth_getProof", Params: p, Class: plan.ClassState, Data: upstream.StateData},
		false, func(res *route.Result) error {
			var err error
			acct, err = verify.VerifyProof(h.Root, address, slots, res.Response.Result)
			return err
		})
	if err == nil {
		err = errorAnswer(res)
	}
	return acct, err
}

// Code returns address's code at the block of header h, checked against
// acct (its account there, from Account): empty for an account without
// code.
func (r *Reader) Code(ctx context.Context, h *types.Header, address common.Address, acct *verify.Account) ([]byte, error) {
	if acct.CodeHash == types.EmptyCodeHash {
		return []byte{}, nil
	}
	p, _ := json.Marshal([]any{address, map[string]string{"blockHash": h.Hash().Hex()}})
	return r.fetchCode(ctx, acct, route.Call{Method: "eth_getCode", Params: p, Class: plan.ClassState,
		Data: upstream.StateData, Hedge: true})
}
