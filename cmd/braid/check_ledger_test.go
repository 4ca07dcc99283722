package main

import (
	"bytes"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ethereum/go-ethereum/common"

	"github.com/braidrpc/braid/internal/archive"
	"github.com/braidrpc/braid/internal/history"
	"github.com/braidrpc/braid/internal/ledger"
)

// TestCheckLedger: with peers enabled, braid check says when there is no
// ledger yet, prints the persisted ledger's availability table once a
// gateway left one, and says when a running gateway holds it.
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
	led, err := ledger.Open(archive.LedgerDir(store), ledger.Options{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	led.Hold([]history.Item{{Hash: common.HexToHash("0x01"), Number: 7, Parts: history.AllParts}})
	if out := run(); !strings.Contains(out, "a running gateway holds it") {
		t.Errorf("ledger held open:\n%s", out)
	}
	if err := led.Close(); err != nil {
		t.Fatal(err)
	}
	out := run()
	if !strings.Contains(out, "history held by this gateway (head unknown") || !strings.Contains(out, "unknown       1") {
		t.Errorf("after a gateway ran:\n%s", out)
	}
}
