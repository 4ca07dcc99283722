package integration

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/ethclient"

	"github.com/braidrpc/braid/internal/config"
	"github.com/braidrpc/braid/internal/devnet"
)

// TestStrictPendingNonceBounded: with quorum k = 1 an operator lying
// about an account's pending count (200 transactions pooled, more than a
// default geth pool holds for one account) is not believed: the next
// operator is asked, and when every one asked lies the answer is the
// proven latest nonce, marked partial with the reason.
func TestStrictPendingNonceBounded(t *testing.T) {
	e := newEVMEnv(t)
	ctx := context.Background()
	ec := ethclient.NewClient(e.s.dn.RPC())
	nonce, err := ec.NonceAt(ctx, e.s.user, nil)
	if err != nil {
		t.Fatal(err)
	}
	e.sendETH(t, nonce) // one pooled transaction: the node's pending count is nonce+1
	params := []any{e.s.user, "pending"}
	want := call(t, e.s.dn.RPC(), "eth_getTransactionCount", params...)
	latest := call(t, e.s.dn.RPC(), "eth_getTransactionCount", e.s.user, "latest")
	if want.String() == latest.String() {
		t.Fatalf("the node's pending count %s is its latest one", want)
	}
	lie := func(p *devnet.Provider) {
		p.SetFaults(devnet.Faults{Lie: true, LieVariant: 200, LieMethod: "eth_getTransactionCount"})
	}

	// Two of four lie: whichever order they are asked in, the honest
	// count is reached within pendingAsks operators.
	ps := e.s.dn.Providers()
	lie(ps[0])
	lie(ps[1])
	for range 4 {
		got, hdr := e.post(t, "eth_getTransactionCount", params)
		if got.String() != want.String() {
			t.Fatalf("two liars of four: braid answers %s, the node %s", got, want)
		}
		if !strings.HasPrefix(hdr, "partial; reason=\"the pending nonce is the operators' count") {
			t.Fatalf("Braid-Proof %q", hdr)
		}
	}

	// Every operator lies: the proven latest nonce, and why.
	for _, p := range ps {
		lie(p)
	}
	got, hdr := e.post(t, "eth_getTransactionCount", params)
	if got.String() != latest.String() {
		t.Fatalf("every operator lies: braid answers %s, want the proven latest nonce %s (the liars say nonce+200)", got, latest)
	}
	if !strings.Contains(hdr, "more than 80 above the proven latest nonce") {
		t.Fatalf("Braid-Proof %q does not say why the operators' count was set aside", hdr)
	}
}

// TestStrictPendingNonceWhenPoolsDiffer: a wallet's just-sent transaction
// reached some operators' pools and not yet the others' (pool_blind: their
// "pending" is their "latest"). The pending nonce must count it, under a
// quorum of 2 as with none: answering the proven latest nonce, or a count
// two blind operators agree on, would have the wallet's next transaction
// reuse the nonce and replace or fail the first.
func TestStrictPendingNonceWhenPoolsDiffer(t *testing.T) {
	for _, k := range []int{1, 2} {
		t.Run(fmt.Sprintf("k=%d", k), func(t *testing.T) {
			s := newLiveStackWith(t, liveOptions{manual: true, providers: 4, quorum: config.Quorum{K: k},
				verify: config.Verify{Mode: config.VerifyStrict}})
			e := &evmEnv{s: s}
			ctx := context.Background()
			nonce, err := ethclient.NewClient(s.dn.RPC()).NonceAt(ctx, s.user, nil)
			if err != nil {
				t.Fatal(err)
			}
			e.sendETH(t, nonce) // pooled, not mined (manual)
			ps := s.dn.Providers()
			for _, p := range ps[:2] {
				p.SetFaults(devnet.Faults{PoolBlind: true})
			}
			want := fmt.Sprintf("%q", hexutil.EncodeUint64(nonce+1))
			for i := range 6 {
				got, hdr := e.post(t, "eth_getTransactionCount", []any{s.user, "pending"})
				if got.String() != want {
					t.Fatalf("ask %d: braid answers %s (%s), want %s: the wallet's next transaction would reuse nonce %d", i, got, hdr, want, nonce)
				}
			}
		})
	}
}
