package historytest

import (
	"context"
	"crypto/ecdsa"
	"fmt"
	"math/big"
	"slices"

	"github.com/ethereum/go-ethereum"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/crypto/kzg4844"
	"github.com/ethereum/go-ethereum/ethclient"
	"github.com/ethereum/go-ethereum/params"
	"github.com/holiman/uint256"

	"github.com/braidrpc/braid/internal/devnet"
)

// sender signs transactions of every type from the devnet's user account.
// It owns the account's nonces: it reads the chain's once, then counts the
// transactions it sent, so no nonce depends on the pool's view, which lags
// a block by a background reset and does not count queued transactions.
type sender struct {
	d       *devnet.Devnet
	ec      *ethclient.Client
	key     *ecdsa.PrivateKey
	from    common.Address
	chainID *big.Int
	signer  types.Signer
	next    uint64            // the user's nonce after the last it sent
	blobKey *ecdsa.PrivateKey // the blob sender once funded; it sends nonce 0 only
}

// newSender starts counting the user's nonces at the chain's: nothing but
// the sender sends from that account.
func newSender(ctx context.Context, d *devnet.Devnet) (*sender, error) {
	key := d.UserPrivateKey()
	id := new(big.Int).SetUint64(d.ChainID())
	s := &sender{d: d, ec: ethclient.NewClient(d.RPC()), key: key, from: crypto.PubkeyToAddress(key.PublicKey),
		chainID: id, signer: types.LatestSignerForChainID(id)}
	next, err := s.ec.NonceAt(ctx, s.from, nil)
	if err != nil {
		return nil, fmt.Errorf("historytest: the user's nonce: %w", err)
	}
	s.next = next
	return s, nil
}

// prices returns a fee cap of twice the head's base fee plus a tip, and the
// tip.
func (s *sender) prices(ctx context.Context) (*big.Int, *big.Int, error) {
	head, err := s.ec.HeaderByNumber(ctx, nil)
	if err != nil {
		return nil, nil, fmt.Errorf("historytest: read the head: %w", err)
	}
	tip := big.NewInt(params.GWei)
	return new(big.Int).Add(new(big.Int).Mul(head.BaseFee, big.NewInt(2)), tip), tip, nil
}

func (s *sender) send(ctx context.Context, key *ecdsa.PrivateKey, inner types.TxData, name string, special map[string]common.Hash) error {
	tx, err := types.SignNewTx(key, s.signer, inner)
	if err != nil {
		return fmt.Errorf("historytest: sign %s: %w", name, err)
	}
	if err := s.ec.SendTransaction(ctx, tx); err != nil {
		return fmt.Errorf("historytest: send %s: %w", name, err)
	}
	if key == s.key {
		s.next = max(s.next, tx.Nonce()+1)
	}
	if special != nil {
		special[name] = tx.Hash()
	}
	return nil
}

// olderKinds sends, for one block: an EIP-155 legacy transfer, an
// access-list transfer, a dynamic-fee contract creation and a token
// transfer that reverts.
func (s *sender) olderKinds(ctx context.Context, special map[string]common.Hash) error {
	nonce := s.next
	price, tip, err := s.prices(ctx)
	if err != nil {
		return err
	}
	to := devnet.Recipients[1]
	code := common.FromHex("0x600060005360016000f3") // deploys a one-byte contract
	gas, err := s.ec.EstimateGas(ctx, ethereum.CallMsg{From: s.from, Data: code})
	if err != nil {
		return err
	}
	// transfer(recipient, 2^200): more tokens than anyone has, so it reverts.
	revert := append(common.FromHex("0xa9059cbb"), common.LeftPadBytes(to.Bytes(), 32)...)
	revert = append(revert, common.LeftPadBytes(new(big.Int).Lsh(common.Big1, 200).Bytes(), 32)...)
	token := s.d.Token()
	txs := []struct {
		name  string
		inner types.TxData
	}{
		{"legacy", &types.LegacyTx{Nonce: nonce, GasPrice: price, Gas: 21000, To: &to, Value: big.NewInt(7)}},
		{"accessList", &types.AccessListTx{ChainID: s.chainID, Nonce: nonce + 1, GasPrice: price, Gas: 40000, To: &to,
			Value: big.NewInt(8), AccessList: types.AccessList{{Address: to, StorageKeys: []common.Hash{{1}, {2}}}}}},
		{"create", &types.DynamicFeeTx{ChainID: s.chainID, Nonce: nonce + 2, GasTipCap: tip, GasFeeCap: price, Gas: gas * 2, Data: code}},
		{"reverted", &types.DynamicFeeTx{ChainID: s.chainID, Nonce: nonce + 3, GasTipCap: tip, GasFeeCap: price, Gas: 100000,
			To: &token, Data: revert}},
	}
	// Lowest nonce last: the pool queues the others until it arrives and
	// then makes them all executable at once, so none is stranded in its
	// queue (see devnet.CommitAll).
	for _, tx := range slices.Backward(txs) {
		if err := s.send(ctx, s.key, tx.inner, tx.name, special); err != nil {
			return err
		}
	}
	return nil
}

// commit seals blocks until every transaction the sender sent is mined
// (devnet.CommitAll: a bare Commit can leave one in the pool's queue, and
// a block can be sealed before it holds them all). Usually one block.
func (s *sender) commit(ctx context.Context) error {
	if _, err := s.d.CommitAll(ctx, s.key, s.next); err != nil {
		return fmt.Errorf("historytest: commit: %w", err)
	}
	if s.blobKey == nil {
		return nil
	}
	if mined, err := s.ec.NonceAt(ctx, crypto.PubkeyToAddress(s.blobKey.PublicKey), nil); err != nil {
		return fmt.Errorf("historytest: the blob sender's nonce: %w", err)
	} else if mined >= 1 {
		return nil
	}
	if _, err := s.d.CommitAll(ctx, s.blobKey, 1); err != nil {
		return fmt.Errorf("historytest: commit the blob: %w", err)
	}
	return nil
}

// fundFresh sends ETH to a new account, which will send the blob
// transaction: go-ethereum's pools keep an account's blob transactions
// apart from its others.
func (s *sender) fundFresh(ctx context.Context) (*ecdsa.PrivateKey, error) {
	key, err := crypto.GenerateKey()
	if err != nil {
		return nil, err
	}
	price, tip, err := s.prices(ctx)
	if err != nil {
		return nil, err
	}
	to := crypto.PubkeyToAddress(key.PublicKey)
	fund := &types.DynamicFeeTx{ChainID: s.chainID, Nonce: s.next, GasTipCap: tip, GasFeeCap: price, Gas: 21000,
		To: &to, Value: big.NewInt(params.Ether)}
	return key, s.send(ctx, s.key, fund, "fund", nil)
}

// newerKinds sends, for one block: a set-code transaction from the user
// account delegating a fresh account, and a blob transaction from blobKey.
func (s *sender) newerKinds(ctx context.Context, blobKey *ecdsa.PrivateKey, special map[string]common.Hash) error {
	nonce := s.next
	price, tip, err := s.prices(ctx)
	if err != nil {
		return err
	}
	to := devnet.Recipients[2]
	authority, err := crypto.GenerateKey()
	if err != nil {
		return err
	}
	auth, err := types.SignSetCode(authority, types.SetCodeAuthorization{
		ChainID: *uint256.MustFromBig(s.chainID), Address: devnet.Recipients[3], Nonce: 0})
	if err != nil {
		return err
	}
	setCode := &types.SetCodeTx{ChainID: uint256.MustFromBig(s.chainID), Nonce: nonce, GasTipCap: uint256.MustFromBig(tip),
		GasFeeCap: uint256.MustFromBig(price), Gas: 100000, To: to, Value: uint256.NewInt(5),
		AuthList: []types.SetCodeAuthorization{auth}}
	if err := s.send(ctx, s.key, setCode, "setCode", special); err != nil {
		return err
	}
	side, err := blobSidecar()
	if err != nil {
		return err
	}
	blob := &types.BlobTx{ChainID: uint256.MustFromBig(s.chainID), Nonce: 0, GasTipCap: uint256.MustFromBig(tip),
		GasFeeCap: uint256.MustFromBig(price), Gas: 30000, To: to, Value: uint256.NewInt(3),
		BlobFeeCap: uint256.NewInt(params.GWei), BlobHashes: side.BlobHashes(), Sidecar: side,
		AccessList: types.AccessList{{Address: to}}}
	if err := s.send(ctx, blobKey, blob, "blob", special); err != nil {
		return err
	}
	s.blobKey = blobKey
	return nil
}

// blobSidecar is one small blob with its commitment and cell proofs (the
// devnet runs Osaka, which wants version 1 sidecars).
func blobSidecar() (*types.BlobTxSidecar, error) {
	var blob kzg4844.Blob
	copy(blob[1:], "braid history")
	commit, err := kzg4844.BlobToCommitment(&blob)
	if err != nil {
		return nil, err
	}
	proofs, err := kzg4844.ComputeCellProofs(&blob)
	if err != nil {
		return nil, err
	}
	return types.NewBlobTxSidecar(types.BlobSidecarVersion1, []kzg4844.Blob{blob}, []kzg4844.Commitment{commit}, proofs), nil
}
