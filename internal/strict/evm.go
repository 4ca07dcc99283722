package strict

import (
	"context"
	"errors"
	"fmt"
	"math/big"
	"os"

	"github.com/ethereum/go-ethereum/params"

	"github.com/braidrpc/braid/internal/config"
	"github.com/braidrpc/braid/internal/evm"
	"github.com/braidrpc/braid/internal/jsonrpc"
	"github.com/braidrpc/braid/internal/plan"
	"github.com/braidrpc/braid/internal/trust"
)

// NewEVM builds a network's local EVM (strict mode with verify.evm on)
// and its chain configuration, or says why there is none: the planner
// then refuses the EVM's methods with that reason. Both are nil, with no
// reason, when the network is not strict or the EVM is off.
func NewEVM(nc config.Network, cfg evm.Config) (*evm.Executor, *params.ChainConfig, string) {
	if !nc.Verify.Strict() || !nc.Verify.EVM.On() {
		return nil, nil, ""
	}
	chain, err := chainConfig(nc)
	if err != nil {
		return nil, nil, err.Error()
	}
	cfg.Chain, cfg.GasCap, cfg.Timeout = chain, nc.Verify.EVM.GasCap, nc.Verify.EVM.Timeout
	exec, err := evm.New(cfg)
	if err != nil {
		return nil, nil, err.Error()
	}
	return exec, chain, ""
}

// chainConfig is the network's chain configuration: verify.evm's file,
// else go-ethereum's preset for its chain id.
func chainConfig(nc config.Network) (*params.ChainConfig, error) {
	path := nc.Verify.EVM.ChainConfig
	if path == "" {
		c, err := evm.ChainConfig(nc.ChainID)
		if err != nil {
			return nil, fmt.Errorf("there is no chain configuration for chain id %d (set verify.evm.chain_config)", nc.ChainID)
		}
		return c, nil
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("verify.evm.chain_config: %w", err)
	}
	c, err := evm.ParseChainConfig(data, nc.ChainID)
	if err != nil {
		return nil, fmt.Errorf("verify.evm.chain_config %s: %w", path, err)
	}
	return c, nil
}

// evmCall answers eth_call, eth_estimateGas and eth_createAccessList on
// the local EVM over state proven against the block's trusted header.
// "pending" runs on the trusted tip (the answer says so). What the EVM
// answers as a node would (a revert, an out-of-gas, bad parameters) is the
// client's answer; state no operator could prove fails the call.
func (c *call) evmCall(ctx context.Context, pl *plan.Plan) (*jsonrpc.Response, error) {
	s := c.s
	if s.o.EVM == nil {
		return nil, jsonrpc.Errorf(jsonrpc.CodeUnverifiable, "%s cannot be verified on this network", pl.Method)
	}
	req, err := evm.ParseRequest(pl.Method, pl.Params)
	if err != nil {
		return evmAnswer(err)
	}
	blockArg := req.BlockParam
	if IsPending(blockArg) {
		blockArg = nil
		c.partial(`"pending" ran on the trusted latest block, without the operators' pending transactions`)
	}
	h, answer, err := s.o.Verified.CallBlock(ctx, blockArg)
	if answer != nil || err != nil {
		return answer, err
	}
	res, err := s.o.EVM.Do(ctx, evmSource{s.o.Verified.EVMSource(), c}, h, req)
	s.o.Metrics.evmCall(s.o.Network, pl.Method, res.Stats)
	if err != nil {
		return evmAnswer(err)
	}
	return &jsonrpc.Response{Result: res.Value}, nil
}

// evmAnswer turns an executor's error into the client's answer: a node's
// own answer (*evm.Error) as an error answer, anything else as braid's
// error.
func evmAnswer(err error) (*jsonrpc.Response, error) {
	var answer *evm.Error
	if !errors.As(err, &answer) {
		return nil, err
	}
	return &jsonrpc.Response{Error: jsonrpc.FromError(answer)}, nil
}

// evmSource is the verified reader's Source for the local EVM, with the
// operators' median priority fee for eth_createAccessList's defaults,
// noted on the call it serves.
type evmSource struct {
	trust.EVMSource
	c *call
}

var _ evm.TipSuggester = evmSource{}

// SuggestGasTipCap implements evm.TipSuggester (not proven: the answer
// says so).
func (src evmSource) SuggestGasTipCap(ctx context.Context) (*big.Int, error) {
	tip, err := src.c.s.suggestTip(ctx)
	if err == nil {
		src.c.partial("the priority fee filled in is the operators' median suggestion")
	}
	return tip, err
}
