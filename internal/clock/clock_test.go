package clock

import (
	"testing"
	"time"
)

func TestFakeAdvanceFiresDueTimers(t *testing.T) {
	start := time.Unix(1000, 0)
	f := NewFake(start)
	early := f.After(time.Second)
	late := f.After(3 * time.Second)
	if f.Waiters() != 2 {
		t.Fatalf("waiters = %d, want 2", f.Waiters())
	}
	f.Advance(2 * time.Second)
	select {
	case got := <-early:
		if !got.Equal(start.Add(2 * time.Second)) {
			t.Fatalf("fired at %v", got)
		}
	default:
		t.Fatal("timer due at 1s did not fire after advancing 2s")
	}
	select {
	case <-late:
		t.Fatal("timer due at 3s fired after 2s")
	default:
	}
	f.Advance(time.Second)
	select {
	case <-late:
	default:
		t.Fatal("timer due at 3s did not fire at 3s")
	}
	if f.Waiters() != 0 {
		t.Fatalf("waiters = %d after all fired", f.Waiters())
	}
}

func TestFakeAfterNonPositiveFiresAtOnce(t *testing.T) {
	f := NewFake(time.Unix(0, 0))
	select {
	case <-f.After(0):
	default:
		t.Fatal("After(0) did not fire immediately")
	}
}
