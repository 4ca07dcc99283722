package devnet

import (
	"context"
	"crypto/ecdsa"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math/big"
	"slices"
	"strconv"
	"time"

	"github.com/ethereum/go-ethereum"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/params"
	"github.com/holiman/uint256"
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

const (
	// settlePoll is how often settle reads the pool's view of the stream
	// account.
	settlePoll = time.Millisecond
	// settleNudge is how long the pool may leave a stream transaction
	// queued before settle nudges it.
	settleNudge = 20 * time.Millisecond
)

// settle waits until the pool holds every transaction the stream account
// sent as executable, so the next block mines the whole round. d.mu must
// be held.
func (d *Devnet) settle(ctx context.Context) error {
	return d.settleAccount(ctx, d.stream, d.streamNonce)
}

// settleAccount waits until the pool holds every transaction key's account
// sent below nonce next as executable.
//
// geth's legacy pool can strand one in its queue: a pool reset (after each
// block, and the one the simulated beacon forces before sealing) promotes
// queued transactions from the account's state nonce only, so one whose
// predecessors are pending but not yet mined stays queued when its own
// promotion was merged into a reset. Only a new transaction from the
// account promotes it, so settleAccount re-sends it with a higher fee.
func (d *Devnet) settleAccount(ctx context.Context, key *ecdsa.PrivateKey, next uint64) error {
	ctx, cancel := context.WithTimeout(ctx, rpcTimeout)
	defer cancel()
	from := crypto.PubkeyToAddress(key.PublicKey)
	var last uint64
	var since time.Time
	for {
		// The pool's pending nonce counts executable transactions only.
		n, err := d.eth.PendingNonceAt(ctx, from)
		if err != nil {
			if ctx.Err() != nil {
				return d.unsettled(from, last, next)
			}
			return fmt.Errorf("devnet: read the pool's nonce of %s: %w", from, err)
		}
		if n >= next {
			return nil
		}
		switch {
		case n != last || since.IsZero():
			last, since = n, time.Now()
		case time.Since(since) >= settleNudge:
			if err := d.nudge(ctx, key, n); err != nil {
				return err
			}
			since = time.Now()
		}
		t := time.NewTimer(settlePoll)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return d.unsettled(from, n, next)
		}
	}
}

// unsettled describes transactions the pool did not make executable in
// time, with the pool's view of the account.
func (d *Devnet) unsettled(from common.Address, n, next uint64) error {
	ctx, cancel := context.WithTimeout(d.ctx, rpcTimeout)
	defer cancel()
	var content struct {
		Pending map[string]json.RawMessage `json:"pending"`
		Queued  map[string]json.RawMessage `json:"queued"`
	}
	err := d.rpc.CallContext(ctx, &content, "txpool_contentFrom", from)
	return fmt.Errorf("devnet: transaction %d of %s did not become executable (next nonce %d; pool pending %v, queued %v, %v)",
		n, from, next, slices.Sorted(maps.Keys(content.Pending)), slices.Sorted(maps.Keys(content.Queued)), err)
}

// nudge re-sends key's queued transaction with that nonce, of the same
// type, with fees raised by an eighth (geth replaces a transaction for a
// 10% raise), which makes the pool promote the account's queue again.
// The re-sent transaction has another hash, so nudge leaves a queued
// transaction at the account's mined nonce alone: nothing is ahead of it,
// so the promotion its arrival asked for takes it, however late a loaded
// machine runs it (it was replaced, and a test that sent a group of
// transactions lowest nonce last then missed one of its hashes).
func (d *Devnet) nudge(ctx context.Context, key *ecdsa.PrivateKey, nonce uint64) error {
	from := crypto.PubkeyToAddress(key.PublicKey)
	var content struct {
		Pending map[string]*types.Transaction `json:"pending"`
		Queued  map[string]*types.Transaction `json:"queued"`
	}
	if err := d.rpc.CallContext(ctx, &content, "txpool_contentFrom", from); err != nil {
		return fmt.Errorf("devnet: read the pool: %w", err)
	}
	slot := strconv.FormatUint(nonce, 10)
	if content.Pending[slot] != nil {
		return nil // promoted meanwhile
	}
	tx := content.Queued[slot]
	if tx == nil {
		return fmt.Errorf("devnet: transaction %d of %s is not in the pool", nonce, from)
	}
	if mined, err := d.eth.NonceAt(ctx, from, nil); err != nil {
		return fmt.Errorf("devnet: read the nonce of %s: %w", from, err)
	} else if mined == nonce {
		return nil // not stranded: next in line
	}
	inner, err := raisedFees(tx, d.chainID)
	if err != nil {
		return err
	}
	again, err := types.SignNewTx(key, d.signer, inner)
	if err != nil {
		return fmt.Errorf("devnet: sign: %w", err)
	}
	if err := d.eth.SendTransaction(ctx, again); err != nil {
		// Promoted and mined or replaced meanwhile: settle reads again.
		d.log.Debug("devnet: nudge the pool", "nonce", nonce, "err", err)
		return nil
	}
	d.log.Debug("devnet: nudged a stranded transaction", "from", from, "nonce", nonce, "old", tx.Hash(), "new", again.Hash())
	return nil
}

// raisedFees is tx, of its own type, with its fees raised by an eighth.
func raisedFees(tx *types.Transaction, chainID uint64) (types.TxData, error) {
	raise := func(x *big.Int) *big.Int {
		return new(big.Int).Add(x, new(big.Int).Add(new(big.Int).Rsh(x, 3), common.Big1))
	}
	id := new(big.Int).SetUint64(chainID)
	switch tx.Type() {
	case types.LegacyTxType:
		return &types.LegacyTx{Nonce: tx.Nonce(), GasPrice: raise(tx.GasPrice()), Gas: tx.Gas(), To: tx.To(),
			Value: tx.Value(), Data: tx.Data()}, nil
	case types.AccessListTxType:
		return &types.AccessListTx{ChainID: id, Nonce: tx.Nonce(), GasPrice: raise(tx.GasPrice()), Gas: tx.Gas(),
			To: tx.To(), Value: tx.Value(), Data: tx.Data(), AccessList: tx.AccessList()}, nil
	case types.DynamicFeeTxType:
		return &types.DynamicFeeTx{ChainID: id, Nonce: tx.Nonce(), GasTipCap: raise(tx.GasTipCap()),
			GasFeeCap: raise(tx.GasFeeCap()), Gas: tx.Gas(), To: tx.To(), Value: tx.Value(), Data: tx.Data(),
			AccessList: tx.AccessList()}, nil
	case types.SetCodeTxType:
		return &types.SetCodeTx{ChainID: uint256.MustFromBig(id), Nonce: tx.Nonce(),
			GasTipCap: uint256.MustFromBig(raise(tx.GasTipCap())), GasFeeCap: uint256.MustFromBig(raise(tx.GasFeeCap())),
			Gas: tx.Gas(), To: *tx.To(), Value: uint256.MustFromBig(tx.Value()), Data: tx.Data(),
			AccessList: tx.AccessList(), AuthList: tx.SetCodeAuthorizations()}, nil
	}
	return nil, fmt.Errorf("devnet: cannot re-send a transaction of type %d", tx.Type())
}
