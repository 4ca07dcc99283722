package access

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"time"
)

// fileFormat is the JSON a FileStore keeps.
type fileFormat struct {
	Version int      `json:"version"`
	Keys    []Record `json:"keys"`
}

// FileStore keeps keys in a JSON file readable only by its owner (0600),
// replaced whole on every change (written aside, then renamed), so a
// reader never sees half a file. A missing file holds no keys. A change
// reads, edits and replaces the file holding a lock on PATH.lock, so two
// `braid keys` commands run at once both land (without it, the second
// rename dropped the first one's key, which its user had been shown).
type FileStore struct {
	path string
}

var _ Store = (*FileStore)(nil)

// NewFileStore returns the store of the file at path.
func NewFileStore(path string) *FileStore { return &FileStore{path: path} }

// Kind is "file".
func (f *FileStore) Kind() string { return "file" }

// Version is the file's size, modification time and inode number: a
// rename gives a new inode, so every change shows.
func (f *FileStore) Version(context.Context) (string, error) {
	fi, err := os.Stat(f.path)
	if errors.Is(err, fs.ErrNotExist) {
		return "none", nil
	}
	if err != nil {
		return "", fmt.Errorf("key file: %w", err)
	}
	return strconv.FormatInt(fi.Size(), 10) + "/" + strconv.FormatInt(fi.ModTime().UnixNano(), 10) + "/" + inode(fi), nil
}

// List reads every record.
func (f *FileStore) List(context.Context) ([]Record, error) {
	b, err := os.ReadFile(f.path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("key file: %w", err)
	}
	var ff fileFormat
	if err := json.Unmarshal(b, &ff); err != nil {
		return nil, fmt.Errorf("key file %s is not braid's JSON: %w", f.path, err)
	}
	return ff.Keys, nil
}

// Add appends r.
func (f *FileStore) Add(ctx context.Context, r Record) error {
	unlock, err := lockFile(f.path + ".lock")
	if err != nil {
		return err
	}
	defer unlock()
	records, err := f.List(ctx)
	if err != nil {
		return err
	}
	if nameTaken(records, r.Name) {
		return fmt.Errorf("%q: %w", r.Name, ErrNameTaken)
	}
	return f.write(append(records, r))
}

// Revoke marks the key which names as revoked.
func (f *FileStore) Revoke(ctx context.Context, which string, at time.Time) (Record, error) {
	unlock, err := lockFile(f.path + ".lock")
	if err != nil {
		return Record{}, err
	}
	defer unlock()
	records, err := f.List(ctx)
	if err != nil {
		return Record{}, err
	}
	i, err := findActive(records, which)
	if err != nil {
		return Record{}, err
	}
	at = at.UTC()
	records[i].Revoked = &at
	return records[i], f.write(records)
}

// write replaces the file with records: a temporary file in the same
// directory, made 0600, synced, then renamed over the old one.
func (f *FileStore) write(records []Record) error {
	b, err := json.MarshalIndent(fileFormat{Version: 1, Keys: records}, "", "  ")
	if err != nil {
		return err
	}
	dir := filepath.Dir(f.path)
	tmp, err := os.CreateTemp(dir, ".braid-keys-*")
	if err != nil {
		return fmt.Errorf("key file: %w", err)
	}
	defer os.Remove(tmp.Name()) // gone after the rename; cleans up on failure
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return fmt.Errorf("key file: %w", err)
	}
	if _, err := tmp.Write(append(b, '\n')); err != nil {
		tmp.Close()
		return fmt.Errorf("key file: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("key file: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("key file: %w", err)
	}
	if err := os.Rename(tmp.Name(), f.path); err != nil {
		return fmt.Errorf("key file: %w", err)
	}
	return nil
}
