package footprint

import (
	"strings"
	"testing"
)

func TestParseMapsLine(t *testing.T) {
	const exe = "/usr/local/bin/braid"
	cases := []struct {
		line string
		want span
		ok   bool
	}{
		{"00400000-00402000 r--p 00000000 fe:00 1234  /usr/local/bin/braid", span{0x400000, 0x402000, 0}, true},
		{"00402000-025ae000 r-xp 00002000 fe:00 1234  /usr/local/bin/braid", span{0x402000, 0x25ae000, 0x2000}, true},
		{"04c4c000-0528b000 rw-p 0484c000 fe:00 1234  /usr/local/bin/braid", span{}, false}, // written data
		{"7f0000000000-7f0000001000 r--s 00000000 fe:00 1234  /usr/local/bin/braid", span{}, false},
		{"00400000-00402000 r--p 00000000 fe:00 99  /usr/bin/other", span{}, false},
		{"c000000000-c000400000 rw-p 00000000 00:00 0", span{}, false}, // heap
		{"00402000-00400000 r-xp 00000000 fe:00 1234  /usr/local/bin/braid", span{}, false},
		{"zz-00402000 r-xp 00000000 fe:00 1234  /usr/local/bin/braid", span{}, false},
		{"00400000 r-xp 00000000 fe:00 1234  /usr/local/bin/braid", span{}, false},
		{"00400000-00402000 r-xp 0000zz00 fe:00 1234  /usr/local/bin/braid", span{}, false},
		{"", span{}, false},
	}
	for _, c := range cases {
		got, ok := parseMapsLine(c.line, exe)
		if ok != c.ok || got != c.want {
			t.Errorf("parseMapsLine(%q) = %v, %v; want %v, %v", c.line, got, ok, c.want, c.ok)
		}
	}
	// A path with a space, and a binary replaced while running (the kernel
	// and readlink both say "(deleted)").
	for _, p := range []string{"/opt/my braid/braid", "/usr/bin/braid (deleted)"} {
		if _, ok := parseMapsLine("00400000-00402000 r-xp 00000000 fe:00 1 "+p, p); !ok {
			t.Errorf("path %q not matched", p)
		}
	}
}

func TestReadOnlySpans(t *testing.T) {
	mapping := func(header, anon, swap string) string {
		return header + "\nSize:                  8 kB\nRss:                   8 kB\nAnonymous:             " + anon +
			"\nSwap:                  " + swap + "\nTHPeligible:           0\nVmFlags: rd mr mw me\n"
	}
	smaps := mapping("00400000-00402000 r--p 00000000 fe:00 1 /b", "0 kB", "0 kB") +
		mapping("00402000-00500000 r-xp 00002000 fe:00 1 /b", "0 kB", "0 kB") +
		mapping("00500000-00600000 r--p 00100000 fe:00 1 /b", "0 kB", "0 kB") +
		// RELRO: relocated by the loader, then made read-only.
		mapping("00600000-00601000 r--p 00200000 fe:00 1 /b", "4 kB", "0 kB") +
		mapping("00601000-00602000 r--p 00201000 fe:00 1 /b", "0 kB", "4 kB") +
		mapping("00602000-00700000 rw-p 00202000 fe:00 1 /b", "0 kB", "0 kB") +
		mapping("c000000000-c000400000 rw-p 00000000 00:00 0", "64 kB", "0 kB") +
		mapping("7ffd0000-7ffd1000 r-xp 00000000 00:00 0 [vdso]", "0 kB", "0 kB")
	spans, err := readOnlySpans(strings.NewReader(smaps), "/b")
	if err != nil {
		t.Fatal(err)
	}
	want := []span{{0x400000, 0x402000, 0}, {0x402000, 0x500000, 0x2000}, {0x500000, 0x600000, 0x100000}}
	if len(spans) != len(want) {
		t.Fatalf("spans = %v, want %v", spans, want)
	}
	for i := range want {
		if spans[i] != want[i] {
			t.Fatalf("spans = %v, want %v", spans, want)
		}
	}
}

func TestRSSFile(t *testing.T) {
	status := "Name:\tbraid\nVmRSS:\t   75484 kB\nRssAnon:\t    5980 kB\nRssFile:\t   69504 kB\nThreads:\t7\n"
	if got := rssFile([]byte(status)); got != 69504<<10 {
		t.Fatalf("rssFile = %d", got)
	}
	for _, bad := range []string{"", "RssFile:\t12 MB\n", "RssFile:\tx kB\n", "RssFile:\n"} {
		if got := rssFile([]byte(bad)); got != -1 {
			t.Errorf("rssFile(%q) = %d, want -1", bad, got)
		}
	}
}
