package devnet

import (
	"context"
	"errors"
	"fmt"
	"math/big"

	"github.com/ethereum/go-ethereum"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/params"
)

// Recipients are the fixed addresses the demo stream sends ETH and tokens
// to. They are hashes of fixed labels, so no key for them is known and none
// of them is a precompile or system contract.
var Recipients = func() []common.Address {
	addrs := make([]common.Address, 4)
	for i := range addrs {
		addrs[i] = common.BytesToAddress(crypto.Keccak256([]byte(fmt.Sprintf("braid devnet recipient %d", i+1))))
	}
	return addrs
}()

// minerTip is the priority fee of stream transactions.
var minerTip = big.NewInt(params.GWei)

// sendRound submits one round of demo transactions from the stream
// account: one or two ETH transfers and one or two token transfers,
// varying by round so blocks differ. d.mu must be held.
func (d *Devnet) sendRound(ctx context.Context) error {
	r := d.round
	d.round++
	ethTransfers := 1 + int(r%2)
	tokenTransfers := 1 + int(r/2%2)
	for i := range ethTransfers {
		to := Recipients[(int(r)+i)%len(Recipients)]
		// 0.001 ETH × (i+1)
		value := new(big.Int).Mul(big.NewInt(int64(i+1)), big.NewInt(params.Ether/1000))
		if _, err := d.send(ctx, &to, value, nil); err != nil {
			return fmt.Errorf("eth transfer: %w", err)
		}
	}
	for i := range tokenTransfers {
		to := Recipients[(int(r)+i+2)%len(Recipients)]
		amount := new(big.Int).Mul(big.NewInt(int64(r%10+1)), tokenUnit)
		data := d.token.pack("transfer", to, amount)
		if _, err := d.send(ctx, &d.token.address, nil, data); err != nil {
			return fmt.Errorf("token transfer: %w", err)
		}
	}
	return nil
}

// send signs a dynamic-fee transaction from the stream account with the
// locally tracked nonce and submits it. Gas is the chain's estimate with a
// margin (gas prices differ across the forks the dev chain runs). On
// failure the nonce is re-read from the chain's pending state. d.mu must
// be held.
func (d *Devnet) send(ctx context.Context, to *common.Address, value *big.Int, data []byte) (*types.Transaction, error) {
	head, err := d.eth.HeaderByNumber(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("read head: %w", err)
	}
	baseFee := head.BaseFee
	if baseFee == nil {
		baseFee = new(big.Int)
	}
	if value == nil {
		value = new(big.Int)
	}
	gas, err := d.eth.EstimateGas(ctx, ethereum.CallMsg{
		From:  crypto.PubkeyToAddress(d.stream.PublicKey),
		To:    to,
		Value: value,
		Data:  data,
	})
	if err != nil {
		return nil, fmt.Errorf("estimate gas: %w", err)
	}
	gas += gas / 4
	tx, err := types.SignNewTx(d.stream, d.signer, &types.DynamicFeeTx{
		ChainID:   new(big.Int).SetUint64(d.chainID),
		Nonce:     d.streamNonce,
		GasTipCap: minerTip,
		GasFeeCap: new(big.Int).Add(new(big.Int).Mul(baseFee, big.NewInt(2)), minerTip),
		Gas:       gas,
		To:        to,
		Value:     value,
		Data:      data,
	})
	if err != nil {
		return nil, fmt.Errorf("sign: %w", err)
	}
	if err := d.eth.SendTransaction(ctx, tx); err != nil {
		d.resyncNonce()
		return nil, err
	}
	d.streamNonce++
	return tx, nil
}

// resyncNonce re-reads the stream account's pending nonce after a failed
// send or a fork, so the next round does not leave a gap or reuse a nonce.
func (d *Devnet) resyncNonce() {
	// The failed send's context may be done; this read gets its own.
	ctx, cancel := context.WithTimeout(d.ctx, rpcTimeout)
	defer cancel()
	n, err := d.eth.PendingNonceAt(ctx, crypto.PubkeyToAddress(d.stream.PublicKey))
	if err != nil {
		if !errors.Is(err, context.Canceled) {
			d.log.Warn("devnet: re-read stream nonce", "err", err)
		}
		return
	}
	d.streamNonce = n
}
