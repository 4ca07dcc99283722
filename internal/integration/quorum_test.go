package integration

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/ethclient"
	"github.com/ethereum/go-ethereum/rpc"

	"github.com/braidrpc/braid/internal/await"
	"github.com/braidrpc/braid/internal/config"
	"github.com/braidrpc/braid/internal/devnet"
	"github.com/braidrpc/braid/internal/jsonrpc"
	"github.com/braidrpc/braid/internal/quorum"
)

// quorumRead is one read of a quorum-eligible method, pinned to an
// explicit block so that its honest answer is fixed.
type quorumRead struct {
	method string
	params []any
}

// quorumReads returns reads of every quorum-eligible method at block
// num of the live chain. It needs a block at or below num with a token
// transfer in it, for the transaction, receipt and log reads.
func quorumReads(t testing.TB, s *liveStack, num uint64) []quorumRead {
	t.Helper()
	ctx := context.Background()
	honest := ethclient.NewClient(s.dn.RPC())
	var tx common.Hash
	var txBlock *types.Block
	for n := num; n > 0 && txBlock == nil; n-- {
		b, err := honest.BlockByNumber(ctx, new(big.Int).SetUint64(n))
		if err != nil {
			t.Fatal(err)
		}
		if len(b.Transactions()) > 0 {
			txBlock, tx = b, b.Transactions()[0].Hash()
		}
	}
	if txBlock == nil {
		t.Fatalf("no transaction at or below block %d", num)
	}
	at := hexutil.EncodeUint64(num)
	balanceOf := "0x70a08231" + strings.Repeat("0", 24) + strings.TrimPrefix(strings.ToLower(s.user.Hex()), "0x")
	transfer := "0xa9059cbb" + strings.Repeat("0", 24) + strings.Repeat("11", 20) + fmt.Sprintf("%064x", 1)
	return []quorumRead{
		{"eth_getBalance", []any{s.user, at}},
		{"eth_getTransactionCount", []any{s.user, at}},
		{"eth_getCode", []any{s.token, at}},
		{"eth_getStorageAt", []any{s.token, "0x2", at}},
		{"eth_call", []any{map[string]any{"to": s.token, "data": balanceOf}, at}},
		{"eth_estimateGas", []any{map[string]any{"from": s.user, "to": s.token, "data": transfer}, at}},
		{"eth_getProof", []any{s.user, []string{}, at}},
		{"eth_getBlockByNumber", []any{at, false}},
		{"eth_getBlockByHash", []any{txBlock.Hash(), true}},
		{"eth_getTransactionByHash", []any{tx}},
		{"eth_getTransactionReceipt", []any{tx}},
		{"eth_getLogs", []any{map[string]any{"fromBlock": hexutil.EncodeUint64(txBlock.NumberU64()), "toBlock": at, "address": s.token}}},
	}
}

// quorumRun is what a run of quorum reads saw.
type quorumRun struct {
	reads, wrong, errs atomic.Int64
	mu                 sync.Mutex
	codes              map[int]int
	examples           []string
}

func (r *quorumRun) note(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.examples) < exampleCap {
		r.examples = append(r.examples, fmt.Sprintf(format, args...))
	}
}

// runQuorumReads sends total reads from clients concurrent clients,
// refreshing the pinned block as the chain grows, and compares every
// answer with the honest chain's.
func runQuorumReads(t *testing.T, s *liveStack, clients, total int) *quorumRun {
	t.Helper()
	ctx := context.Background()
	honest := s.dn.RPC()
	run := &quorumRun{codes: map[int]int{}}
	var next atomic.Int64
	var mu sync.Mutex
	var reads []quorumRead
	var wants []json.RawMessage
	refresh := func() {
		num := s.tip().Latest.Number
		rs := quorumReads(t, s, num)
		ws := make([]json.RawMessage, len(rs))
		for i, r := range rs {
			if err := honest.CallContext(ctx, &ws[i], r.method, r.params...); err != nil {
				t.Errorf("honest %s: %v", r.method, err)
			}
		}
		mu.Lock()
		reads, wants = rs, ws
		mu.Unlock()
	}
	refresh()
	var wg sync.WaitGroup
	for range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := next.Add(1)
				if i > int64(total) {
					return
				}
				if i%500 == 0 {
					refresh()
				}
				mu.Lock()
				r, want := reads[int(i)%len(reads)], wants[int(i)%len(reads)]
				mu.Unlock()
				var got json.RawMessage
				err := s.rpc.CallContext(ctx, &got, r.method, r.params...)
				run.reads.Add(1)
				if err != nil {
					run.errs.Add(1)
					var re rpc.Error
					code := 0
					if errors.As(err, &re) {
						code = re.ErrorCode()
					}
					run.mu.Lock()
					run.codes[code]++
					run.mu.Unlock()
					run.note("%s: %v", r.method, err)
					continue
				}
				if string(quorum.Canonical(got, nil)) != string(quorum.Canonical(want, nil)) {
					run.wrong.Add(1)
					run.note("WRONG %s %v:\n got %.200s\nwant %.200s", r.method, r.params, got, want)
				}
			}
		}()
	}
	wg.Wait()
	return run
}

// TestQuorumNoLieReachesTheClient: quorum 2 over 3 operators, one of them
// lying on every state, block, transaction, receipt and log answer. A few
// thousand reads of every quorum-eligible method: none wrong, and the
// liar ends up quarantined.
func TestQuorumNoLieReachesTheClient(t *testing.T) {
	s := newLiveStackWith(t, liveOptions{hedge: true, providers: 3, quorum: config.Quorum{K: 2}})
	liar := s.dn.Provider("p2")
	liar.SetFaults(devnet.Faults{Lie: true})

	run := runQuorumReads(t, s, 8, 3000)
	t.Logf("%d reads: %d wrong, %d errors %v", run.reads.Load(), run.wrong.Load(), run.errs.Load(), run.codes)
	for _, e := range run.examples {
		t.Log(e)
	}
	if run.wrong.Load() != 0 {
		t.Fatalf("%d wrong answers reached the client", run.wrong.Load())
	}
	// Two honest operators can always answer: a read may fail only for a
	// reason that has nothing to do with the lie.
	if run.errs.Load() > run.reads.Load()/200 {
		t.Errorf("%d of %d reads failed", run.errs.Load(), run.reads.Load())
	}
	st := s.gw.Status().Networks[0]
	var quarantined bool
	for _, op := range st.Operators {
		switch {
		case op.Name == liar.Operator:
			quarantined = op.QuarantinedUntil != nil
		case op.QuarantinedUntil != nil || op.Strikes > 0:
			t.Errorf("honest operator %s: %d strikes, quarantined until %v", op.Name, op.Strikes, op.QuarantinedUntil)
		}
	}
	if !quarantined {
		t.Errorf("the liar %s is not quarantined: %+v", liar.Operator, st.Operators)
	}
	if len(s.gw.Disputes()) == 0 {
		t.Error("no dispute logged")
	}
}

// TestQuorumTwoDifferentLies: quorum 2 over 3 operators, two of them
// lying differently. No two operators agree on what the lies touch:
// clients get dispute errors, never a wrong answer.
func TestQuorumTwoDifferentLies(t *testing.T) {
	s := newLiveStackWith(t, liveOptions{hedge: true, providers: 3, quorum: config.Quorum{K: 2}})
	s.dn.Provider("p2").SetFaults(devnet.Faults{Lie: true, LieVariant: 1})
	s.dn.Provider("p3").SetFaults(devnet.Faults{Lie: true, LieVariant: 2})

	run := runQuorumReads(t, s, 4, 600)
	t.Logf("%d reads: %d wrong, %d errors %v", run.reads.Load(), run.wrong.Load(), run.errs.Load(), run.codes)
	for _, e := range run.examples {
		t.Log(e)
	}
	if run.wrong.Load() != 0 {
		t.Fatalf("%d wrong answers reached the client", run.wrong.Load())
	}
	if run.codes[jsonrpc.CodeDispute] == 0 {
		t.Fatalf("no dispute errors: %v", run.codes)
	}
	for code := range run.codes {
		if code != jsonrpc.CodeDispute {
			t.Errorf("errors with code %d: only disputes expected (%v)", code, run.codes)
		}
	}
	// Nobody can tell who lied: nobody is struck.
	for _, op := range s.gw.Status().Networks[0].Operators {
		if op.Strikes > 0 {
			t.Errorf("operator %s struck in an unresolved dispute", op.Name)
		}
	}
}

// TestBroadcastLandsWithOneOperatorLeft: with every operator but one
// down, a transaction sent through braid still lands; with all down the
// client gets a clear error.
func TestBroadcastLandsWithOneOperatorLeft(t *testing.T) {
	s := newLiveStackWith(t, liveOptions{hedge: true})
	ctx := context.Background()
	honest := ethclient.NewClient(s.dn.RPC())
	for _, name := range []string{"p1", "p2", "p3"} {
		s.dn.Provider(name).SetFaults(devnet.Faults{Down: true})
	}
	tx := signTransfer(t, s, honest, 0)
	raw, _ := tx.MarshalBinary()
	var hash common.Hash
	if err := s.rpc.CallContext(ctx, &hash, "eth_sendRawTransaction", hexutil.Bytes(raw)); err != nil {
		t.Fatalf("send with one operator up: %v", err)
	}
	if hash != tx.Hash() {
		t.Fatalf("hash %s, want %s", hash, tx.Hash())
	}
	if !await.Poll(10*time.Second, func() bool {
		r, err := honest.TransactionReceipt(ctx, tx.Hash())
		return err == nil && r.Status == types.ReceiptStatusSuccessful
	}) {
		t.Fatal("the transaction did not land")
	}

	s.dn.Provider("p4").SetFaults(devnet.Faults{Down: true})
	tx2 := signTransfer(t, s, honest, 1)
	raw2, _ := tx2.MarshalBinary()
	err := s.rpc.CallContext(ctx, &hash, "eth_sendRawTransaction", hexutil.Bytes(raw2))
	var re rpc.Error
	if !errors.As(err, &re) || re.ErrorCode() != jsonrpc.CodeUpstreamsFailed || !strings.Contains(err.Error(), "no operator accepted the transaction") {
		t.Fatalf("send with all down: %v, want -32041 no operator accepted the transaction", err)
	}
	var de rpc.DataError
	if errors.As(err, &de) {
		data, _ := json.Marshal(de.ErrorData())
		for _, op := range []string{"operator-1", "operator-4"} {
			if !strings.Contains(string(data), op) {
				t.Errorf("error data %s does not name %s", data, op)
			}
		}
	}
}

// signTransfer signs a plain transfer from the devnet user, nonce offset
// past its pending nonce.
func signTransfer(t *testing.T, s *liveStack, ec *ethclient.Client, offset uint64) *types.Transaction {
	t.Helper()
	ctx := context.Background()
	head, err := ec.HeaderByNumber(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	nonce, err := ec.PendingNonceAt(ctx, s.user)
	if err != nil {
		t.Fatal(err)
	}
	chainID := new(big.Int).SetUint64(s.dn.ChainID())
	to := common.HexToAddress("0x00000000000000000000000000000000000000bb")
	tx, err := types.SignNewTx(s.dn.UserPrivateKey(), types.LatestSignerForChainID(chainID), &types.DynamicFeeTx{
		ChainID: chainID, Nonce: nonce + offset, GasTipCap: big.NewInt(1e9),
		GasFeeCap: new(big.Int).Add(new(big.Int).Mul(head.BaseFee, big.NewInt(2)), big.NewInt(1e9)),
		Gas:       21000, To: &to, Value: big.NewInt(12345),
	})
	if err != nil {
		t.Fatal(err)
	}
	return tx
}
