package evm

import (
	"context"
	"errors"
	"math/big"
	"sync/atomic"

	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/core"
	"github.com/ethereum/go-ethereum/core/state"
	"github.com/ethereum/go-ethereum/core/vm"
	"github.com/ethereum/go-ethereum/eth/gasestimator"
)

// estimateErrorRatio is the estimate's allowed overshoot, geth's.
const estimateErrorRatio = 0.015

// call answers eth_call as geth's does (internal/ethapi doCall): the
// block overrides, the state overrides (moving precompiles), the call
// defaults under the gas cap, one message applied under the timeout, and
// the result: the return data, a revert (code 3) or the VM's error.
func (r *run) call() (hexutil.Bytes, error) {
	cfg := r.e.cfg
	args := r.req.Args
	if err := args.checkBlobFeeCap(); err != nil {
		return nil, answerErr(err)
	}
	bc := r.blockContext()
	header := r.block
	if err := r.req.Overrides.apply(&bc); err != nil {
		return nil, answerErr(err)
	}
	header = r.req.Overrides.header(header)
	rules := cfg.Chain.Rules(bc.BlockNumber, bc.Random != nil, bc.Time)
	precompiles := vm.ActivePrecompiledContracts(rules)
	gp := core.NewGasPool(cfg.GasCap)
	available := gp.Available(cfg.Chain.IsAmsterdam(header.Number, header.Time))
	if err := r.check(args, available, bc.BaseFee, precompiles); err != nil {
		return nil, err
	}
	r.prefetch(bc.Coinbase, precompiles)
	st, err := r.overridden(precompiles)
	if err != nil {
		return nil, err
	}
	if err := args.callDefaults(available, bc.BaseFee, cfg.Chain.ChainID); err != nil {
		return nil, answerErr(err)
	}
	msg := args.toMessage(header.BaseFee).SkipExecutionGasCapCheck()
	if msg.GasPrice.Sign() == 0 {
		bc.BaseFee = new(big.Int)
	}
	if msg.BlobGasFeeCap != nil && msg.BlobGasFeeCap.BitLen() == 0 {
		bc.BlobBaseFee = new(big.Int)
	}
	evm := vm.NewEVM(bc, st, cfg.Chain, vm.Config{NoBaseFee: true, EnablePreimageRecording: true})
	defer evm.Release()
	evm.SetPrecompiles(precompiles)
	res, aborted, err := r.applyTimed(evm, msg, gp)
	r.executed = !aborted
	r.preimages = st.Preimages()
	if failure := r.failure(st); failure != nil && !aborted {
		return nil, failure
	}
	switch {
	case aborted:
		return nil, answerf("execution aborted (timeout = %v)", cfg.Timeout)
	case err != nil:
		return nil, answerf("err: %v (supplied gas %d)", err, msg.GasLimit)
	case errors.Is(res.Err, vm.ErrExecutionReverted):
		return nil, revertError(res.Revert())
	case res.Err != nil:
		return nil, answerErr(res.Err)
	}
	return res.Return(), nil
}

// check finds, before anything is fetched, the errors geth would answer
// that depend on the parameters alone: the state overrides' structure,
// then the call defaults. A call with bad parameters costs no round trip.
func (r *run) check(args TransactionArgs, gasCap uint64, baseFee *big.Int, precompiles vm.PrecompiledContracts) error {
	if err := r.req.State.check(clonePrecompiles(precompiles)); err != nil {
		return answerErr(err)
	}
	if err := args.callDefaults(gasCap, baseFee, r.e.cfg.Chain.ChainID); err != nil {
		return answerErr(err)
	}
	return nil
}

func clonePrecompiles(p vm.PrecompiledContracts) vm.PrecompiledContracts {
	if p == nil {
		return nil
	}
	c := make(vm.PrecompiledContracts, len(p))
	for k, v := range p {
		c[k] = v
	}
	return c
}

// overridden is the block's state with the state overrides applied.
func (r *run) overridden(precompiles vm.PrecompiledContracts) (*state.StateDB, error) {
	st, err := r.state()
	if err != nil {
		return nil, err
	}
	err = r.req.State.apply(st, precompiles)
	if failure := r.failure(st); failure != nil {
		return nil, failure
	}
	if err != nil {
		return nil, answerErr(err)
	}
	return st, nil
}

// applyTimed applies msg, cancelling the EVM (and fetches on demand) when
// the request ends or the timeout passes on the executor's clock; aborted
// says whether it was cancelled.
func (r *run) applyTimed(evm *vm.EVM, msg *core.Message, gp *core.GasPool) (res *core.ExecutionResult, aborted bool, err error) {
	ctx, cancel := context.WithCancel(r.ctx)
	defer cancel()
	r.reader.setContext(ctx)
	timeout := r.e.cfg.Clock.After(r.e.cfg.Timeout)
	done := make(chan struct{})
	var cancelled atomic.Bool
	go func() {
		select {
		case <-done:
			return
		case <-ctx.Done():
		case <-timeout:
		}
		cancelled.Store(true)
		evm.Cancel()
		cancel()
	}()
	res, err = core.ApplyMessage(evm, msg, gp)
	close(done)
	return res, cancelled.Load(), err
}

// estimateGas answers eth_estimateGas as geth's does (DoEstimateGas):
// overrides, defaults with the gas left open, and go-ethereum's gas
// estimator on the overridden state, whose runs all share this call's
// proven state (after the first, nothing is fetched unless a run at less
// gas takes another path).
func (r *run) estimateGas() (hexutil.Uint64, error) {
	cfg := r.e.cfg
	args := r.req.Args
	if err := args.checkBlobFeeCap(); err != nil {
		return 0, answerErr(err)
	}
	bc := core.NewEVMBlockContext(r.block, r.chain, nil)
	if err := r.req.Overrides.apply(&bc); err != nil {
		return 0, answerErr(err)
	}
	header := r.req.Overrides.header(r.block)
	rules := cfg.Chain.Rules(bc.BlockNumber, bc.Random != nil, bc.Time)
	precompiles := vm.ActivePrecompiledContracts(rules)
	if args.Gas == nil {
		args.Gas = new(hexutil.Uint64)
	}
	if err := r.check(args, cfg.GasCap, header.BaseFee, precompiles); err != nil {
		return 0, err
	}
	r.prefetch(bc.Coinbase, precompiles)
	st, err := r.overridden(precompiles)
	if err != nil {
		return 0, err
	}
	opts := &gasestimator.Options{Config: cfg.Chain, Chain: r.chain, Header: header, State: st, ErrorRatio: estimateErrorRatio}
	if o := r.req.Overrides; o != nil && o.BlobBaseFee != nil {
		opts.BlobBaseFee = o.BlobBaseFee.ToInt()
	}
	if err := args.callDefaults(cfg.GasCap, header.BaseFee, cfg.Chain.ChainID); err != nil {
		return 0, answerErr(err)
	}
	gas, revert, err := gasestimator.Estimate(r.ctx, args.toMessage(header.BaseFee), opts, cfg.GasCap)
	r.executed = r.ctx.Err() == nil
	if failure := r.failure(st); failure != nil {
		return 0, failure
	}
	switch {
	case errors.Is(err, vm.ErrExecutionReverted):
		return 0, revertError(revert)
	case err != nil:
		return 0, answerErr(err)
	}
	return hexutil.Uint64(gas), nil
}
