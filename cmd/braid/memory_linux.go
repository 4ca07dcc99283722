package main

import (
	"bufio"
	"bytes"
	"os"
	"strconv"
	"syscall"
)

// releaseStartPages unmaps the braid binary's read-only pages (code,
// constant data, function tables) from the process. Starting touches most
// of them: the 500-odd packages linked in (go-ethereum, libp2p, pebble,
// …) each run their init, and the kernel maps the pages around each one
// faulted in, so at idle 60-odd MiB of the binary count in braid's RSS
// though serving reads a part of them. Unmapped, they come back from the
// page cache (no disk read) as they are used again. Only mappings that
// hold nothing but the file's bytes are released: read-only, private,
// of the executable, with no page of their own (Anonymous: 0, so never
// written, e.g. by relocations). It returns the resident bytes released
// (0 if it could not tell).
func releaseStartPages() (int64, error) {
	exe, err := os.Executable()
	if err != nil {
		return 0, err
	}
	smaps, err := os.ReadFile("/proc/self/smaps")
	if err != nil {
		return 0, err
	}
	var released int64
	for _, m := range fileMappings(smaps, exe) {
		if m.writable || m.anonymous != 0 {
			continue
		}
		if _, _, e := syscall.Syscall(syscall.SYS_MADVISE, uintptr(m.start), uintptr(m.end-m.start), syscall.MADV_DONTNEED); e != 0 {
			return released, e
		}
		released += m.rss
	}
	return released, nil
}

// mapping is one mapping of /proc/self/smaps.
type mapping struct {
	start, end     uint64
	writable       bool
	rss, anonymous int64 // bytes
}

// fileMappings are the private mappings of path in smaps.
func fileMappings(smaps []byte, path string) []mapping {
	var out []mapping
	var cur *mapping
	sc := bufio.NewScanner(bytes.NewReader(smaps))
	for sc.Scan() {
		line := sc.Bytes()
		f := bytes.Fields(line)
		if len(f) == 0 {
			continue
		}
		if key, ok := bytes.CutSuffix(f[0], []byte(":")); ok && len(f) >= 2 {
			if cur != nil {
				kb, _ := strconv.ParseInt(string(f[1]), 10, 64)
				switch string(key) {
				case "Rss":
					cur.rss = kb << 10
				case "Anonymous":
					cur.anonymous = kb << 10
				}
			}
			continue
		}
		// A mapping's first line: address perms offset dev inode path.
		cur = nil
		if len(f) < 6 || string(f[5]) != path || len(f[1]) < 4 || f[1][3] != 'p' {
			continue
		}
		lo, hi, ok := bytes.Cut(f[0], []byte("-"))
		start, err1 := strconv.ParseUint(string(lo), 16, 64)
		end, err2 := strconv.ParseUint(string(hi), 16, 64)
		if !ok || err1 != nil || err2 != nil || end <= start {
			continue
		}
		out = append(out, mapping{start: start, end: end, writable: f[1][1] == 'w'})
		cur = &out[len(out)-1]
	}
	return out
}
