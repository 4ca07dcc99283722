package historytest

import (
	"context"
	"crypto/ecdsa"
	"fmt"
	"math/big"
	"slices"
	"time"

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
type sender struct {
	d       *devnet.Devnet
	ec      *ethclient.Client
	key     *ecdsa.PrivateKey
	from    common.Address
	chainID *big.Int
	signer  types.Signer
	next    uint64 // the user's nonce after the last it sent
}

func newSender(d *devnet.Devnet) *sender {
	key := d.UserPrivateKey()
	id := new(big.Int).SetUint64(d.ChainID())
	return &sender{d: d, ec: ethclient.NewClient(d.RPC()), key: key, from: crypto.PubkeyToAddress(key.PublicKey),
		chainID: id, signer: types.LatestSignerForChainID(id)}
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
	nonce, err := s.settledNonce(ctx)
	if err != nil {
		return err
	}
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

// commit seals a block with every transaction the user account sent
// (devnet.CommitAll: a bare Commit can leave one in the pool's queue).
func (s *sender) commit(ctx context.Context) error {
	_, err := s.d.CommitAll(ctx, s.key, s.next)
	return err
}

// settledNonce returns the user's next nonce once the pool has caught up
// with the last committed block: go-ethereum's pool resets after a new
// head in the background, and until then its pending nonce can name a
// transaction that was just mined, so a new one would be refused as an
// underpriced replacement. It waits as long as ctx (the build's) allows:
// a budget of its own, shorter than the build's, failed a starved
// process in the middle of an RPC write.
func (s *sender) settledNonce(ctx context.Context) (uint64, error) {
	for {
		pending, err := s.ec.PendingNonceAt(ctx, s.from)
		if err != nil {
			return 0, fmt.Errorf("historytest: read the pool's nonce of %s: %w", s.from, err)
		}
		latest, err := s.ec.NonceAt(ctx, s.from, nil)
		if err != nil {
			return 0, fmt.Errorf("historytest: read the nonce of %s: %w", s.from, err)
		}
		if pending == latest {
			return pending, nil
		}
		select {
		case <-ctx.Done():
			return 0, fmt.Errorf("historytest: the pool's nonce %d never settled at the chain's %d: %w", pending, latest, ctx.Err())
		case <-time.After(5 * time.Millisecond):
		}
	}
}

// fundFresh sends ETH to a new account, which will send the blob
// transaction: go-ethereum's pools keep an account's blob transactions
// apart from its others.
func (s *sender) fundFresh(ctx context.Context) (*ecdsa.PrivateKey, error) {
	key, err := crypto.GenerateKey()
	if err != nil {
		return nil, err
	}
	nonce, err := s.settledNonce(ctx)
	if err != nil {
		return nil, err
	}
	price, tip, err := s.prices(ctx)
	if err != nil {
		return nil, err
	}
	to := crypto.PubkeyToAddress(key.PublicKey)
	fund := &types.DynamicFeeTx{ChainID: s.chainID, Nonce: nonce, GasTipCap: tip, GasFeeCap: price, Gas: 21000,
		To: &to, Value: big.NewInt(params.Ether)}
	return key, s.send(ctx, s.key, fund, "fund", nil)
}

// newerKinds sends, for one block: a set-code transaction from the user
// account delegating a fresh account, and a blob transaction from blobKey.
func (s *sender) newerKinds(ctx context.Context, blobKey *ecdsa.PrivateKey, special map[string]common.Hash) error {
	nonce, err := s.settledNonce(ctx)
	if err != nil {
		return err
	}
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
	return s.send(ctx, blobKey, blob, "blob", special)
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
