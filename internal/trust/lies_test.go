package trust

import (
	"fmt"
	"strings"
	"testing"
	"unicode/utf8"
)

// TestLieLog: the log keeps the newest lies first, at most lieLogSize of
// them, and cuts long reasons at a rune boundary.
func TestLieLog(t *testing.T) {
	var l lieLog
	if got := l.list(); len(got) != 0 {
		t.Fatalf("empty log lists %v", got)
	}
	for i := range lieLogSize + 5 {
		l.add(Lie{Method: fmt.Sprint(i)})
	}
	got := l.list()
	if len(got) != lieLogSize || got[0].Method != fmt.Sprint(lieLogSize+4) || got[lieLogSize-1].Method != "5" {
		t.Fatalf("kept %d, newest %q, oldest %q", len(got), got[0].Method, got[len(got)-1].Method)
	}
	l.add(Lie{Reason: strings.Repeat("é", lieReasonBytes)})
	r := l.list()[0].Reason
	if !utf8.ValidString(r) || len(r) > lieReasonBytes+len("…") || !strings.HasSuffix(r, "…") {
		t.Fatalf("long reason kept as %d bytes, valid %v", len(r), utf8.ValidString(r))
	}
}
