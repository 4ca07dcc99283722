//go:build unix

package access

import (
	"io/fs"
	"strconv"
	"syscall"
)

// inode is fi's inode number, "" where the system does not say.
func inode(fi fs.FileInfo) string {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return strconv.FormatUint(uint64(st.Ino), 10)
	}
	return ""
}
