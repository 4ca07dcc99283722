package main

import (
	"os"
	"strconv"
	"testing"
)

const smapsSample = `00400000-00402000 r--p 00000000 fd:01 12 /usr/bin/braid
Size:                  8 kB
Rss:                   8 kB
Anonymous:             0 kB
00402000-02586000 r-xp 00002000 fd:01 12 /usr/bin/braid
Size:              34320 kB
Rss:               30104 kB
Anonymous:             0 kB
04bf0000-04bf6000 r--p 047f0000 fd:01 12 /usr/bin/braid
Size:                 24 kB
Rss:                  24 kB
Anonymous:            24 kB
04bf6000-05205000 rw-p 047f6000 fd:01 12 /usr/bin/braid
Size:               6204 kB
Rss:                3756 kB
Anonymous:          3000 kB
05205000-05300000 rw-p 00000000 00:00 0 
Size:               1004 kB
Rss:                1004 kB
Anonymous:          1004 kB
7f0000000000-7f0000100000 r-xp 00000000 fd:01 99 /usr/lib/libc.so.6
Size:               1024 kB
Rss:                 900 kB
Anonymous:             0 kB
`

// Only the executable's read-only private mappings with no page of their
// own are released: a relocated (written, then read-only) one, the data,
// anonymous memory and other files are not.
func TestFileMappingsChoosesTheBinarysCleanPages(t *testing.T) {
	var releasable []mapping
	for _, m := range fileMappings([]byte(smapsSample), "/usr/bin/braid") {
		if !m.writable && m.anonymous == 0 {
			releasable = append(releasable, m)
		}
	}
	if len(releasable) != 2 || releasable[0].start != 0x400000 || releasable[1].end != 0x2586000 || releasable[1].rss != 30104<<10 {
		t.Fatalf("releasable %+v", releasable)
	}
}

// Releasing keeps the process working: the code and constants come back
// as used.
func TestReleaseStartPages(t *testing.T) {
	n, err := releaseStartPages()
	if err != nil {
		t.Fatal(err)
	}
	exe, _ := os.Executable()
	if n <= 0 {
		t.Fatalf("released %d bytes of %s", n, exe)
	}
	if got := strconv.Itoa(12345); got != "12345" {
		t.Fatalf("after release: %q", got)
	}
}
