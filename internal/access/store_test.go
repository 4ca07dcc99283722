package access

import (
	"context"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/braidrpc/braid/internal/config"
	"github.com/braidrpc/braid/internal/redistest"
)

func record(name string) (Record, string) {
	key := NewKey()
	return Record{Name: name, Hash: config.HashAPIKey(key), RPS: 5, Created: start}, key
}

func storeCases(t *testing.T, s Store) {
	ctx := context.Background()
	v0, err := s.Version(ctx)
	if err != nil {
		t.Fatal(err)
	}
	a, keyA := record("app-a")
	b, _ := record("app-b")
	for _, r := range []Record{a, b} {
		if err := s.Add(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	v1, _ := s.Version(ctx)
	if v1 == v0 {
		t.Error("version unchanged by Add")
	}
	dup, _ := record("app-a")
	if err := s.Add(ctx, dup); !errors.Is(err, ErrNameTaken) {
		t.Errorf("a second app-a: %v, want ErrNameTaken", err)
	}
	list, err := s.List(ctx)
	if err != nil || len(list) != 2 {
		t.Fatalf("List = %v, %v", list, err)
	}
	for _, r := range list {
		if strings.Contains(r.Hash, keyA) {
			t.Fatal("a store holds the key")
		}
	}
	// Revoke by id, then by name.
	got, err := s.Revoke(ctx, a.ID(), start.Add(time.Hour))
	if err != nil || got.Name != "app-a" || got.Revoked == nil || !got.Revoked.Equal(start.Add(time.Hour)) {
		t.Fatalf("Revoke(id) = %+v, %v", got, err)
	}
	if _, err := s.Revoke(ctx, "app-a", start); !errors.Is(err, ErrNoKey) {
		t.Errorf("revoking a revoked key: %v, want ErrNoKey", err)
	}
	if _, err := s.Revoke(ctx, "app-b", start); err != nil {
		t.Fatal(err)
	}
	if v2, _ := s.Version(ctx); v2 == v1 {
		t.Error("version unchanged by Revoke")
	}
	// The name of a revoked key may be used again.
	again, _ := record("app-a")
	if err := s.Add(ctx, again); err != nil {
		t.Errorf("re-adding a revoked key's name: %v", err)
	}
	list, _ = s.List(ctx)
	if len(list) != 3 {
		t.Errorf("%d records, want 3 (revoked ones stay listed)", len(list))
	}
}

func TestFileStore(t *testing.T) {
	path := filepath.Join(t.TempDir(), "keys.json")
	s := NewFileStore(path)
	storeCases(t, s)
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("key file mode %v, want 0600", fi.Mode().Perm())
	}
	if err := os.WriteFile(path, []byte("{not json"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := s.List(context.Background()); err == nil || !strings.Contains(err.Error(), "not braid's JSON") {
		t.Errorf("a corrupt file: %v", err)
	}
}

func TestRedisStore(t *testing.T) {
	srv := redistest.Start(t)
	storeCases(t, NewRedisStore(newLink(t, srv.URL())))
}

// TestKeyringSkipsBadRecords: a record edited into nonsense is skipped
// with a WARN naming it, and the others still work.
func TestKeyringSkipsBadRecords(t *testing.T) {
	path := filepath.Join(t.TempDir(), "keys.json")
	s := NewFileStore(path)
	good, key := record("good")
	bad, _ := record("bad")
	bad.Hash = "md5:abc"
	// A deny list braid cannot read would deny nothing: the key is
	// skipped instead.
	badDeny, badDenyKey := record("bad-deny")
	badDeny.Deny = []string{"trace*call"}
	for _, r := range []Record{good, bad, badDeny} {
		if err := s.Add(context.Background(), r); err != nil {
			t.Fatal(err)
		}
	}
	var logs logBuf
	c, _ := newControl(t, testConfig(t, config.Auth{Store: config.KeyStoreFile, File: path}), Options{Logger: logs.logger()})
	if caller, ref := c.Identify("mainnet", key, ""); ref != nil || caller.Name() != "good" {
		t.Fatalf("Identify(good) = %+v, %+v", caller, ref)
	}
	if logs.count(`msg="ignoring a stored API key" store=file item=2 name=bad `) != 1 {
		t.Errorf("no WARN for the bad record:\n%s", logs.String())
	}
	if _, ref := c.Identify("mainnet", badDenyKey, ""); ref == nil || ref.Status != http.StatusUnauthorized {
		t.Errorf("a key whose deny list cannot be read: %+v, want 401", ref)
	}
	if logs.count(`msg="ignoring a stored API key" store=file item=3 name=bad-deny problem="deny item 1 \"trace*call\": \"*\" may only end a prefix`) != 1 {
		t.Errorf("no WARN for the bad deny list:\n%s", logs.String())
	}
}

// concurrentAdds adds n keys to s at once, half of them under one shared
// name: every distinct name lands, and the shared name only once.
func concurrentAdds(t *testing.T, s Store) {
	const n = 16
	errs := make(chan error, n)
	for i := range n {
		go func() {
			name := "same"
			if i%2 == 1 {
				name = "app-" + strconv.Itoa(i)
			}
			r, _ := record(name)
			errs <- s.Add(context.Background(), r)
		}()
	}
	taken := 0
	for range n {
		switch err := <-errs; {
		case errors.Is(err, ErrNameTaken):
			taken++
		case err != nil:
			t.Fatal(err)
		}
	}
	list, err := s.List(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != n/2+1 || taken != n/2-1 {
		t.Errorf("%d concurrent adds: %d records, %d refused as taken; want %d records, %d refused", n, len(list), taken, n/2+1, n/2-1)
	}
}

// TestStoresConcurrentAdds: `braid keys add` run several times at once
// loses no key (each was printed to its user) and adds a name once.
func TestStoresConcurrentAdds(t *testing.T) {
	t.Run("file", func(t *testing.T) { concurrentAdds(t, NewFileStore(filepath.Join(t.TempDir(), "keys.json"))) })
	t.Run("redis", func(t *testing.T) { concurrentAdds(t, NewRedisStore(newLink(t, redistest.Start(t).URL()))) })
}
