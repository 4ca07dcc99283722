package devnet

import (
	"encoding/json"
	"math/big"
	"strconv"
	"strings"
	"testing"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/holiman/uint256"
)

// streamPool reads the pool's pending and queued stream transactions.
func streamPool(t *testing.T, d *Devnet) (pending, queued map[string]*types.Transaction) {
	t.Helper()
	var content struct {
		Pending map[string]*types.Transaction `json:"pending"`
		Queued  map[string]*types.Transaction `json:"queued"`
	}
	raw := mustHonest(t, d, "txpool_contentFrom", crypto.PubkeyToAddress(d.stream.PublicKey))
	if err := json.Unmarshal(raw, &content); err != nil {
		t.Fatal(err)
	}
	return content.Pending, content.Queued
}

// A stream transaction stranded in the pool's queue is re-sent with higher
// fees, and settle reports a gap it cannot close instead of sealing half a
// round.
func TestSettleAndNudge(t *testing.T) {
	d := newTestDevnet(t, 1)
	from := crypto.PubkeyToAddress(d.stream.PublicKey)
	d.mu.Lock()
	defer d.mu.Unlock()

	// Leave a gap: skip one nonce, so the next transaction stays queued.
	gap := d.streamNonce
	d.streamNonce++
	queuedTx, err := d.send(t.Context(), &Recipients[0], big.NewInt(1), nil)
	if err != nil {
		t.Fatal(err)
	}
	key := strconv.FormatUint(queuedTx.Nonce(), 10)
	if _, queued := streamPool(t, d); queued[key] == nil || queued[key].Hash() != queuedTx.Hash() {
		t.Fatalf("the pool does not queue %s: %v", queuedTx.Hash(), queued)
	}

	// settle finds the missing nonce when it tries to nudge it.
	if err := d.settle(t.Context()); err == nil || !strings.Contains(err.Error(), "transaction "+strconv.FormatUint(gap, 10)+" of "+from.Hex()+" is not in the pool") {
		t.Errorf("settle with a nonce gap = %v", err)
	}

	if err := d.nudge(t.Context(), d.stream, queuedTx.Nonce()); err != nil {
		t.Fatal(err)
	}
	_, queued := streamPool(t, d)
	again := queued[key]
	if again == nil || again.Hash() == queuedTx.Hash() || again.GasTipCap().Cmp(queuedTx.GasTipCap()) <= 0 ||
		again.GasFeeCap().Cmp(queuedTx.GasFeeCap()) <= 0 || *again.To() != *queuedTx.To() ||
		again.Value().Cmp(queuedTx.Value()) != 0 || again.Gas() != queuedTx.Gas() {
		t.Fatalf("after nudge the pool queues %+v, want %s re-sent with higher fees", again, queuedTx.Hash())
	}

	// Close the gap: both become executable, settle returns and one block
	// mines both.
	d.streamNonce = gap
	if _, err := d.send(t.Context(), &Recipients[1], big.NewInt(1), nil); err != nil {
		t.Fatal(err)
	}
	d.streamNonce = queuedTx.Nonce() + 1
	if err := d.settle(t.Context()); err != nil {
		t.Fatalf("settle: %v", err)
	}
	var b struct {
		Transactions []common.Hash `json:"transactions"`
	}
	if err := json.Unmarshal(mustHonest(t, d, "eth_getBlockByHash", d.backend.Commit(), false), &b); err != nil {
		t.Fatal(err)
	}
	if txs := b.Transactions; len(txs) != 2 || txs[1] != again.Hash() {
		t.Errorf("block has %v, want the gap's transaction and %s", txs, again.Hash())
	}
}

// A nudge re-sends a transaction of its own type, so a test's legacy,
// access-list or set-code transaction stays one; only its fees rise.
func TestRaisedFeesKeepTheType(t *testing.T) {
	to := Recipients[0]
	auth := types.SetCodeAuthorization{Address: Recipients[1], Nonce: 3}
	for _, inner := range []types.TxData{
		&types.LegacyTx{Nonce: 4, GasPrice: big.NewInt(100), Gas: 21000, To: &to, Value: big.NewInt(1)},
		&types.AccessListTx{ChainID: big.NewInt(1337), Nonce: 4, GasPrice: big.NewInt(100), Gas: 30000, To: &to,
			AccessList: types.AccessList{{Address: to}}},
		&types.DynamicFeeTx{ChainID: big.NewInt(1337), Nonce: 4, GasTipCap: big.NewInt(10), GasFeeCap: big.NewInt(100), Gas: 21000, To: &to},
		&types.SetCodeTx{ChainID: uint256.NewInt(1337), Nonce: 4, GasTipCap: uint256.NewInt(10), GasFeeCap: uint256.NewInt(100),
			Gas: 50000, To: to, AuthList: []types.SetCodeAuthorization{auth}},
	} {
		tx := types.NewTx(inner)
		got, err := raisedFees(tx, 1337)
		if err != nil {
			t.Fatal(err)
		}
		again := types.NewTx(got)
		if again.Type() != tx.Type() || again.Nonce() != tx.Nonce() || again.Gas() != tx.Gas() || *again.To() != to ||
			again.GasFeeCap().Cmp(tx.GasFeeCap()) <= 0 || again.GasTipCap().Cmp(tx.GasTipCap()) <= 0 ||
			len(again.AccessList()) != len(tx.AccessList()) || len(again.SetCodeAuthorizations()) != len(tx.SetCodeAuthorizations()) {
			t.Errorf("type %d re-sent as %+v", tx.Type(), got)
		}
	}
	if _, err := raisedFees(types.NewTx(&types.BlobTx{}), 1337); err == nil {
		t.Error("a blob transaction was re-sent")
	}
}
