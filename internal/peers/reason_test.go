package peers

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestTruncateKeepsUTF8(t *testing.T) {
	long := strings.Repeat("é", MaxReason) // 2 bytes a rune
	for _, s := range []string{"", "short", long, "x" + long, string([]byte{0xff, 'a'})} {
		got := truncate(s)
		if len(got) > MaxReason || !utf8.Valid(got) {
			t.Fatalf("truncate(%q…) = %d bytes, valid %v", s[:min(len(s), 8)], len(got), utf8.Valid(got))
		}
	}
}
