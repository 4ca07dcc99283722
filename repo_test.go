package braid_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// maxTrackedBytes bounds any file the repository tracks (5 MiB): the
// largest today are fuzz seeds and fixtures of some tens of kilobytes. A
// bigger file is almost always a build output or a data dump committed by
// mistake (a 61.7 MB binary once was, issue 13 item 10).
const maxTrackedBytes = 5 << 20

// TestRepositoryTracksNoBinariesOrHugeFiles: no file tracked by git is a
// compiled program (ELF, Mach-O or PE) or larger than maxTrackedBytes.
// .gitignore keeps build outputs out; this catches what it misses (a
// binary under another name, `git add -f`).
func TestRepositoryTracksNoBinariesOrHugeFiles(t *testing.T) {
	root := gitRoot(t)
	cmd := exec.Command("git", "ls-files", "-z")
	cmd.Dir = root
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("git ls-files: %v", err)
	}
	files := strings.Split(strings.TrimRight(string(out), "\x00"), "\x00")
	if len(files) < 10 {
		t.Fatalf("git ls-files lists %d files: not this repository", len(files))
	}
	for _, name := range files {
		path := filepath.Join(root, filepath.FromSlash(name))
		fi, err := os.Lstat(path)
		if errors.Is(err, os.ErrNotExist) {
			continue // deleted in the work tree, not yet committed
		}
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if !fi.Mode().IsRegular() {
			continue // a symbolic link or a submodule: no content of its own here
		}
		if fi.Size() > maxTrackedBytes {
			t.Errorf("%s is tracked and %d bytes, over the %d-byte bound: build outputs and data dumps do not belong in git", name, fi.Size(), maxTrackedBytes)
		}
		kind, err := executableKind(path)
		if err != nil {
			t.Errorf("%s: %v", name, err)
		} else if kind != "" {
			t.Errorf("%s is tracked and is a compiled %s program: remove it (git rm --cached) and ignore it", name, kind)
		}
	}
}

// gitRoot is the top of the git work tree holding this package. The test
// is skipped only where there is none (e.g. a module downloaded from the
// proxy); with a checkout, git must work.
func gitRoot(t *testing.T) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	if !insideGitCheckout(dir) {
		t.Skip("not in a git checkout: nothing is tracked")
	}
	cmd := exec.Command("git", "rev-parse", "--show-toplevel")
	cmd.Dir = dir
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("in a git checkout, but git rev-parse fails: %v", err)
	}
	return strings.TrimSpace(string(out))
}

// insideGitCheckout reports whether dir or a parent has a .git entry (a
// directory, or a file in a linked work tree).
func insideGitCheckout(dir string) bool {
	for {
		if _, err := os.Lstat(filepath.Join(dir, ".git")); err == nil {
			return true
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return false
		}
		dir = parent
	}
}

// executableKind names the executable format of the file at path by its
// magic bytes ("ELF", "Mach-O", "PE"), or "" for anything else.
func executableKind(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	head := make([]byte, 64)
	n, err := io.ReadFull(f, head)
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
		return "", err
	}
	head = head[:n]
	switch {
	case bytes.HasPrefix(head, []byte("\x7fELF")):
		return "ELF", nil
	case len(head) >= 4 && isMachO(binary.BigEndian.Uint32(head)):
		return "Mach-O", nil
	case bytes.HasPrefix(head, []byte("MZ")) && len(head) == 64:
		// A DOS header; a PE program has "PE\0\0" where its 0x3c field
		// points (text that merely starts with "MZ" does not).
		off := int64(binary.LittleEndian.Uint32(head[0x3c:]))
		sig := make([]byte, 4)
		if _, err := f.ReadAt(sig, off); err == nil && string(sig) == "PE\x00\x00" {
			return "PE", nil
		}
	}
	return "", nil
}

// isMachO: the thin 32- and 64-bit magics in either byte order, and the
// universal ("fat") header.
func isMachO(magic uint32) bool {
	switch magic {
	case 0xfeedface, 0xfeedfacf, 0xcefaedfe, 0xcffaedfe, 0xcafebabe:
		return true
	}
	return false
}

// TestExecutableKind: the check above knows each format by its header,
// and leaves text and data alone.
func TestExecutableKind(t *testing.T) {
	pe := make([]byte, 0x88)
	copy(pe, "MZ")
	binary.LittleEndian.PutUint32(pe[0x3c:], 0x80)
	copy(pe[0x80:], "PE\x00\x00")
	mz := make([]byte, 0x88) // "MZ" but no PE header where it points
	copy(mz, "MZ")
	binary.LittleEndian.PutUint32(mz[0x3c:], 0x80)
	cases := []struct {
		name string
		data []byte
		want string
	}{
		{"elf", append([]byte("\x7fELF\x02\x01\x01"), make([]byte, 100)...), "ELF"},
		{"macho64", append([]byte{0xcf, 0xfa, 0xed, 0xfe}, make([]byte, 100)...), "Mach-O"},
		{"macho32-be", append([]byte{0xfe, 0xed, 0xfa, 0xce}, make([]byte, 100)...), "Mach-O"},
		{"fat", append([]byte{0xca, 0xfe, 0xba, 0xbe}, make([]byte, 100)...), "Mach-O"},
		{"pe", pe, "PE"},
		{"mz text", mz, ""},
		{"go", []byte("package main\n\nfunc main() {}\n"), ""},
		{"short", []byte("E"), ""},
		{"empty", nil, ""},
	}
	dir := t.TempDir()
	for _, c := range cases {
		path := filepath.Join(dir, c.name)
		if err := os.WriteFile(path, c.data, 0o644); err != nil {
			t.Fatal(err)
		}
		got, err := executableKind(path)
		if err != nil || got != c.want {
			t.Errorf("%s: %q, %v; want %q", c.name, got, err, c.want)
		}
	}
}
