package quorum

import "testing"

func TestLogIsBounded(t *testing.T) {
	l := NewLog(3)
	if len(l.List()) != 0 {
		t.Fatal("new log not empty")
	}
	for i := range 5 {
		l.Add(Dispute{Block: uint64(i)})
	}
	got := l.List()
	if len(got) != 3 || got[0].Block != 4 || got[2].Block != 2 {
		t.Fatalf("List() = %+v, want blocks 4,3,2", got)
	}
}
