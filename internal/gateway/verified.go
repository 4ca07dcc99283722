package gateway

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"

	"github.com/braidrpc/braid/internal/jsonrpc"
	"github.com/braidrpc/braid/internal/plan"
	"github.com/braidrpc/braid/internal/route"
	"github.com/braidrpc/braid/internal/upstream"
	"github.com/braidrpc/braid/internal/verify"
)

// VerifyFailure is a verified read no operator could answer with an answer
// that checks out. Its data names the method and every operator tried.
type VerifyFailure struct {
	Method   string
	Attempts []route.Attempt
}

func (f *VerifyFailure) Error() string {
	return fmt.Sprintf("no operator gave a verifiable answer to %s (%d tried)", f.Method, len(f.Attempts))
}

// ErrorCode implements jsonrpc.Coder.
func (f *VerifyFailure) ErrorCode() int { return jsonrpc.CodeVerificationFailed }

// ErrorData implements jsonrpc.DataCoder.
func (f *VerifyFailure) ErrorData() any {
	return map[string]any{"method": f.Method, "attempts": f.Attempts}
}

// fetchVerified asks call of one operator after another, best first, until
// an answer passes check. An answer that fails check is a lie: its
// operator is struck and the next one asked. An error answer (the node
// cannot serve it) moves on without a strike. With nullOK a null answer,
// which cannot be proven either way, is accepted only when every
// operator able to answer says null (errAllNull); otherwise check sees
// it like any answer.
func (n *Network) fetchVerified(ctx context.Context, call route.Call, nullOK bool, check func(*route.Result) error) (*route.Result, error) {
	var (
		attempts []route.Attempt
		lastRPC  *route.Result
		nulls    int
		lied     bool
	)
	// Each round lets the router pick (and fail over, and hedge) among the
	// operators not yet heard from; an operator that answered, truly or
	// not, is excluded from the next round.
	for {
		res, err := n.router.Do(ctx, call)
		if err != nil {
			var f *route.Failure
			if errors.As(err, &f) && f.Code == jsonrpc.CodeUnavailable && len(call.Exclude) > 0 {
				break // every operator has answered
			}
			if len(attempts) == 0 {
				return nil, err // nobody answered at all: the router's error says why
			}
			attempts = append(attempts, route.Attempt{Error: jsonrpc.FromError(err).Message})
			break
		}
		op := res.Upstream.Operator
		call.Exclude = append(slices.Clip(call.Exclude), op)
		if res.Unserved || res.Response.Error != nil {
			attempts = append(attempts, route.Attempt{Operator: op, Upstream: res.Upstream.Name, Error: res.Response.Error.Message})
			lastRPC = res
			continue
		}
		if nullOK && string(res.Response.Result) == "null" {
			nulls++
			attempts = append(attempts, route.Attempt{Operator: op, Upstream: res.Upstream.Name, Error: "null"})
			continue
		}
		err = check(res)
		if err == nil {
			return res, nil
		}
		var lie *verify.Error
		if !errors.As(err, &lie) {
			return nil, err // something the check needed failed: not this operator's lie
		}
		n.caught(op, res.Upstream, call.Method, err)
		lied = true
		attempts = append(attempts, route.Attempt{Operator: op, Upstream: res.Upstream.Name, Error: err.Error()})
	}
	switch {
	case nulls > 0 && nulls == len(attempts):
		return nil, errAllNull
	case lastRPC != nil && !lied:
		// The nodes could not serve it (e.g. an invalid argument): their
		// own error is the answer, as without verification.
		return lastRPC, nil
	}
	return nil, &VerifyFailure{Method: call.Method, Attempts: attempts}
}

// caught records an answer that failed verification: the operator gets a
// strike (and is quarantined past the limit), the upstream's score counts
// a failure.
func (n *Network) caught(operator string, u *upstream.Upstream, method string, err error) {
	n.metrics.verifyFailure(n.Name, method, operator)
	n.lies.add(Lie{Time: n.clock.Now().UTC(), Operator: operator, Upstream: u.Name, Method: method, Reason: err.Error()})
	u.Health().Failure()
	n.log.Warn("answer failed verification", "method", method, "operator", operator, "upstream", u.Name, "err", err)
	n.strike(operator, fmt.Sprintf("its answer to %s failed verification: %v", method, err))
}

// verified answers a call whose answer must be checked (strict mode).
func (n *Network) verified(ctx context.Context, pl *plan.Plan) (*jsonrpc.Response, error) {
	var (
		result json.RawMessage
		err    error
	)
	switch pl.Method {
	case "eth_getBalance", "eth_getTransactionCount", "eth_getCode", "eth_getStorageAt", "eth_getProof":
		result, err = n.verifiedState(ctx, pl)
	case "eth_getBlockByHash", "eth_getBlockByNumber":
		result, err = n.verifiedBlock(ctx, pl)
	case "eth_getTransactionByHash":
		result, err = n.verifiedTxByHash(ctx, pl)
	case "eth_getTransactionByBlockHashAndIndex", "eth_getTransactionByBlockNumberAndIndex":
		result, err = n.verifiedTxByIndex(ctx, pl)
	case "eth_getTransactionReceipt":
		result, err = n.verifiedReceipt(ctx, pl)
	case "eth_getBlockReceipts":
		result, err = n.verifiedBlockReceipts(ctx, pl)
	case "eth_getLogs":
		result, err = n.verifiedLogs(ctx, pl)
	default:
		return nil, jsonrpc.Errorf(jsonrpc.CodeUnverifiable, "%s cannot be verified", pl.Method)
	}
	var passthrough *rpcAnswer
	var above *aboveTipError
	switch {
	case errors.Is(err, errAllNull):
		return &jsonrpc.Response{Result: json.RawMessage("null")}, nil
	case errors.As(err, &passthrough):
		return passthrough.resp, nil
	case errors.As(err, &above):
		if resp, ok := aboveTipAnswer(pl.Method); ok {
			return resp, nil
		}
		return nil, err
	case err != nil:
		return nil, err
	}
	return &jsonrpc.Response{Result: result}, nil
}

// rpcAnswer carries a node's error answer to pass through unchanged.
type rpcAnswer struct{ resp *jsonrpc.Response }

func (a *rpcAnswer) Error() string { return a.resp.Error.Message }

// errorAnswer is a fetchVerified result that is the nodes' own error
// answer (no operator could serve the call, or it is the request's
// fault), as an error to pass through; nil for a checked answer. Callers
// that use what the check extracted must stop on it: nothing was checked.
func errorAnswer(res *route.Result) error {
	if res != nil && res.Response.Error != nil {
		return &rpcAnswer{res.Response}
	}
	return nil
}

// answer turns a fetchVerified result into the raw result, or an error
// answer to pass through.
func answer(res *route.Result) (json.RawMessage, error) {
	if res.Response.Error != nil {
		return nil, &rpcAnswer{res.Response}
	}
	return res.Response.Result, nil
}

// verifiedState answers an account or storage read from eth_getProof
// pinned to the block's hash and proven against its state root. Code is
// fetched alongside the proof and checked against the proven code hash.
func (n *Network) verifiedState(ctx context.Context, pl *plan.Plan) (json.RawMessage, error) {
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
	hash, err := n.resolveBlock(ctx, blockArg)
	if err != nil {
		return nil, err
	}
	h, err := n.header(ctx, hash)
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
			res, err := n.router.Do(ctx, codeCall)
			codeCh <- codeAnswer{res, err}
		}()
	}
	var acct *verify.Account
	res, err := n.fetchVerified(ctx, route.Call{Method: "eth_getProof", Params: proofParams, Class: plan.ClassState, Data: upstream.StateData, Hedge: true},
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
	return n.verifiedCode(ctx, acct, codeCall, <-codeCh)
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
func (n *Network) verifiedCode(ctx context.Context, acct *verify.Account, codeCall route.Call, ca codeAnswer) (json.RawMessage, error) {
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
		n.caught(ca.res.Upstream.Operator, ca.res.Upstream, "eth_getCode", err)
	}
	var code hexutil.Bytes
	res, err := n.fetchVerified(ctx, codeCall, false, func(res *route.Result) error {
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
	return verify.CodeJSON(code), nil
}
