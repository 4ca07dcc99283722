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
// "pending" is their "latest"). The pending nonce must count it, or the
// wallet's next transaction reuses the nonce and replaces or fails the
// first. With no quorum (k = 1) the highest count of those asked counts
// it; under k = 2 two blind operators would agree on a count without it,
// so a transaction the wallet sent through braid counts because braid
// relayed it (and saw it signed).
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
			ps := s.dn.Providers()
			if k == 1 {
				e.sendETH(t, nonce) // straight to a node: pooled, not mined (manual)
			} else {
				// Through braid, which broadcasts it to every operator; the
				// blind ones then act as if it had not reached them yet.
				if got, _ := e.post(t, "eth_sendRawTransaction", []any{hexutil.Bytes(e.signedTransfer(t, nonce))}); got.Code != 0 {
					t.Fatalf("send through braid: %v", got)
				}
			}
			// k = 1: two of four blind; k = 2: three of four, so no two
			// operators asked both have it in their pools.
			for _, p := range ps[:k+1] {
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

// TestStrictPendingNonceOneLiarUnderQuorum: under k = 2 one operator
// inventing pooled transactions (5 more, within what a pool could hold)
// does not raise the pending nonce, which would leave the wallet's next
// transaction queued behind a gap, unseen.
func TestStrictPendingNonceOneLiarUnderQuorum(t *testing.T) {
	s := newLiveStackWith(t, liveOptions{manual: true, providers: 4, quorum: config.Quorum{K: 2},
		verify: config.Verify{Mode: config.VerifyStrict}})
	e := &evmEnv{s: s}
	nonce, err := ethclient.NewClient(s.dn.RPC()).NonceAt(context.Background(), s.user, nil)
	if err != nil {
		t.Fatal(err)
	}
	e.sendETH(t, nonce) // straight to a node, which shares its pool with the others
	s.dn.Providers()[0].SetFaults(devnet.Faults{Lie: true, LieVariant: 5, LieMethod: "eth_getTransactionCount"})
	want := fmt.Sprintf("%q", hexutil.EncodeUint64(nonce+1))
	for i := range 6 {
		got, hdr := e.post(t, "eth_getTransactionCount", []any{s.user, "pending"})
		if got.String() != want {
			t.Fatalf("ask %d: braid answers %s (%s), want the honest %s", i, got, hdr, want)
		}
	}
}
