package access

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/braidrpc/braid/internal/config"
)

// Errors of a Store.
var (
	// ErrNoKey: no active key has the name or id asked for.
	ErrNoKey = errors.New("no such key")
	// ErrNameTaken: an active key already has the name.
	ErrNameTaken = errors.New("an active key already has this name")
)

// Store keeps the keys `braid keys` manages. Its records hold hashes, never
// keys.
type Store interface {
	// Version changes whenever the keys do; it is cheap to read, so the
	// Keyring polls it.
	Version(ctx context.Context) (string, error)
	// List returns every record, revoked ones included.
	List(ctx context.Context) ([]Record, error)
	// Add stores r; ErrNameTaken when an active key has its name.
	Add(ctx context.Context, r Record) error
	// Revoke marks the active key named which (or whose id is which) as
	// revoked at at, and returns it; ErrNoKey when there is none.
	Revoke(ctx context.Context, which string, at time.Time) (Record, error)
	// Kind is "file" or "redis", as Key.Source shows it.
	Kind() string
}

// checkRecord says what is wrong with a stored record, or "".
func checkRecord(r *Record) string {
	switch {
	case !config.ValidKeyName(r.Name):
		return "its name is not 1 to 64 letters, digits, \".\", \"-\" or \"_\""
	case r.RPS < 0 || r.Burst < 0 || r.DailyQuota < 0 || r.MaxBatch < 0 || r.MaxInflight < 0:
		return "a limit is negative"
	}
	// A list braid cannot read would be ignored: a deny list then denies
	// nothing. The key is refused instead, until it is fixed.
	if errs := append(config.MethodProblems("allow", r.Allow), config.MethodProblems("deny", r.Deny)...); len(errs) > 0 {
		return errs[0].Error()
	}
	h, ok := config.ParseKeyHash(r.Hash)
	if !ok {
		return "its hash is not sha256: and 64 hex digits"
	}
	r.Hash = h
	return ""
}

// findActive returns the index of the active record named which or whose
// id (or a longer prefix of its hash) is which, or an error: ErrNoKey, or
// one saying the id is ambiguous.
func findActive(records []Record, which string) (int, error) {
	found := -1
	for i := range records {
		r := &records[i]
		if r.Revoked != nil {
			continue
		}
		if r.Name == which {
			return i, nil
		}
		if len(which) >= 6 && strings.HasPrefix(strings.TrimPrefix(r.Hash, "sha256:"), strings.ToLower(which)) {
			if found >= 0 {
				return -1, fmt.Errorf("%q is the start of more than one key's id: give more digits or the name", which)
			}
			found = i
		}
	}
	if found < 0 {
		return -1, ErrNoKey
	}
	return found, nil
}

// nameTaken reports whether an active record is named name.
func nameTaken(records []Record, name string) bool {
	for _, r := range records {
		if r.Revoked == nil && r.Name == name {
			return true
		}
	}
	return false
}
