package operator

import (
	"testing"
	"time"

	"github.com/braidrpc/braid/internal/clock"
	"github.com/braidrpc/braid/internal/config"
)

func TestStrikesQuarantine(t *testing.T) {
	fc := clock.NewFake(time.Unix(1000, 0))
	s := newStrikes("test", config.Strikes{Max: 3, Window: time.Minute, Quarantine: 10 * time.Minute}, fc, nil, nil)
	if _, q := s.Strike("liar", "lost"); q {
		t.Fatal("quarantined after one strike")
	}
	fc.Advance(61 * time.Second) // the first strike leaves the window
	s.Strike("liar", "lost")
	if _, q := s.Strike("liar", "lost"); q {
		t.Fatal("quarantined with a strike outside the window")
	}
	if s.Count("liar") != 2 {
		t.Fatalf("count %d, want 2", s.Count("liar"))
	}
	until, q := s.Strike("liar", "lost")
	if !q || !until.Equal(fc.Now().Add(10*time.Minute)) {
		t.Fatalf("third strike: quarantined %v until %v", q, until)
	}
	if got := s.Quarantined(); len(got) != 1 || !got["liar"].Equal(until) {
		t.Fatalf("Quarantined() = %v", got)
	}
	if s.Count("liar") != 0 || s.Count("honest") != 0 {
		t.Fatal("strikes not reset by the quarantine")
	}
	fc.Advance(10 * time.Minute)
	if got := s.Quarantined(); len(got) != 0 {
		t.Fatalf("quarantine did not end: %v", got)
	}
}
