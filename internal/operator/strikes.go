package operator

import (
	"log/slog"
	"maps"
	"sync"
	"time"

	"github.com/braidrpc/braid/internal/clock"
	"github.com/braidrpc/braid/internal/config"
)

// strikes counts, per operator of one network, answers that were shown
// wrong. Max strikes within Window quarantine the operator for
// Quarantine; its strikes then start again from zero.
type strikes struct {
	network    string
	max        int
	window     time.Duration
	quarantine time.Duration
	clock      clock.Clock
	log        *slog.Logger
	metrics    *Metrics

	mu    sync.Mutex
	hits  map[string][]time.Time // operator → strike times within window
	until map[string]time.Time   // operator → quarantined until
}

// newStrikes returns the strike record of network under cfg (defaults
// applied).
func newStrikes(network string, cfg config.Strikes, clk clock.Clock, log *slog.Logger, m *Metrics) *strikes {
	if clk == nil {
		clk = clock.Real{}
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &strikes{
		network: network, max: max(cfg.Max, 1), window: cfg.Window, quarantine: cfg.Quarantine,
		clock: clk, log: log, metrics: m,
		hits: map[string][]time.Time{}, until: map[string]time.Time{},
	}
}

// Strike records one wrong answer by operator, for reason. When it is the
// strike that reaches the limit, it returns the end of the quarantine it
// starts and true; the caller takes the operator's upstreams out of use.
func (s *strikes) Strike(operator, reason string) (time.Time, bool) {
	now := s.clock.Now()
	s.metrics.strike(s.network, operator)
	s.mu.Lock()
	defer s.mu.Unlock()
	hits := s.hits[operator][:0:0]
	for _, t := range s.hits[operator] {
		if now.Sub(t) < s.window {
			hits = append(hits, t)
		}
	}
	hits = append(hits, now)
	s.log.Warn("operator struck", "network", s.network, "operator", operator,
		"strikes", len(hits), "max", s.max, "window", s.window.String(), "reason", reason)
	if len(hits) < s.max {
		s.hits[operator] = hits
		return time.Time{}, false
	}
	delete(s.hits, operator)
	until := now.Add(s.quarantine)
	s.until[operator] = until
	s.metrics.setQuarantined(s.network, operator, true)
	s.log.Error("operator quarantined", "network", s.network, "operator", operator,
		"until", until.UTC().Format(time.RFC3339), "strikes", len(hits), "reason", reason)
	return until, true
}

// Count returns the operator's strikes within the window.
func (s *strikes) Count(operator string) int {
	now := s.clock.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, t := range s.hits[operator] {
		if now.Sub(t) < s.window {
			n++
		}
	}
	return n
}

// Quarantined returns the operators quarantined now and until when.
func (s *strikes) Quarantined() map[string]time.Time {
	now := s.clock.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	for op, until := range s.until {
		if !now.Before(until) {
			delete(s.until, op)
			s.metrics.setQuarantined(s.network, op, false)
			s.log.Info("operator quarantine over", "network", s.network, "operator", op)
		}
	}
	return maps.Clone(s.until)
}

// Adopt records a quarantine decided elsewhere (another replica counted
// the operator's strikes past the limit). It reports whether it is news:
// the operator was not already quarantined that long here.
func (s *strikes) Adopt(operator string, until time.Time) bool {
	now := s.clock.Now()
	if !until.After(now) {
		return false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if cur, ok := s.until[operator]; ok && !cur.Before(until) {
		return false
	}
	delete(s.hits, operator)
	s.until[operator] = until
	s.metrics.setQuarantined(s.network, operator, true)
	s.log.Error("operator quarantined by another replica", "network", s.network, "operator", operator,
		"until", until.UTC().Format(time.RFC3339))
	return true
}

// Limits returns the strike limit, its window and the quarantine length.
func (s *strikes) Limits() (maxStrikes int, window, quarantine time.Duration) {
	return s.max, s.window, s.quarantine
}
