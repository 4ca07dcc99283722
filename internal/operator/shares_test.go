package operator

import (
	"testing"
	"time"

	"github.com/braidrpc/braid/internal/clock"
)

func TestSharesWindow(t *testing.T) {
	fc := clock.NewFake(time.Unix(3600*1000, 0))
	s := newShares(fc)
	s.add("a", "b")
	s.add("a")
	fc.Advance(30 * time.Minute)
	s.add("b")
	if got := s.snapshot(); got["a"] != 2 || got["b"] != 2 {
		t.Fatalf("snapshot %v, want a 2 b 2", got)
	}
	fc.Advance(31 * time.Minute) // the first reads leave the hour
	if got := s.snapshot(); got["a"] != 0 || got["b"] != 1 {
		t.Fatalf("snapshot %v, want b 1", got)
	}
	fc.Advance(2 * time.Hour) // a bucket reused after a full turn starts empty
	s.add("c")
	if got := s.snapshot(); len(got) != 1 || got["c"] != 1 {
		t.Fatalf("snapshot %v, want c 1", got)
	}
}
