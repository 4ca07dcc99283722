package trust

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/ethclient"

	"github.com/braidrpc/braid/internal/block"
	"github.com/braidrpc/braid/internal/config"
	"github.com/braidrpc/braid/internal/devnet"
	"github.com/braidrpc/braid/internal/route"
	"github.com/braidrpc/braid/internal/upstream"
)

// fixedRoot trusts one block.
type fixedRoot struct{ tip block.Tip }

func (f fixedRoot) Trusted() block.Tip { return f.tip }

type lies struct {
	mu  sync.Mutex
	ops []string
}

func (l *lies) add(op string, _ *upstream.Upstream, _ string, _ error) {
	l.mu.Lock()
	l.ops = append(l.ops, op)
	l.mu.Unlock()
}

// devnetReader is a Reader over a devnet of two providers, the first of
// which (asked first) lies, trusting the chain's head.
func devnetReader(t *testing.T) (*Reader, *devnet.Devnet, *lies) {
	t.Helper()
	ctx := context.Background()
	dn, err := devnet.New(ctx, devnet.Options{Providers: 2})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { dn.Close() })
	if _, err := dn.Step(ctx); err != nil {
		t.Fatal(err)
	}
	dn.Provider("p1").SetFaults(devnet.Faults{Lie: true})
	var ups []*upstream.Upstream
	for _, uc := range dn.Upstreams() {
		u := upstream.New(uc, upstream.Options{Network: "devnet"})
		if err := u.Verify(ctx, dn.ChainID()); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(u.Close)
		ups = append(ups, u)
	}
	head, err := ethclient.NewClient(dn.RPC()).HeaderByNumber(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	tip := block.Block{Number: head.Number.Uint64(), Hash: head.Hash(), ParentHash: head.ParentHash}
	l := &lies{}
	r := New(Options{Network: "devnet", Verify: config.Verify{Mode: config.VerifyStrict, HeaderCache: 64, HistoryHops: 1, MaxLogRange: 16},
		Timeout: 10 * time.Second, Fetch: route.New(ups, route.Options{Network: "devnet", MaxAttempts: 4, ProbeShare: -1}),
		Root: fixedRoot{block.Tip{Latest: tip, Known: true}}, OnLie: l.add})
	return r, dn, l
}

// The primitives a local EVM builds its state source on: a verified
// header, an account with storage proven against it, and its code; a lie
// on the way is reported and another operator answers.
func TestAccountAndCodeAreProven(t *testing.T) {
	r, dn, l := devnetReader(t)
	ctx := context.Background()
	ec := ethclient.NewClient(dn.RPC())
	root := r.root.Trusted().Latest
	h, err := r.Header(ctx, root.Hash)
	if err != nil || h.Hash() != root.Hash {
		t.Fatalf("Header: %v, %v", h, err)
	}
	token := dn.Token()
	slot := common.Hash{31: 2}
	acct, err := r.Account(ctx, h, token, []common.Hash{slot})
	if err != nil {
		t.Fatal(err)
	}
	want, err := ec.StorageAt(ctx, token, slot, h.Number)
	if err != nil {
		t.Fatal(err)
	}
	if got := acct.Storage[slot]; got != common.BytesToHash(want) {
		t.Fatalf("slot 2 = %s, the chain has %x", got.Hex(), want)
	}
	code, err := r.Code(ctx, h, token, acct)
	if err != nil {
		t.Fatal(err)
	}
	wantCode, err := ec.CodeAt(ctx, token, h.Number)
	if err != nil || string(code) != string(wantCode) || len(code) == 0 {
		t.Fatalf("code: %d bytes, the chain has %d (%v)", len(code), len(wantCode), err)
	}
	user := dn.UserAccount().Address
	ua, err := r.Account(ctx, h, user, nil)
	if err != nil {
		t.Fatal(err)
	}
	if c, err := r.Code(ctx, h, user, ua); err != nil || len(c) != 0 {
		t.Fatalf("code of an account without code: %x, %v", c, err)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.ops) == 0 || l.ops[0] != dn.Upstreams()[0].Operator {
		t.Fatalf("lies reported %v, want the first operator's", l.ops)
	}
	if len(r.Lies()) == 0 {
		t.Fatal("no lie kept for /status")
	}
}

// Block numbers below the trusted head resolve through the history
// contract's proven storage.
func TestCanonicalHashIsProven(t *testing.T) {
	r, dn, _ := devnetReader(t)
	ctx := context.Background()
	root := r.root.Trusted().Latest
	if root.Number < 2 {
		t.Skip("chain too short")
	}
	want, err := ethclient.NewClient(dn.RPC()).HeaderByNumber(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	got, err := r.CanonicalHash(ctx, root.Number-1)
	if err != nil {
		t.Fatal(err)
	}
	if got != want.ParentHash {
		t.Fatalf("hash of %d = %s, the chain has %s", root.Number-1, got.Hex(), want.ParentHash.Hex())
	}
	if _, err := r.CanonicalHash(ctx, root.Number+1); err == nil {
		t.Fatal("a block above the trusted head has a hash")
	}
}
