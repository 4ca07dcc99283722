package main

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"math/big"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/braidrpc/braid/internal/archive"
	"github.com/braidrpc/braid/internal/history"
	"github.com/braidrpc/braid/internal/ledger"
	"github.com/braidrpc/braid/internal/peers"
)

// TestCheckLedger: with peers enabled, braid check says when there is no
// ledger yet, and when a running gateway holds it; once a gateway left
// one, it prints the gateway's last survey of the network (holders per
// age bucket of the chain) and the held-history table with its blocks
// placed by age from the last tip the gateway saw.
func TestCheckLedger(t *testing.T) {
	store := filepath.Join(t.TempDir(), "history")
	path := writeConfig(t, "    peers: {enabled: true, listen: [/ip4/127.0.0.1/tcp/0], store: {path: "+store+"}}")
	run := func() string {
		t.Helper()
		var out, errb bytes.Buffer
		if code := runCheck([]string{"--config", path}, &out, &errb); code != 0 {
			t.Fatalf("exit %d: %s%s", code, out.String(), errb.String())
		}
		return out.String()
	}
	if out := run(); !strings.Contains(out, "network mainnet: peer ledger "+archive.LedgerDir(store)) || !strings.Contains(out, "no ledger yet") {
		t.Fatalf("before a gateway ran:\n%s", out)
	}
	const head = 20_000
	led, err := ledger.Open(archive.LedgerDir(store), ledger.Options{Logger: slog.New(slog.DiscardHandler),
		Head: func() (uint64, bool) { return head, true }})
	if err != nil {
		t.Fatal(err)
	}
	led.Hold([]history.Item{{Hash: common.HexToHash("0x01"), Number: head - 7, Parts: history.AllParts},
		{Hash: common.HexToHash("0x02"), Number: head - 9000, Parts: history.AllParts}})
	if out := run(); !strings.Contains(out, "a running gateway holds it") {
		t.Errorf("ledger held open:\n%s", out)
	}
	if err := led.Close(); err != nil {
		t.Fatal(err)
	}
	out := run()
	for _, want := range []string{"no history survey yet", "head 20000, as the gateway last saw it", "0-127       1", "7200-215999       1"} {
		if !strings.Contains(out, want) {
			t.Errorf("after a gateway ran without a survey, no %q:\n%s", want, out)
		}
	}

	led, err = ledger.Open(archive.LedgerDir(store), ledger.Options{Logger: slog.New(slog.DiscardHandler),
		Head: func() (uint64, bool) { return head, true }})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := led.SurveyOnce(context.Background(), threeHolders{}, headers{}, 2); err != nil {
		t.Fatal(err)
	}
	if err := led.Close(); err != nil {
		t.Fatal(err)
	}
	out = run()
	for _, want := range []string{"history availability in the peer network (surveyed", "at head 20000", "128-7199        2           3.0"} {
		if !strings.Contains(out, want) {
			t.Errorf("after a gateway's survey, no %q:\n%s", want, out)
		}
	}
}

// threeHolders is a peer network where three peers hold every block.
type threeHolders struct{}

func (threeHolders) FindHolders(context.Context, peers.Key) ([]peer.AddrInfo, error) {
	return []peer.AddrInfo{{ID: "a"}, {ID: "b"}, {ID: "c"}}, nil
}

func (threeHolders) FetchFrom(context.Context, peer.ID, peers.Key, peers.Age, peers.Check) ([]byte, peers.Transfer, error) {
	return nil, peers.Transfer{}, errors.New("not asked")
}

// headers is a trusted path of bare headers.
type headers struct{}

func (headers) Header(_ context.Context, n uint64) (*types.Header, error) {
	return &types.Header{Number: new(big.Int).SetUint64(n), Difficulty: new(big.Int)}, nil
}
