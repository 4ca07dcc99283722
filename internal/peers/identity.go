package peers

import (
	"crypto/rand"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/libp2p/go-libp2p/core/crypto"
)

// maxIdentityFile bounds what LoadIdentity reads: a marshalled Ed25519
// key is 68 bytes.
const maxIdentityFile = 4 << 10

// LoadIdentity returns the node's identity key from path, creating an
// Ed25519 key there (mode 0600, its directory 0700 if missing) on first
// run. A key file that others may read (any group or other permission
// bit) is refused, as ssh refuses one: the key is the node's standing with
// its peers. The file holds the key as libp2p marshals it (protobuf).
func LoadIdentity(path string) (crypto.PrivKey, error) {
	raw, err := readKeyFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return createIdentity(path)
	}
	if err != nil {
		return nil, err
	}
	key, err := crypto.UnmarshalPrivateKey(raw)
	if err != nil {
		return nil, fmt.Errorf("peers: identity key %s: %w", path, err)
	}
	return key, nil
}

func readKeyFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if st.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("peers: identity key %s is readable by others (mode %04o): chmod 600 it", path, st.Mode().Perm())
	}
	if !st.Mode().IsRegular() || st.Size() > maxIdentityFile {
		return nil, fmt.Errorf("peers: identity key %s is not a key file", path)
	}
	raw := make([]byte, st.Size())
	if _, err := f.ReadAt(raw, 0); err != nil {
		return nil, fmt.Errorf("peers: read identity key %s: %w", path, err)
	}
	return raw, nil
}

// createIdentity writes a new key to a temporary file (mode 0600) and
// links it to path, which fails if a file appeared there meanwhile: two
// nodes starting on one path end up with one key.
func createIdentity(path string) (crypto.PrivKey, error) {
	key, _, err := crypto.GenerateEd25519Key(rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("peers: generate identity key: %w", err)
	}
	raw, err := crypto.MarshalPrivateKey(key)
	if err != nil {
		return nil, fmt.Errorf("peers: marshal identity key: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("peers: identity key directory: %w", err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".identity-*")
	if err != nil {
		return nil, fmt.Errorf("peers: write identity key: %w", err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(raw); err != nil {
		tmp.Close()
		return nil, fmt.Errorf("peers: write identity key: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return nil, fmt.Errorf("peers: write identity key: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return nil, fmt.Errorf("peers: write identity key: %w", err)
	}
	// A hard link fails if path exists: a key another process wrote first
	// wins, and is read back.
	if err := os.Link(tmp.Name(), path); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return LoadIdentity(path)
		}
		return nil, fmt.Errorf("peers: write identity key: %w", err)
	}
	return key, nil
}
