package archive

import (
	"context"
	"errors"
	"math/big"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/params"
	"github.com/ethereum/go-ethereum/trie"

	"github.com/braidrpc/braid/internal/block"
	"github.com/braidrpc/braid/internal/clock"
	"github.com/braidrpc/braid/internal/ethjson"
	"github.com/braidrpc/braid/internal/history"
	"github.com/braidrpc/braid/internal/peers"
)

// scriptedPeers answers every Locate with one payload, put through the
// caller's check, and counts the calls.
type scriptedPeers struct {
	payload []byte
	calls   int
	checked error // what the check said
}

func (p *scriptedPeers) Locate(_ context.Context, txHash common.Hash, check peers.Check) (history.TxLocation, peers.Transfer, error) {
	p.calls++
	if p.payload == nil {
		return history.TxLocation{}, peers.Transfer{}, peers.ErrNoHolders
	}
	if p.checked = check(p.payload); p.checked != nil {
		if peers.IsLie(p.checked) {
			return history.TxLocation{}, peers.Transfer{}, peers.ErrUnavailable
		}
		return history.TxLocation{}, peers.Transfer{}, p.checked
	}
	loc, err := peers.DecodeLocation(p.payload)
	return loc, peers.Transfer{}, err
}

// txChain is a chain of linked headers whose block 10 holds three signed
// transactions; blocks 10 and 12 (empty) are in a store with their bodies
// (not canonical there, so its index knows none of the transactions).
func txChain(t *testing.T) ([]*types.Header, types.Transactions, *history.Store) {
	t.Helper()
	key, _ := crypto.GenerateKey()
	cfg := params.MergedTestChainConfig
	signer := types.LatestSignerForChainID(cfg.ChainID)
	var txs types.Transactions
	for i := range 3 {
		tx := types.MustSignNewTx(key, signer, &types.DynamicFeeTx{ChainID: cfg.ChainID, Nonce: uint64(i), Gas: 21000,
			GasFeeCap: big.NewInt(2e9), GasTipCap: big.NewInt(1e9), To: &common.Address{1}, Value: big.NewInt(1)})
		txs = append(txs, tx)
	}
	hs := make([]*types.Header, 20)
	parent := common.Hash{}
	for i := range hs {
		hs[i] = &types.Header{ParentHash: parent, Number: big.NewInt(int64(i)), Difficulty: new(big.Int), GasLimit: 30_000_000,
			UncleHash: types.EmptyUncleHash, TxHash: types.EmptyTxsHash, ReceiptHash: types.EmptyReceiptsHash, BaseFee: big.NewInt(1e9)}
		if i == 10 {
			hs[i].TxHash = types.DeriveSha(txs, trie.NewStackTrie(nil))
		}
		parent = hs[i].Hash()
	}
	s, err := history.Open(t.TempDir(), history.Options{MaxBytes: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	for _, n := range []int{10, 12} {
		body := &types.Body{}
		if n == 10 {
			body.Transactions = txs
		}
		if err := s.PutHeader(hs[n]); err != nil {
			t.Fatal(err)
		}
		if err := s.PutBody(hs[n].Hash(), body); err != nil {
			t.Fatal(err)
		}
	}
	return hs, txs, s
}

// A peer's location of a transaction is believed only when braid's
// trusted path says the block is canonical and its verified body holds the
// transaction at that index; every other claim is the peer's lie, and a
// location that cannot be checked ends the lookup without blaming anyone.
// A hash nobody located is not asked of peers again for a minute.
func TestPeerLocationIsChecked(t *testing.T) {
	hs, txs, s := txChain(t)
	fake := clock.NewFake(time.Unix(1_700_000_000, 0))
	r := &deepReader{chain: hs, floor: 5, walk: 0}
	tip := block.Tip{Known: true, Latest: block.Block{Number: 19, Hash: hs[19].Hash()}, Finalized: block.Block{Number: 15, Hash: hs[15].Hash()}}
	p := &scriptedPeers{}
	a := &Archive{store: s, reader: r, tip: func() block.Tip { return tip }, render: ethjson.New(params.MergedTestChainConfig),
		clock: fake, locate: newLocator(p)}
	ctx := context.Background()
	at := func(hash common.Hash, number, index uint64) []byte {
		return peers.AppendLocation(nil, history.TxLocation{BlockHash: hash, Number: number, Index: index})
	}
	b10 := hs[10].Hash()

	p.payload = at(b10, 10, 1)
	b, src, err := a.peerTx(ctx, txs[1].Hash(), false)
	if err != nil || b.Hash() != b10 || src != sourceStore {
		t.Fatalf("true location: block %v, source %q, %v", b, src, err)
	}
	for name, payload := range map[string][]byte{
		"malformed":       at(b10, 10, 1)[:47],
		"not canonical":   at(hs[11].Hash(), 10, 1),
		"another index":   at(b10, 10, 2),
		"past the end":    at(b10, 10, 3),
		"another block":   at(hs[12].Hash(), 12, 0),
		"number mismatch": at(b10, 11, 1),
	} {
		p.payload = payload
		if _, _, err := a.peerTx(ctx, txs[1].Hash(), false); !errors.Is(err, errNotHeld) || !peers.IsLie(p.checked) {
			t.Errorf("%s: %v (check said %v), want not held after a lie", name, err, p.checked)
		}
		a.locate.misses.Purge()
	}
	// Below what the trusted path reaches, or above the served tip (a
	// peer ahead of this gateway may be right): not checkable, nobody
	// blamed.
	for _, payload := range [][]byte{at(hs[3].Hash(), 3, 0), at(b10, 25, 1)} {
		p.payload = payload
		if _, _, err := a.peerTx(ctx, txs[1].Hash(), false); err == nil || errors.Is(err, errNotHeld) || peers.IsLie(p.checked) {
			t.Errorf("uncheckable location: %v (check said %v)", err, p.checked)
		}
	}

	// Nobody located it: asked once a minute, however often clients poll.
	p.payload, p.calls = nil, 0
	missing := common.HexToHash("0x77")
	for range 5 {
		if _, _, err := a.peerTx(ctx, missing, true); !errors.Is(err, errNotHeld) {
			t.Fatal(err)
		}
	}
	if p.calls != 1 {
		t.Fatalf("peers asked %d times within a minute, want 1", p.calls)
	}
	fake.Advance(locateMissTTL)
	if _, _, _ = a.peerTx(ctx, missing, true); p.calls != 2 {
		t.Fatalf("peers asked %d times after a minute, want 2", p.calls)
	}
}
