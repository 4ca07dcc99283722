//go:build !unix

package access

import "io/fs"

// inode is "" where inode numbers are not known; size and time remain.
func inode(fs.FileInfo) string { return "" }
