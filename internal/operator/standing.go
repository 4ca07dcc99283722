package operator

import (
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/braidrpc/braid/internal/clock"
	"github.com/braidrpc/braid/internal/config"
	"github.com/braidrpc/braid/internal/upstream"
)

// Options configure a network's Standing.
type Options struct {
	Network   string
	Strikes   config.Strikes // defaults applied
	Upstreams []*upstream.Upstream
	Clock     clock.Clock
	Logger    *slog.Logger
	Metrics   *Metrics
}

// Standing is one network's record of its operators: strikes,
// quarantines and read shares.
type Standing struct {
	network string
	ups     []*upstream.Upstream
	strikes *strikes
	shares  *shares

	mu       sync.Mutex
	onStrike func(operator string, until time.Time, quarantined bool)
}

// New returns the standing of the operators of opts.Upstreams.
func New(opts Options) *Standing {
	if opts.Clock == nil {
		opts.Clock = clock.Real{}
	}
	return &Standing{
		network: opts.Network,
		ups:     opts.Upstreams,
		strikes: newStrikes(opts.Network, opts.Strikes, opts.Clock, opts.Logger, opts.Metrics),
		shares:  newShares(opts.Clock),
	}
}

// OnStrike sets fn to be told of every strike this process counts (and
// whether it started a quarantine, until when): how replicas keep one
// tally. fn must not block.
func (s *Standing) OnStrike(fn func(operator string, until time.Time, quarantined bool)) {
	s.mu.Lock()
	s.onStrike = fn
	s.mu.Unlock()
}

// Lie is what an answer shown wrong costs, whoever showed it (a lost
// quorum dispute, a failed proof): the upstream that gave it records a
// Lie (its score drops, so it is asked later), its operator gets a
// strike, and the strike that reaches the limit suspends every upstream
// of the operator until the quarantine ends. u may be nil when the
// operator's answer is known but not which upstream gave it.
func (s *Standing) Lie(operator string, u *upstream.Upstream, reason string) {
	if u != nil {
		u.Record(upstream.Outcome{Kind: upstream.Lie})
	}
	until, quarantined := s.strikes.Strike(operator, reason)
	if quarantined {
		s.suspend(operator, until)
	}
	s.mu.Lock()
	fn := s.onStrike
	s.mu.Unlock()
	if fn != nil {
		fn(operator, until, quarantined)
	}
}

// Adopt applies a quarantine decided elsewhere (another replica counted
// the operator's strikes past the limit). It reports whether it was news.
func (s *Standing) Adopt(operator string, until time.Time) bool {
	if !s.strikes.Adopt(operator, until) {
		return false
	}
	s.suspend(operator, until)
	return true
}

// suspend takes every upstream of operator out of use until the given
// time.
func (s *Standing) suspend(operator string, until time.Time) {
	for _, u := range s.ups {
		if u.Operator == operator {
			u.Suspend(until, fmt.Sprintf("operator %s lost too many disputes", operator))
		}
	}
}

// Served counts one read answered by each of operators.
func (s *Standing) Served(operators ...string) { s.shares.add(operators...) }

// Reads returns each operator's reads served within ShareWindow.
func (s *Standing) Reads() map[string]uint64 { return s.shares.snapshot() }

// Strikes returns the operator's strikes within the strike window.
func (s *Standing) Strikes(operator string) int { return s.strikes.Count(operator) }

// Quarantined returns the operators quarantined now, and until when.
func (s *Standing) Quarantined() map[string]time.Time { return s.strikes.Quarantined() }

// Limits returns the strike limit, its window and the quarantine length.
func (s *Standing) Limits() (maxStrikes int, window, quarantine time.Duration) {
	return s.strikes.Limits()
}
