package peers

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestIdentityPersists: the first run creates a key file only its owner
// may read; a restarted node has the same peer id.
func TestIdentityPersists(t *testing.T) {
	path := filepath.Join(t.TempDir(), "keys", "peer.key")
	o := loopback(t)
	o.Key, o.IdentityFile = nil, path
	n1, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	id := n1.ID()
	if err := n1.Close(); err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Fatalf("key file mode %04o, want 0600", st.Mode().Perm())
	}
	n2 := startNode(t, o)
	if n2.ID() != id {
		t.Fatalf("restarted as %s, was %s", n2.ID(), id)
	}
	entries, _ := os.ReadDir(filepath.Dir(path))
	if len(entries) != 1 {
		t.Fatalf("key directory holds %d files, want the key alone", len(entries))
	}
}

// TestIdentityRefusesBadFiles: a key others may read, and a file that is
// not a key, are errors, not a new identity.
func TestIdentityRefusesBadFiles(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.key")
	if _, err := LoadIdentity(good); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(good, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadIdentity(good); err == nil || !strings.Contains(err.Error(), "readable by others") {
		t.Fatalf("world-readable key: %v", err)
	}
	junk := filepath.Join(dir, "junk.key")
	if err := os.WriteFile(junk, []byte("not a key"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadIdentity(junk); err == nil {
		t.Fatal("a junk key file was accepted")
	}
	if _, err := LoadIdentity(dir); err == nil {
		t.Fatal("a directory was accepted as a key")
	}
	o := loopback(t)
	o.Key = nil
	if _, err := New(o); err == nil {
		t.Fatal("a node without identity started")
	}
}
