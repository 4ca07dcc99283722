//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly)

package access

import "sync"

// fileLocks serialise changes to key files within this process where
// braid knows no file lock: two `braid keys` commands run at once on such
// a system may still lose one's change.
var fileLocks sync.Mutex

func lockFile(string) (func(), error) {
	fileLocks.Lock()
	return fileLocks.Unlock, nil
}
