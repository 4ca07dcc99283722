// Package footprint keeps the process's resident memory (RSS) to what
// braid runs. A Go binary is mapped from its file; the kernel maps its
// pages in runs (64 KiB around each fault, and a whole large folio, up to
// 2 MiB, when the page cache holds the file so: after a cold read-ahead or
// a fresh `go build`), and start-up touches code and data all over a
// binary of over 100 MB (some 550 package initialisers), so by the time
// braid serves, tens of MiB of the executable are resident that it never
// touches again. ReleaseExecutable hands those pages back once start-up is
// done and asks the kernel to map single pages from then on, so RSS
// follows the code serving runs.
//
// Only the executable's read-only mappings (code, read-only data, the
// function tables) are released: they are never written, so a page
// released is read back unchanged when next needed. Writable data, the
// heap and stacks are never touched. The cost is that code braid has not
// yet run since the release is read from the page cache (or disk) a page
// at a time when it first runs. The package does this on Linux only;
// elsewhere ReleaseExecutable does nothing and says so.
//
// It is the binary's choice, as the memory limit is: a program that embeds
// braid as a library owns its process, and the library never calls this.
package footprint

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// ErrUnsupported: this system has no way to release the pages.
var ErrUnsupported = errors.New("releasing the executable's pages is supported on Linux only")

// Release says what ReleaseExecutable did.
type Release struct {
	// Mappings is how many read-only mappings of the executable were
	// released, and Bytes their size (mapped, not resident).
	Mappings int
	Bytes    int64
	// FileBefore and FileAfter are the process's file-backed resident
	// bytes (RssFile) before and after.
	FileBefore, FileAfter int64
}

// span is one mapping of the executable.
type span struct {
	start, end uintptr
	off        int64 // where in the file the mapping starts
}

// readOnlySpans finds exe's read-only, private mappings that hold only
// the file's bytes, in a /proc/PID/smaps listing. A mapping that is
// read-only now may have been written before it was made so — the dynamic
// loader relocates a binary's RELRO segment, then makes it read-only — and
// its changed pages are anonymous copies: releasing them would lose the
// relocations (a cgo function pointer read back as the file's zero). So a
// mapping with any anonymous or swapped page is never a span.
func readOnlySpans(smaps io.Reader, exe string) ([]span, error) {
	var spans []span
	var cur span
	have, clean := false, true
	flush := func() {
		if have && clean {
			spans = append(spans, cur)
		}
		have, clean = false, true
	}
	sc := bufio.NewScanner(smaps)
	sc.Buffer(make([]byte, 0, 4096), 64<<10)
	for sc.Scan() {
		line := sc.Text()
		key, val, isField := fieldLine(line)
		if !isField {
			flush()
			cur, have = parseMapsLine(line, exe)
			continue
		}
		if have && (key == "Anonymous" || key == "Swap") && val != "0 kB" {
			clean = false
		}
	}
	flush()
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("reading the process's mappings: %w", err)
	}
	return spans, nil
}

// fieldLine splits an smaps field line ("Anonymous:      0 kB"); a
// mapping's header line is not one.
func fieldLine(line string) (key, val string, ok bool) {
	key, val, ok = strings.Cut(line, ":")
	if !ok || key == "" || strings.ContainsAny(key, " -") {
		return "", "", false
	}
	return key, strings.TrimSpace(val), true
}

// parseMapsLine reads one mapping's header line of /proc/PID/smaps (a
// line of /proc/PID/maps):
//
//	00400000-00402000 r--p 00000000 fe:00 1234     /usr/bin/braid
//
// and reports it when it maps exe readable, not writable, private.
func parseMapsLine(line, exe string) (span, bool) {
	f := strings.Fields(line)
	if len(f) < 6 || strings.Join(f[5:], " ") != exe {
		return span{}, false
	}
	perms := f[1]
	if len(perms) != 4 || perms[0] != 'r' || perms[1] != '-' || perms[3] != 'p' {
		return span{}, false
	}
	lo, hi, ok := strings.Cut(f[0], "-")
	if !ok {
		return span{}, false
	}
	start, err1 := strconv.ParseUint(lo, 16, 64)
	end, err2 := strconv.ParseUint(hi, 16, 64)
	off, err3 := strconv.ParseInt(f[2], 16, 64)
	if err1 != nil || err2 != nil || err3 != nil || end <= start || off < 0 {
		return span{}, false
	}
	return span{start: uintptr(start), end: uintptr(end), off: off}, true
}

// rssFile reads RssFile (bytes) from a /proc/PID/status listing; -1 when
// it is not there.
func rssFile(status []byte) int64 {
	for line := range bytes.Lines(status) {
		rest, ok := bytes.CutPrefix(line, []byte("RssFile:"))
		if !ok {
			continue
		}
		f := strings.Fields(string(rest))
		if len(f) != 2 || f[1] != "kB" {
			return -1
		}
		kb, err := strconv.ParseInt(f[0], 10, 64)
		if err != nil {
			return -1
		}
		return kb << 10
	}
	return -1
}
