package await

import (
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/braidrpc/braid/internal/clock"
)

// recorder is a testing.TB that records a failure instead of ending the
// test, so the failing path can be checked.
type recorder struct {
	testing.TB
	failed string
}

func (r *recorder) Helper() {}
func (r *recorder) Fatalf(format string, args ...any) {
	r.failed = fmt.Sprintf(format, args...)
}

func TestPollReturnsOnceTheConditionHolds(t *testing.T) {
	var n atomic.Int32
	if !Poll(Timeout, func() bool { return n.Add(1) >= 3 }) {
		t.Fatal("Poll reported false for a condition that came true")
	}
	if got := n.Load(); got != 3 {
		t.Fatalf("cond was checked %d times, want 3 (it held on the third)", got)
	}
}

func TestPollGivesUpAtTheDeadline(t *testing.T) {
	if Poll(5*time.Millisecond, func() bool { return false }) {
		t.Fatal("Poll reported true for a condition that never held")
	}
}

func TestWithinFailsNamingWhat(t *testing.T) {
	r := &recorder{TB: t}
	Within(r, 5*time.Millisecond, "the answer", func() bool { return false })
	if r.failed != "timed out after 5ms waiting for the answer" {
		t.Fatalf("failure = %q", r.failed)
	}
	r = &recorder{TB: t}
	Until(r, "something true", func() bool { return true })
	if r.failed != "" {
		t.Fatalf("Until failed on a true condition: %q", r.failed)
	}
}

func TestAdvancingMovesTheFakeClockUntilTheConditionHolds(t *testing.T) {
	start := time.Unix(1000, 0)
	fake := clock.NewFake(start)
	fired := fake.After(time.Minute)
	Advancing(t, fake, 10*time.Second, "the timer a minute away", func() bool {
		select {
		case <-fired:
			return true
		default:
			return false
		}
	})
	if got := fake.Now().Sub(start); got != time.Minute {
		t.Fatalf("the clock moved %s, want exactly the minute the condition needed", got)
	}
}
