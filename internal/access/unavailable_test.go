package access

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/braidrpc/braid/internal/await"
	"github.com/braidrpc/braid/internal/config"
)

// brokenStore cannot be read until it is fixed.
type brokenStore struct {
	*FileStore
	fixed bool
}

func (b *brokenStore) Version(ctx context.Context) (string, error) {
	if !b.fixed {
		return "", errors.New("unreachable")
	}
	return b.FileStore.Version(ctx)
}

// TestStoreUnreadable: while the store has never been read, a key braid
// does not know gets 503 (it may be a stored one), the config's keys
// still work, and one WARN says so; once the store is read, its keys work.
func TestStoreUnreadable(t *testing.T) {
	fs := NewFileStore(t.TempDir() + "/keys.json")
	rec, stored := record("stored")
	if err := fs.Add(context.Background(), rec); err != nil {
		t.Fatal(err)
	}
	conf := NewKey()
	store := &brokenStore{FileStore: fs}
	var logs logBuf
	cfg := testConfig(t, config.Auth{Required: true, Store: config.KeyStoreFile, File: "unused"}, config.APIKey{Name: "conf", Key: conf})
	c, fake := newControl(t, cfg, Options{Store: store, Logger: logs.logger()})
	if _, ref := c.Identify("mainnet", conf, ""); ref != nil {
		t.Fatalf("a config key: %v", ref.Err)
	}
	_, ref := c.Identify("mainnet", stored, "")
	if ref == nil || ref.Status != http.StatusServiceUnavailable || ref.RetryAfter != time.Second {
		t.Fatalf("a key of an unread store: %+v", ref)
	}
	for range 3 {
		await.Until(t, "the reload loop waiting", func() bool { return fake.Waiters() > 0 })
		fake.Advance(reloadEvery)
	}
	await.Until(t, "the reload loop waiting", func() bool { return fake.Waiters() > 0 })
	if n := strings.Count(logs.String(), "level=WARN"); n != 1 {
		t.Errorf("%d WARN lines while the store stays unreadable, want 1:\n%s", n, logs.String())
	}
	store.fixed = true // the loop reads it next, on its own goroutine after Advance
	fake.Advance(reloadEvery)
	await.Until(t, "the stored key working", func() bool { _, ref := c.Identify("mainnet", stored, ""); return ref == nil })
	if !strings.Contains(logs.String(), `level=INFO msg="key store readable again"`) {
		t.Errorf("no INFO on recovery:\n%s", logs.String())
	}
}
