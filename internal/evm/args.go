package evm

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/big"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/consensus/misc/eip4844"
	"github.com/ethereum/go-ethereum/core"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto/kzg4844"
	"github.com/ethereum/go-ethereum/params"
	"github.com/holiman/uint256"
)

// TransactionArgs is the call object of eth_call, eth_estimateGas and
// eth_createAccessList, member for member as go-ethereum decodes it (its
// type and member names also make decoding errors read as geth's do).
// Blob sidecars (blobs, commitments, proofs) are accepted and, as in geth's
// call methods, not used.
type TransactionArgs struct {
	From                 *common.Address `json:"from,omitempty"`
	To                   *common.Address `json:"to,omitempty"`
	Gas                  *hexutil.Uint64 `json:"gas,omitempty"`
	GasPrice             *hexutil.Big    `json:"gasPrice,omitempty"`
	MaxFeePerGas         *hexutil.Big    `json:"maxFeePerGas,omitempty"`
	MaxPriorityFeePerGas *hexutil.Big    `json:"maxPriorityFeePerGas,omitempty"`
	Value                *hexutil.Big    `json:"value,omitempty"`
	Nonce                *hexutil.Uint64 `json:"nonce,omitempty"`

	// "input" is the current name of the call data; "data" the old one.
	// When both are given, input wins.
	Data  *hexutil.Bytes `json:"data,omitempty"`
	Input *hexutil.Bytes `json:"input,omitempty"`

	AccessList *types.AccessList `json:"accessList,omitempty"`
	ChainID    *hexutil.Big      `json:"chainId,omitempty"`

	BlobFeeCap *hexutil.Big  `json:"maxFeePerBlobGas,omitempty"`
	BlobHashes []common.Hash `json:"blobVersionedHashes,omitempty"`

	Blobs       []kzg4844.Blob       `json:"blobs,omitempty"`
	Commitments []kzg4844.Commitment `json:"commitments,omitempty"`
	Proofs      []kzg4844.Proof      `json:"proofs,omitempty"`

	AuthorizationList []types.SetCodeAuthorization `json:"authorizationList,omitempty"`
}

// from is the sender, the zero address when none is given.
func (a *TransactionArgs) from() common.Address {
	if a.From == nil {
		return common.Address{}
	}
	return *a.From
}

// data is the call data, input preferred.
func (a *TransactionArgs) data() []byte {
	switch {
	case a.Input != nil:
		return *a.Input
	case a.Data != nil:
		return *a.Data
	}
	return nil
}

// hint is a copy fit to send to an operator for an access-list hint:
// without blob sidecars, which it does not need.
func (a *TransactionArgs) hint() *TransactionArgs {
	c := *a
	c.Blobs, c.Commitments, c.Proofs = nil, nil, nil
	return &c
}

// checkBlobFeeCap refuses a blob fee cap without blob hashes, as geth's
// call methods do before anything else.
func (a *TransactionArgs) checkBlobFeeCap() error {
	if a.BlobFeeCap != nil && len(a.BlobHashes) == 0 {
		return errors.New("maxFeePerBlobGas specified without blobVersionedHashes")
	}
	return nil
}

// callDefaults fills what a call leaves out the way geth does for its call
// methods: gas up to the cap, zero nonce, value and fees, the chain id.
func (a *TransactionArgs) callDefaults(gasCap uint64, baseFee, chainID *big.Int) error {
	if a.GasPrice != nil && (a.MaxFeePerGas != nil || a.MaxPriorityFeePerGas != nil) {
		return errors.New("both gasPrice and (maxFeePerGas or maxPriorityFeePerGas) specified")
	}
	if a.To == nil {
		// Neither a blob nor a set-code transaction can create a contract.
		if a.BlobHashes != nil {
			return core.ErrBlobTxCreate
		}
		if a.AuthorizationList != nil {
			return core.ErrSetCodeTxCreate
		}
	}
	if a.ChainID == nil {
		a.ChainID = (*hexutil.Big)(chainID)
	} else if have := a.ChainID.ToInt(); have.Cmp(chainID) != 0 {
		return fmt.Errorf("chainId does not match node's (have=%v, want=%v)", have, chainID)
	}
	switch {
	case a.Gas == nil:
		gas := gasCap
		if gas == 0 {
			gas = math.MaxUint64 / 2
		}
		a.Gas = (*hexutil.Uint64)(&gas)
	case gasCap > 0 && uint64(*a.Gas) > gasCap:
		capped := gasCap
		a.Gas = (*hexutil.Uint64)(&capped)
	}
	if a.Nonce == nil {
		a.Nonce = new(hexutil.Uint64)
	}
	if a.Value == nil {
		a.Value = new(hexutil.Big)
	}
	if baseFee == nil {
		if a.MaxFeePerGas != nil || a.MaxPriorityFeePerGas != nil {
			return errors.New("maxFeePerGas and maxPriorityFeePerGas are not valid before London is active")
		}
		if a.GasPrice == nil {
			a.GasPrice = new(hexutil.Big)
		}
	} else {
		if a.MaxFeePerGas == nil {
			a.MaxFeePerGas = new(hexutil.Big)
		}
		if a.MaxPriorityFeePerGas == nil {
			a.MaxPriorityFeePerGas = new(hexutil.Big)
		}
	}
	if a.BlobFeeCap == nil && a.BlobHashes != nil {
		a.BlobFeeCap = new(hexutil.Big)
	}
	return nil
}

// toMessage turns defaulted args into the message the EVM runs, with the
// checks a call skips (nonce, sender without code, gas limit caps) off.
func (a *TransactionArgs) toMessage(baseFee *big.Int) *core.Message {
	var price, feeCap, tipCap *uint256.Int
	switch {
	case baseFee == nil || a.GasPrice != nil:
		price = u256(a.GasPrice)
		feeCap, tipCap = price, price
	default:
		feeCap, tipCap = u256(a.MaxFeePerGas), u256(a.MaxPriorityFeePerGas)
		// The price a 1559 call pays: tip on top of the base fee, at most
		// the fee cap; zero when both are zero.
		price = new(uint256.Int)
		if !feeCap.IsZero() || !tipCap.IsZero() {
			price.Add(tipCap, u256((*hexutil.Big)(baseFee)))
			if price.Cmp(feeCap) > 0 {
				price.Set(feeCap)
			}
		}
	}
	var accessList types.AccessList
	if a.AccessList != nil {
		accessList = *a.AccessList
	}
	msg := &core.Message{
		From:                  a.from(),
		To:                    a.To,
		Value:                 u256(a.Value),
		Nonce:                 uint64(*a.Nonce),
		GasLimit:              uint64(*a.Gas),
		GasPrice:              price,
		GasFeeCap:             feeCap,
		GasTipCap:             tipCap,
		Data:                  a.data(),
		AccessList:            accessList,
		BlobGasFeeCap:         u256(a.BlobFeeCap),
		BlobHashes:            a.BlobHashes,
		SetCodeAuthorizations: a.AuthorizationList,
	}
	return msg.SkipNonceCheck().SkipEOACheck().SkipGasLimitCapCheck()
}

// u256 converts a quantity as geth does for a message: nil for nil, and
// values above 2^256-1 wrapped (uint256.FromBig's overflow result).
func u256(b *hexutil.Big) *uint256.Int {
	if b == nil {
		return nil
	}
	v, _ := uint256.FromBig(b.ToInt())
	return v
}

// feeDefaults fills fee fields the way geth's eth_createAccessList does
// when a call sets any of them: each must make sense with the others, and
// missing ones are suggested from head (the tip from tips).
func (a *TransactionArgs) feeDefaults(ctx context.Context, config *params.ChainConfig, head *types.Header, tips func(context.Context) (*big.Int, error)) error {
	if a.BlobFeeCap != nil && a.BlobFeeCap.ToInt().Sign() == 0 {
		return errors.New("maxFeePerBlobGas, if specified, must be non-zero")
	}
	if config.IsCancun(head.Number, head.Time) && a.BlobHashes != nil && a.BlobFeeCap == nil {
		fee := new(big.Int).Mul(eip4844.CalcBlobFee(config, head), big.NewInt(2))
		a.BlobFeeCap = (*hexutil.Big)(fee)
	}
	if a.GasPrice != nil && (a.MaxFeePerGas != nil || a.MaxPriorityFeePerGas != nil) {
		return errors.New("both gasPrice and (maxFeePerGas or maxPriorityFeePerGas) specified")
	}
	if a.GasPrice != nil && a.AuthorizationList != nil {
		return errors.New("both gasPrice and authorizationList specified")
	}
	london := config.IsLondon(head.Number)
	switch {
	case a.GasPrice == nil && a.MaxFeePerGas != nil && a.MaxPriorityFeePerGas != nil:
		if a.MaxFeePerGas.ToInt().Sign() == 0 {
			return errors.New("maxFeePerGas must be non-zero")
		}
		return checkFeeOrder(a)
	case a.GasPrice != nil:
		if a.GasPrice.ToInt().Sign() == 0 && london {
			return errors.New("gasPrice must be non-zero after london fork")
		}
		return nil
	case !london:
		if a.MaxFeePerGas != nil || a.MaxPriorityFeePerGas != nil {
			return errors.New("maxFeePerGas and maxPriorityFeePerGas are not valid before London is active")
		}
		tip, err := tips(ctx)
		if err != nil {
			return err
		}
		a.GasPrice = (*hexutil.Big)(tip)
		return nil
	}
	if a.MaxPriorityFeePerGas == nil {
		tip, err := tips(ctx)
		if err != nil {
			return err
		}
		a.MaxPriorityFeePerGas = (*hexutil.Big)(tip)
	}
	if a.MaxFeePerGas == nil {
		// Room for the base fee to double.
		fee := new(big.Int).Mul(head.BaseFee, big.NewInt(2))
		a.MaxFeePerGas = (*hexutil.Big)(fee.Add(fee, a.MaxPriorityFeePerGas.ToInt()))
	}
	return checkFeeOrder(a)
}

func checkFeeOrder(a *TransactionArgs) error {
	if a.MaxFeePerGas.ToInt().Cmp(a.MaxPriorityFeePerGas.ToInt()) < 0 {
		return fmt.Errorf("maxFeePerGas (%v) < maxPriorityFeePerGas (%v)", a.MaxFeePerGas, a.MaxPriorityFeePerGas)
	}
	return nil
}

// txHash is the hash of the transaction defaulted args describe, as geth
// names it in eth_createAccessList's "failed to apply transaction" error:
// the type follows from the fields set (legacy when a gas price is given,
// 2930 with an access list too).
func (a *TransactionArgs) txHash() common.Hash {
	al := types.AccessList{}
	if a.AccessList != nil {
		al = *a.AccessList
	}
	bi := func(b *hexutil.Big) *big.Int { return (*big.Int)(b) }
	var data types.TxData
	switch {
	case a.GasPrice != nil && a.AccessList != nil:
		data = &types.AccessListTx{To: a.To, ChainID: bi(a.ChainID), Nonce: uint64(*a.Nonce), Gas: uint64(*a.Gas),
			GasPrice: bi(a.GasPrice), Value: bi(a.Value), Data: a.data(), AccessList: al}
	case a.GasPrice == nil && a.AuthorizationList != nil:
		data = &types.SetCodeTx{To: *a.To, ChainID: u256(a.ChainID), Nonce: uint64(*a.Nonce), Gas: uint64(*a.Gas),
			GasFeeCap: u256(a.MaxFeePerGas), GasTipCap: u256(a.MaxPriorityFeePerGas), Value: u256(a.Value),
			Data: a.data(), AccessList: al, AuthList: a.AuthorizationList}
	case a.GasPrice == nil && a.BlobHashes != nil:
		data = &types.BlobTx{To: *a.To, ChainID: u256(a.ChainID), Nonce: uint64(*a.Nonce), Gas: uint64(*a.Gas),
			GasFeeCap: u256(a.MaxFeePerGas), GasTipCap: u256(a.MaxPriorityFeePerGas), Value: u256(a.Value),
			Data: a.data(), AccessList: al, BlobHashes: a.BlobHashes, BlobFeeCap: u256(a.BlobFeeCap)}
	case a.GasPrice == nil && a.MaxFeePerGas != nil:
		data = &types.DynamicFeeTx{To: a.To, ChainID: bi(a.ChainID), Nonce: uint64(*a.Nonce), Gas: uint64(*a.Gas),
			GasFeeCap: bi(a.MaxFeePerGas), GasTipCap: bi(a.MaxPriorityFeePerGas), Value: bi(a.Value),
			Data: a.data(), AccessList: al}
	case a.GasPrice == nil && a.AccessList != nil:
		data = &types.AccessListTx{To: a.To, ChainID: bi(a.ChainID), Nonce: uint64(*a.Nonce), Gas: uint64(*a.Gas),
			GasPrice: bi(a.GasPrice), Value: bi(a.Value), Data: a.data(), AccessList: al}
	default:
		data = &types.LegacyTx{To: a.To, Nonce: uint64(*a.Nonce), Gas: uint64(*a.Gas), GasPrice: bi(a.GasPrice),
			Value: bi(a.Value), Data: a.data()}
	}
	return types.NewTx(data).Hash()
}
