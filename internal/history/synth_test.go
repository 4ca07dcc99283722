package history

import (
	"context"
	"math/big"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/params"
	"github.com/ethereum/go-ethereum/trie"

	"github.com/braidrpc/braid/internal/clock"
	"github.com/braidrpc/braid/internal/history/historytest"
)

var (
	chainOnce sync.Once
	chainVal  *historytest.Chain
	chainErr  error
)

// testChain is a devnet chain shared by the package's tests.
func testChain(t testing.TB) *historytest.Chain {
	t.Helper()
	chainOnce.Do(func() { chainVal, chainErr = historytest.New(context.Background()) })
	if chainErr != nil {
		t.Fatal(chainErr)
	}
	return chainVal
}

func TestMain(m *testing.M) {
	m.Run()
	if chainVal != nil {
		chainVal.Devnet.Close()
	}
}

// synthKey signs synthetic transactions.
var synthKey, _ = crypto.HexToECDSA("8a1f9a8f95be41cd7ccb6168179afb4504aefe388d1e14474d32c45c72ce7b7a")

// synthBlock is a made-up but self-consistent block: its header commits to
// its transactions, receipts and withdrawals. salt tells apart blocks of
// the same number (forks) and makes every transaction unique.
type synthBlock struct {
	header   *types.Header
	body     *types.Body
	receipts types.Receipts
}

func (b *synthBlock) hash() common.Hash { return b.header.Hash() }

func makeBlock(t testing.TB, number uint64, txs int, salt byte, preMerge bool) *synthBlock {
	t.Helper()
	return makeBlockWith(t, number, txs, salt, preMerge, 100+int(salt), 1)
}

// makeBlockWith is makeBlock with dataLen bytes of calldata per transaction
// and logs logs (two topics, 64 bytes of data) per receipt.
func makeBlockWith(t testing.TB, number uint64, txs int, salt byte, preMerge bool, dataLen, logs int) *synthBlock {
	t.Helper()
	signer := types.LatestSignerForChainID(big.NewInt(1337))
	body := &types.Body{Withdrawals: []*types.Withdrawal{}}
	var receipts types.Receipts
	gas := uint64(0)
	for i := range txs {
		to := common.Address{salt, byte(i)}
		tx, err := types.SignNewTx(synthKey, signer, &types.DynamicFeeTx{ChainID: big.NewInt(1337),
			Nonce: number<<16 | uint64(i), GasTipCap: big.NewInt(1), GasFeeCap: big.NewInt(params.GWei),
			Gas: 50000, To: &to, Data: abiLike(dataLen, number, salt, i), Value: big.NewInt(int64(salt))})
		if err != nil {
			t.Fatal(err)
		}
		body.Transactions = append(body.Transactions, tx)
		gas += 30000
		r := &types.Receipt{Type: tx.Type(), Status: types.ReceiptStatusSuccessful, CumulativeGasUsed: gas}
		for j := range logs {
			r.Logs = append(r.Logs, &types.Log{Address: to, Topics: []common.Hash{{salt, byte(j)}, {byte(i)}},
				Data: abiLike(64, number, byte(j), i)})
		}
		r.Bloom = types.CreateBloom(r)
		receipts = append(receipts, r)
	}
	h := &types.Header{Number: new(big.Int).SetUint64(number), Difficulty: new(big.Int), GasLimit: 30_000_000,
		GasUsed: gas, Time: 1_700_000_000 + number*12, BaseFee: big.NewInt(params.GWei / 2), Extra: []byte{salt},
		ParentHash: common.Hash{byte(number >> 8), byte(number), salt}}
	if preMerge {
		h.Difficulty = big.NewInt(131072)
	}
	blk := types.NewBlock(h, body, receipts, trie.NewStackTrie(nil))
	return &synthBlock{header: blk.Header(), body: blk.Body(), receipts: receipts}
}

// abiLike is n bytes shaped like ABI-encoded words (12 zero bytes, then
// 20 bytes that look random), so compression sees realistic data.
func abiLike(n int, number uint64, salt byte, i int) []byte {
	out := make([]byte, n)
	seed := crypto.Keccak256([]byte{byte(number >> 8), byte(number), salt, byte(i >> 8), byte(i)})
	for w := 0; w*32 < n; w++ {
		seed = crypto.Keccak256(seed)
		copy(out[min(n, w*32+12):min(n, w*32+32)], seed)
	}
	return out
}

// putBlock stores every part of b and makes it canonical.
func putBlock(t testing.TB, s *Store, b *synthBlock) error {
	t.Helper()
	if err := s.PutHeader(b.header); err != nil {
		return err
	}
	if err := s.PutBody(b.hash(), b.body); err != nil {
		return err
	}
	if err := s.PutReceipts(b.hash(), b.receipts); err != nil {
		return err
	}
	return s.SetCanonical(b.header.Number.Uint64(), b.hash(), Proven)
}

// openStore opens a store in a fresh directory with a fake clock.
func openStore(t testing.TB, opts Options) (*Store, *clock.Fake, string) {
	t.Helper()
	dir := t.TempDir()
	fake := clock.NewFake(time.Unix(1_800_000_000, 0))
	if opts.Clock == nil {
		opts.Clock = fake
	}
	s, err := Open(dir, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s, fake, dir
}

// auditBytes checks the accounting against the database: every entry's
// key, value and overhead, with each record at its fixed cost, sum to
// Size, and every block in memory has a record on disk.
func auditBytes(t testing.TB, s *Store) {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	var sum int64
	records := 0
	it := s.kv.NewIterator(nil, nil)
	defer it.Release()
	for it.Next() {
		if len(it.Key()) > len(recordPrefix) && string(it.Key()[:len(recordPrefix)]) == recordPrefix {
			records++
			sum += recordCost
			continue
		}
		if string(it.Key()) == fillKey || strings.HasPrefix(string(it.Key()), tombPrefix) {
			continue // progress and tombstones are outside the bound
		}
		sum += int64(len(it.Key())+len(it.Value())) + EntryOverhead
	}
	if records != len(s.items) {
		t.Fatalf("%d records on disk, %d blocks in memory", records, len(s.items))
	}
	if sum != s.size {
		t.Fatalf("database holds %d accounted bytes, the store counts %d", sum, s.size)
	}
	if s.size > s.opts.MaxBytes {
		t.Fatalf("size %d over the bound %d", s.size, s.opts.MaxBytes)
	}
}
