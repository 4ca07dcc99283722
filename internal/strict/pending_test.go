package strict

import (
	"context"
	"encoding/json"
	"fmt"
	"math/big"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"

	"github.com/braidrpc/braid/internal/clock"
	"github.com/braidrpc/braid/internal/jsonrpc"
	"github.com/braidrpc/braid/internal/plan"
)

// poolOperators answer the pending count of the i-th operator asked with
// counts[i].
type poolOperators struct {
	mu     sync.Mutex
	counts []string
}

func (o *poolOperators) Forward(context.Context, *plan.Plan) (*jsonrpc.Response, error) {
	return nil, fmt.Errorf("not asked under a quorum read")
}

func (o *poolOperators) AskOne(_ context.Context, _ *plan.Plan, exclude []string) (*jsonrpc.Response, string, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if len(exclude) >= len(o.counts) {
		return nil, "", nil
	}
	return &jsonrpc.Response{Result: json.RawMessage(o.counts[len(exclude)])}, fmt.Sprintf("op%d", len(exclude)), nil
}

func pendingPlan(addr common.Address, k int) *plan.Plan {
	a, _ := json.Marshal(addr)
	return &plan.Plan{Method: "eth_getTransactionCount", Quorum: plan.Quorum{K: k},
		Args: []json.RawMessage{a, json.RawMessage(`"pending"`)}}
}

func pendingStage(c clock.Clock, counts ...string) *Stage {
	return New(Options{Network: "t", Verified: fakeReader{}, Operators: &poolOperators{counts: counts}, Clock: c})
}

// The pending nonce is the highest count K of the operators asked reach:
// one operator inventing pooled transactions does not raise it under a
// quorum, and one whose pool lags does not lower it.
func TestPendingNonceUnderQuorum(t *testing.T) {
	addr := common.HexToAddress("0x01")
	for _, tc := range []struct {
		k      int
		counts []string
		want   string
		reason string
	}{
		{1, []string{`"0x9"`, `"0x6"`, `"0x6"`}, `"0x9"`, "the highest 1"},
		{2, []string{`"0x9"`, `"0x6"`, `"0x6"`}, `"0x6"`, "the highest 2"},
		{2, []string{`"0x5"`, `"0x7"`, `"0x6"`}, `"0x6"`, "the highest 2"},
		{3, []string{`"0x9"`, `"0x100"`, `"0x6"`}, `"0x5"`, "only 2 of the 3 operators needed"},
		{4, []string{`"0x9"`, `"0x9"`, `"0x9"`, `"0x9"`}, `"0x9"`, "the highest 4"},
	} {
		s := pendingStage(nil, tc.counts...)
		a, err := s.Verified(context.Background(), pendingPlan(addr, tc.k))
		if err != nil || string(a.Response.Result) != tc.want {
			t.Fatalf("k=%d counts %v: %+v, %v; want %s", tc.k, tc.counts, a.Response, err, tc.want)
		}
		if a.Notes.Level != ProofPartial || !strings.Contains(strings.Join(a.Notes.Reasons, "|"), tc.reason) {
			t.Fatalf("k=%d counts %v: notes %+v, want partial naming %q", tc.k, tc.counts, a.Notes, tc.reason)
		}
	}
}

func signedTx(t *testing.T, key []byte, nonce uint64) *types.Transaction {
	t.Helper()
	k, err := crypto.ToECDSA(key)
	if err != nil {
		t.Fatal(err)
	}
	tx, err := types.SignNewTx(k, types.LatestSignerForChainID(big.NewInt(1337)),
		&types.DynamicFeeTx{ChainID: big.NewInt(1337), Nonce: nonce, Gas: 21000, GasFeeCap: big.NewInt(1), To: &common.Address{}})
	if err != nil {
		t.Fatal(err)
	}
	return tx
}

// Transactions braid relayed count in their sender's pending nonce when
// they follow on without a gap, until relayTTL has passed or the proven
// nonce has passed them; nobody else's nonce moves.
func TestPendingNonceCountsRelayed(t *testing.T) {
	key := crypto.Keccak256([]byte("wallet"))
	pk, _ := crypto.ToECDSA(key)
	wallet := crypto.PubkeyToAddress(pk.PublicKey)
	fc := clock.NewFake(time.Unix(1_700_000_000, 0))
	// The proven latest nonce is 5; the operators' pools have not seen
	// the wallet's transactions (5 and 6) yet, or only one has.
	s := pendingStage(fc, `"0x5"`, `"0x6"`, `"0x5"`)
	ask := func(addr common.Address) string {
		t.Helper()
		a, err := s.Verified(context.Background(), pendingPlan(addr, 2))
		if err != nil {
			t.Fatal(err)
		}
		return string(a.Response.Result)
	}
	if got := ask(wallet); got != `"0x5"` {
		t.Fatalf("before relaying: %s, want 0x5", got)
	}
	s.Relayed(signedTx(t, key, 5))
	s.Relayed(signedTx(t, key, 6))
	s.Relayed(signedTx(t, key, 9)) // after a gap: a pool queues it, it does not count
	if got := ask(wallet); got != `"0x7"` {
		t.Fatalf("after relaying nonces 5, 6 and 9: %s, want 0x7", got)
	}
	if got := ask(common.HexToAddress("0x02")); got != `"0x5"` {
		t.Fatalf("another account: %s, want 0x5", got)
	}
	fc.Advance(relayTTL + time.Second)
	if got := ask(wallet); got != `"0x5"` {
		t.Fatalf("after relayTTL: %s, want the operators' 0x5 again", got)
	}
	if n := len(s.relayed.by); n != 0 {
		t.Fatalf("%d senders still remembered after their nonces expired", n)
	}
}

// The relayed memory is bounded: senders beyond relaySenders push out the
// one relayed to longest ago, and one sender's nonces stay within
// pendingSlack.
func TestRelayedBounded(t *testing.T) {
	fc := clock.NewFake(time.Unix(1_700_000_000, 0))
	r := newRelayed(fc)
	first := crypto.Keccak256([]byte("sender 0"))
	for nonce := range uint64(pendingSlack + 20) {
		r.add(signedTx(t, first, nonce))
		fc.Advance(time.Millisecond)
	}
	pk, _ := crypto.ToECDSA(first)
	if n := len(r.by[crypto.PubkeyToAddress(pk.PublicKey)].nonces); n > pendingSlack {
		t.Fatalf("%d nonces kept for one sender, bound %d", n, pendingSlack)
	}
	for i := 1; i <= relaySenders; i++ {
		r.add(signedTx(t, crypto.Keccak256([]byte(fmt.Sprint("sender ", i))), 0))
		fc.Advance(time.Millisecond)
	}
	if len(r.by) != relaySenders {
		t.Fatalf("%d senders kept, bound %d", len(r.by), relaySenders)
	}
	if _, ok := r.by[crypto.PubkeyToAddress(pk.PublicKey)]; ok {
		t.Fatal("the sender relayed to longest ago was kept")
	}
}
