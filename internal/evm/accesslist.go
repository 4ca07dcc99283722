package evm

import (
	"context"
	"errors"
	"math/big"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/core"
	"github.com/ethereum/go-ethereum/core/state"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/core/vm"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/eth/tracers/logger"
)

// accessListResult is eth_createAccessList's answer, member for member.
type accessListResult struct {
	Accesslist *types.AccessList `json:"accessList"`
	Error      string            `json:"error,omitempty"`
	GasUsed    hexutil.Uint64    `json:"gasUsed"`
}

// accessList answers eth_createAccessList as geth's does (ethapi
// AccessList): state overrides without precompile moves, fee defaults
// when any fee is set, the nonce from state, then the call run with
// go-ethereum's access-list tracer, again with each list it found, until
// the list stops changing.
func (r *run) accessList() (*accessListResult, error) {
	cfg := r.e.cfg
	args := r.req.Args
	if err := args.checkBlobFeeCap(); err != nil {
		return nil, answerErr(err)
	}
	if err := r.req.State.check(nil); err != nil {
		return nil, answerErr(err)
	}
	if args.GasPrice != nil || args.MaxFeePerGas != nil || args.MaxPriorityFeePerGas != nil || args.BlobFeeCap != nil {
		if err := args.feeDefaults(r.ctx, cfg.Chain, r.block, r.tip); err != nil {
			return nil, answerOrFailure(err)
		}
	}
	bc := r.blockContext()
	dry := args
	if err := dry.callDefaults(cfg.GasCap, bc.BaseFee, cfg.Chain.ChainID); err != nil {
		return nil, answerErr(err)
	}
	rules := cfg.Chain.Rules(r.block.Number, r.block.Difficulty.Sign() == 0, r.block.Time)
	r.prefetch(bc.Coinbase, vm.ActivePrecompiledContracts(rules))
	st, err := r.overridden(nil)
	if err != nil {
		return nil, err
	}
	if args.Nonce == nil {
		nonce := hexutil.Uint64(st.GetNonce(args.from()))
		args.Nonce = &nonce
	}
	if failure := r.failure(st); failure != nil {
		return nil, failure
	}
	if err := args.callDefaults(cfg.GasCap, bc.BaseFee, cfg.Chain.ChainID); err != nil {
		return nil, answerErr(err)
	}
	return r.traceAccessList(st, &args, r.excluded(&args, vm.ActivePrecompiles(rules)))
}

// excluded are the addresses an access list leaves out: sender,
// recipient (or the created contract), precompiles, and the authorities of
// authorizations that may apply.
func (r *run) excluded(args *TransactionArgs, precompiles []common.Address) map[common.Address]struct{} {
	to := crypto.CreateAddress(args.from(), uint64(*args.Nonce))
	if args.To != nil {
		to = *args.To
	}
	out := map[common.Address]struct{}{args.from(): {}, to: {}}
	for _, p := range precompiles {
		out[p] = struct{}{}
	}
	chainID := r.e.cfg.Chain.ChainID
	for _, auth := range args.AuthorizationList {
		if (!auth.ChainID.IsZero() && auth.ChainID.CmpBig(chainID) != 0) || auth.Nonce+1 < auth.Nonce {
			continue
		}
		if authority, err := auth.Authority(); err == nil {
			out[authority] = struct{}{}
		}
	}
	return out
}

// traceAccessList runs the call with the access-list tracer until the
// list it finds is the list it ran with.
func (r *run) traceAccessList(base *state.StateDB, args *TransactionArgs, excl map[common.Address]struct{}) (*accessListResult, error) {
	var start types.AccessList
	if args.AccessList != nil {
		start = *args.AccessList
	}
	prev := logger.NewAccessListTracer(start, excl)
	for {
		if err := r.ctx.Err(); err != nil {
			return nil, err
		}
		list := prev.AccessList()
		st := base.Copy()
		args.AccessList = &list
		msg := args.toMessage(r.block.BaseFee)
		tracer := logger.NewAccessListTracer(list, excl)
		bc := r.blockContext()
		if msg.GasPrice.Sign() == 0 {
			bc.BaseFee = new(big.Int)
		}
		if msg.BlobGasFeeCap != nil && msg.BlobGasFeeCap.BitLen() == 0 {
			bc.BlobBaseFee = new(big.Int)
		}
		evm := vm.NewEVM(bc, st, r.e.cfg.Chain, vm.Config{Tracer: tracer.Hooks(), NoBaseFee: true})
		res, err := applyCancellable(r.ctx, evm, msg)
		evm.Release()
		r.executed = r.ctx.Err() == nil
		if failure := r.failure(st); failure != nil {
			return nil, failure
		}
		if err != nil {
			return nil, answerf("failed to apply transaction: %v err: %v", args.txHash(), err)
		}
		if tracer.Equal(prev) {
			out := &accessListResult{Accesslist: &list, GasUsed: hexutil.Uint64(res.UsedGas)}
			if res.Err != nil {
				out.Error = res.Err.Error()
			}
			return out, nil
		}
		prev = tracer
	}
}

// applyCancellable applies msg, cancelling the EVM when ctx ends.
func applyCancellable(ctx context.Context, evm *vm.EVM, msg *core.Message) (*core.ExecutionResult, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		<-ctx.Done()
		evm.Cancel()
	}()
	return core.ApplyMessage(evm, msg, nil)
}

// tip asks the Source for a priority fee suggestion, if it can give one.
func (r *run) tip(ctx context.Context) (*big.Int, error) {
	t, ok := r.src.(TipSuggester)
	if !ok {
		return nil, answerf("braid cannot suggest a priority fee for this call: set maxPriorityFeePerGas (or gasPrice before London)")
	}
	tip, err := t.SuggestGasTipCap(ctx)
	if err != nil {
		return nil, &StateError{Err: err}
	}
	return tip, nil
}

// answerOrFailure keeps an *Error or *StateError as it is and makes any
// other error an answer.
func answerOrFailure(err error) error {
	var answer *Error
	var se *StateError
	if errors.As(err, &answer) || errors.As(err, &se) {
		return err
	}
	return answerErr(err)
}
