package operator

import (
	"sync"
	"time"

	"github.com/braidrpc/braid/internal/clock"
)

// ShareWindow is how far back the centralization report counts which
// operators served reads, in shareBuckets slices.
const (
	ShareWindow  = time.Hour
	shareBuckets = 60
)

// shares counts reads answered per operator over the last ShareWindow.
type shares struct {
	clock clock.Clock
	mu    sync.Mutex
	// buckets[i] counts the reads of one ShareWindow/shareBuckets slice,
	// started at starts[i].
	buckets [shareBuckets]map[string]uint64
	starts  [shareBuckets]time.Time
}

func newShares(clk clock.Clock) *shares { return &shares{clock: clk} }

func (s *shares) add(operators ...string) {
	now := s.clock.Now()
	slice := ShareWindow / shareBuckets
	start := now.Truncate(slice)
	i := int(start.UnixNano()/int64(slice)) % shareBuckets
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.starts[i].Equal(start) || s.buckets[i] == nil {
		s.starts[i] = start
		s.buckets[i] = make(map[string]uint64, len(operators))
	}
	for _, op := range operators {
		s.buckets[i][op]++
	}
}

// snapshot returns each operator's reads within the window.
func (s *shares) snapshot() map[string]uint64 {
	now := s.clock.Now()
	out := map[string]uint64{}
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, b := range s.buckets {
		if b == nil || now.Sub(s.starts[i]) >= ShareWindow {
			continue
		}
		for op, c := range b {
			out[op] += c
		}
	}
	return out
}
