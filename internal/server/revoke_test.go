package server_test

import (
	"context"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/braidrpc/braid/internal/access"
	"github.com/braidrpc/braid/internal/await"
	"github.com/braidrpc/braid/internal/config"
)

// addStoredKey adds a key named name to store and returns it.
func addStoredKey(t *testing.T, store access.Store, name string) string {
	t.Helper()
	key := access.NewKey()
	if err := store.Add(context.Background(), access.Record{Name: name, Hash: config.HashAPIKey(key), Created: keyedStart}); err != nil {
		t.Fatal(err)
	}
	return key
}

// reloadUntil lets b's key reloads run, a quarter second of its clock at a
// time, until cond holds; it fails after a second of reloads.
func reloadUntil(t *testing.T, b *keyedBraid, cond func() bool) {
	t.Helper()
	for step := 0; !cond(); step++ {
		if step == 4 {
			t.Fatal("not within a second of key reloads")
		}
		await.Until(t, "the loop waiting on the clock", func() bool { return b.clock.Waiters() > 0 })
		b.clock.Advance(250 * time.Millisecond)
		await.Until(t, "the loop waiting on the clock", func() bool { return b.clock.Waiters() > 0 })
	}
}

// TestKeyRevoked: a key revoked in the store (as `braid keys revoke`
// does) is refused within a second of reloads, over HTTP and on new
// upgrades, and an open WebSocket connection using it is closed with
// 1008, so its subscriptions end with it.
func TestKeyRevoked(t *testing.T) {
	path := filepath.Join(t.TempDir(), "keys.json")
	store := access.NewFileStore(path)
	key, kept := addStoredKey(t, store, "app"), addStoredKey(t, store, "kept")
	spec := mainnet(newFake(t, "a", 1))
	b := startKeyed(t, keyedConfig(t, config.Auth{Required: true, Store: config.KeyStoreFile, File: path}, nil, spec), nil, spec)
	if status, _, body := send(t, b.URL, blockNumberCall, bearer(key)); status != http.StatusOK {
		t.Fatalf("a stored key: %d %s", status, body)
	}
	conn, status, _ := dialKeyed(t, b.WS+"/"+key, nil)
	if conn == nil {
		t.Fatalf("upgrade with a stored key: %d", status)
	}
	other, _, _ := dialKeyed(t, b.WS, apiKey(kept))
	if got := conn.call(blockNumberCall); !strings.Contains(got, `"result"`) {
		t.Fatalf("WebSocket call: %s", got)
	}

	if _, err := store.Revoke(context.Background(), "app", keyedStart); err != nil {
		t.Fatal(err)
	}
	reloadUntil(t, b, func() bool {
		status, _, _ := send(t, b.URL, blockNumberCall, bearer(key))
		return status == http.StatusUnauthorized
	})
	const revoked = `{"jsonrpc":"2.0","id":null,"error":{"code":-32047,"message":"unauthorized: this API key was revoked","data":{"reason":"revoked"}}}`
	if _, _, body := send(t, b.URL+"/mainnet/"+key, blockNumberCall, nil); body != revoked {
		t.Errorf("HTTP: %s", body)
	}
	if c, status, body := dialKeyed(t, b.WS, bearer(key)); c != nil || status != http.StatusUnauthorized || body != revoked {
		t.Errorf("upgrade: %d %s", status, body)
	}
	_, err := conn.readUntilClosed()
	wantClose(t, err, websocket.StatusPolicyViolation, "API key revoked")
	// Other keys' connections stay.
	if got := other.call(blockNumberCall); !strings.Contains(got, `"result"`) {
		t.Errorf("another key's connection after the revocation: %s", got)
	}
}
