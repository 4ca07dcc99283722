package evm

import (
	"errors"
	"fmt"
	"maps"
	"slices"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/core/state"
	"github.com/ethereum/go-ethereum/core/tracing"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/core/vm"
	"github.com/ethereum/go-ethereum/params"
)

// OverrideAccount replaces parts of one account for the call (eth_call's
// third parameter), as go-ethereum accepts it: state replaces all storage,
// stateDiff changes the slots given (not both); movePrecompileToAddress
// moves a precompile's code to another address.
type OverrideAccount struct {
	Nonce            *hexutil.Uint64             `json:"nonce,omitempty"`
	Code             *hexutil.Bytes              `json:"code,omitempty"`
	Balance          *hexutil.Big                `json:"balance,omitempty"`
	State            map[common.Hash]common.Hash `json:"state,omitempty"`
	StateDiff        map[common.Hash]common.Hash `json:"stateDiff,omitempty"`
	MovePrecompileTo *common.Address             `json:"movePrecompileToAddress,omitempty"`
}

// StateOverride is the state override set: account address → override.
type StateOverride map[common.Address]OverrideAccount

// apply writes the overrides into st in address order (so errors are the
// same every time), moving precompiles within precompiles (nil: there are
// none to move, as in geth's eth_createAccessList), and finalises them as
// a transaction before the call would.
func (o StateOverride) apply(st *state.StateDB, precompiles vm.PrecompiledContracts) error {
	if o == nil {
		return nil
	}
	err := o.walk(precompiles, func(addr common.Address, acct OverrideAccount) {
		if acct.Nonce != nil {
			st.SetNonce(addr, uint64(*acct.Nonce), tracing.NonceChangeUnspecified)
		}
		if acct.Code != nil {
			st.SetCode(addr, *acct.Code, tracing.CodeChangeUnspecified)
		}
		if acct.Balance != nil {
			st.SetBalance(addr, u256(acct.Balance), tracing.BalanceChangeUnspecified)
		}
	}, func(addr common.Address, acct OverrideAccount) {
		if acct.State != nil {
			st.SetStorage(addr, acct.State)
		}
		for slot, value := range acct.StateDiff {
			st.SetState(addr, slot, value)
		}
	})
	if err != nil {
		return err
	}
	st.Finalise(params.Rules{})
	return nil
}

// check finds the error apply would meet without touching any state (all
// of apply's errors are about the overrides' shape); it moves precompiles
// within precompiles as apply does.
func (o StateOverride) check(precompiles vm.PrecompiledContracts) error {
	nothing := func(common.Address, OverrideAccount) {}
	return o.walk(precompiles, nothing, nothing)
}

// walk goes through the overrides in address order, checking each and
// calling fields (nonce, code, balance) and then storage for it, as geth
// applies them.
func (o StateOverride) walk(precompiles vm.PrecompiledContracts, fields, storage func(common.Address, OverrideAccount)) error {
	moved := map[common.Address]bool{} // destinations of moved precompiles
	for _, addr := range slices.SortedFunc(maps.Keys(o), common.Address.Cmp) {
		acct := o[addr]
		if moved[addr] {
			return fmt.Errorf("account %s has already been overridden by a precompile", addr.Hex())
		}
		p, isPrecompile := precompiles[addr]
		if to := acct.MovePrecompileTo; to != nil {
			if !isPrecompile {
				return fmt.Errorf("account %s is not a precompile", addr.Hex())
			}
			if _, overridden := o[*to]; overridden {
				return fmt.Errorf("account %s is already overridden", to.Hex())
			}
			precompiles[*to] = p
			moved[*to] = true
		}
		if isPrecompile {
			delete(precompiles, addr)
		}
		fields(addr, acct)
		if acct.State != nil && acct.StateDiff != nil {
			return fmt.Errorf("account %s has both 'state' and 'stateDiff'", addr.Hex())
		}
		storage(addr, acct)
	}
	return nil
}

// BlockOverrides replaces fields of the block a call runs in (eth_call's
// and eth_estimateGas's fourth parameter), as go-ethereum accepts them. Its
// members have no JSON names of their own, so, as in geth, they match
// case-insensitively: number, difficulty, time, gasLimit, feeRecipient,
// prevRandao, baseFeePerGas, blobBaseFee; beaconRoot and withdrawals are
// refused.
type BlockOverrides struct {
	Number        *hexutil.Big
	Difficulty    *hexutil.Big
	Time          *hexutil.Uint64
	GasLimit      *hexutil.Uint64
	FeeRecipient  *common.Address
	PrevRandao    *common.Hash
	BaseFeePerGas *hexutil.Big
	BlobBaseFee   *hexutil.Big
	BeaconRoot    *common.Hash
	Withdrawals   *types.Withdrawals
}

// apply overrides the block context's fields.
func (o *BlockOverrides) apply(bc *vm.BlockContext) error {
	if o == nil {
		return nil
	}
	if o.BeaconRoot != nil {
		return errors.New(`block override "beaconRoot" is not supported for this RPC method`)
	}
	if o.Withdrawals != nil {
		return errors.New(`block override "withdrawals" is not supported for this RPC method`)
	}
	if o.Number != nil {
		bc.BlockNumber = o.Number.ToInt()
	}
	if o.Difficulty != nil {
		bc.Difficulty = o.Difficulty.ToInt()
	}
	if o.Time != nil {
		bc.Time = uint64(*o.Time)
	}
	if o.GasLimit != nil {
		bc.GasLimit = uint64(*o.GasLimit)
	}
	if o.FeeRecipient != nil {
		bc.Coinbase = *o.FeeRecipient
	}
	if o.PrevRandao != nil {
		bc.Random = o.PrevRandao
	}
	if o.BaseFeePerGas != nil {
		bc.BaseFee = o.BaseFeePerGas.ToInt()
	}
	if o.BlobBaseFee != nil {
		bc.BlobBaseFee = o.BlobBaseFee.ToInt()
	}
	return nil
}

// header is h with the overridden fields (a copy; h when there are none).
// The blob base fee has no header field and the difficulty of a
// proof-of-stake header stays zero.
func (o *BlockOverrides) header(h *types.Header) *types.Header {
	if o == nil {
		return h
	}
	c := types.CopyHeader(h)
	if o.Number != nil {
		c.Number = o.Number.ToInt()
	}
	if o.Difficulty != nil && (c.Difficulty == nil || c.Difficulty.Sign() != 0) {
		c.Difficulty = o.Difficulty.ToInt()
	}
	if o.Time != nil {
		c.Time = uint64(*o.Time)
	}
	if o.GasLimit != nil {
		c.GasLimit = uint64(*o.GasLimit)
	}
	if o.FeeRecipient != nil {
		c.Coinbase = *o.FeeRecipient
	}
	if o.PrevRandao != nil {
		c.MixDigest = *o.PrevRandao
	}
	if o.BaseFeePerGas != nil {
		c.BaseFee = o.BaseFeePerGas.ToInt()
	}
	return c
}
