package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common/hexutil"

	"github.com/braidrpc/braid/internal/config"
	"github.com/braidrpc/braid/internal/devnet"
	"github.com/braidrpc/braid/internal/gateway"
	"github.com/braidrpc/braid/internal/history/historytest"
	"github.com/braidrpc/braid/internal/server"
)

// TestHistoryImportServes runs `braid history import` on an era1 file
// written from a devnet's blocks (go-ethereum's eradb reads it back), then
// serves from the store it filled once every provider pruned those
// blocks: every block, its receipts and its transactions looked up by hash
// equal what the unpruned chain answered, with Braid-Source: store.
func TestHistoryImportServes(t *testing.T) {
	ctx := context.Background()
	chain, err := historytest.New(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { chain.Devnet.Close() })
	dn := chain.Devnet
	head := chain.Head().Number()
	// The era1 file holds every block but the head (the providers keep it).
	eraDir, storeDir := t.TempDir(), filepath.Join(t.TempDir(), "store")
	if _, err := historytest.WriteEra1(eraDir, "devnet", 0, historytest.EraBlocks(chain)[:head]); err != nil {
		t.Fatal(err)
	}
	cfgPath := writeHistoryConfig(t, dn, storeDir)

	var stdout, stderr bytes.Buffer
	if code := runMain([]string{"history", "import", "--config", cfgPath, "--log-level", "error", eraDir}, &stdout, &stderr); code != 0 {
		t.Fatalf("history import: exit %d, %s%s", code, stdout.String(), stderr.String())
	}
	if want := fmt.Sprintf("imported %d blocks from 1 files into devnet (0 already held", head); !strings.Contains(stdout.String(), want) {
		t.Fatalf("history import said %q, want %q", stdout.String(), want)
	}

	type call struct {
		method string
		params []any
	}
	var calls []call
	for _, b := range chain.Blocks[:head] {
		num := hexutil.Uint64(b.Number())
		calls = append(calls, call{"eth_getBlockByNumber", []any{num, true}}, call{"eth_getBlockByHash", []any{b.Hash(), false}},
			call{"eth_getBlockReceipts", []any{num}})
		for _, tx := range b.Body.Transactions {
			calls = append(calls, call{"eth_getTransactionByHash", []any{tx.Hash()}}, call{"eth_getTransactionReceipt", []any{tx.Hash()}})
		}
	}
	want := make([]json.RawMessage, len(calls))
	for i, c := range calls {
		if err := dn.RPC().CallContext(ctx, &want[i], c.method, c.params...); err != nil {
			t.Fatalf("%s %v: %v", c.method, c.params, err)
		}
	}
	for _, p := range dn.Providers() {
		p.SetFaults(devnet.Faults{PruneBelow: head})
	}
	url := serveConfig(t, cfgPath)
	for i, c := range calls {
		got, source := postRPC(t, url, c.method, c.params)
		if !sameJSONValue(got, want[i]) || source != "store" {
			t.Fatalf("%s %v after the import: %s (Braid-Source %q), want %s from the store", c.method, c.params, got, source, want[i])
		}
	}
}

// writeHistoryConfig writes a configuration of one network over dn's
// providers with a history store in storeDir that keeps nothing by
// itself (what it holds is what the import put there).
func writeHistoryConfig(t *testing.T, dn *devnet.Devnet, storeDir string) string {
	t.Helper()
	var b strings.Builder
	fmt.Fprintf(&b, "networks:\n  - name: devnet\n    chain_id: %d\n    upstreams:\n", dn.ChainID())
	for _, u := range dn.Upstreams() {
		fmt.Fprintf(&b, "      - {name: %q, url: %q, operator: %q}\n", u.Name, u.URL, u.Operator)
	}
	fmt.Fprintf(&b, "    peers:\n      enabled: true\n      listen: [/ip4/127.0.0.1/tcp/0]\n      dial_ranges: [127.0.0.0/8]\n"+
		"      keep: none\n      store: {path: %q, max_bytes: 67108864}\n", storeDir)
	path := filepath.Join(t.TempDir(), "braid.yaml")
	if err := os.WriteFile(path, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// serveConfig runs a gateway and its HTTP front from the configuration at
// path until the test ends, and returns its URL.
func serveConfig(t *testing.T, path string) string {
	t.Helper()
	cfg, err := config.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.DiscardHandler)
	gw, err := gateway.New(cfg, gateway.Options{Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(gw.Close)
	gw.Start(context.Background(), 10*time.Second)
	srv := httptest.NewServer(server.New(gw, server.Options{Limits: cfg.Limits, Logger: log}))
	t.Cleanup(srv.Close)
	return srv.URL
}

// postRPC posts one call and returns its result (or error object) and the
// Braid-Source header.
func postRPC(t *testing.T, url, method string, params []any) (json.RawMessage, string) {
	t.Helper()
	body, _ := json.Marshal(map[string]any{"jsonrpc": "2.0", "id": 1, "method": method, "params": params})
	resp, err := http.Post(url, "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var out struct {
		Result json.RawMessage `json:"result"`
		Error  json.RawMessage `json:"error"`
	}
	if err := json.Unmarshal(raw, &out); err != nil {
		t.Fatalf("%s: %s: %v", method, raw, err)
	}
	if out.Error != nil {
		return out.Error, resp.Header.Get("Braid-Source")
	}
	return out.Result, resp.Header.Get("Braid-Source")
}

// sameJSONValue compares two JSON values member for member.
func sameJSONValue(a, b json.RawMessage) bool {
	var x, y any
	if json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil {
		return false
	}
	return reflect.DeepEqual(x, y)
}
