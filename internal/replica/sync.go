package replica

import (
	"context"
	"sync"
	"time"

	"github.com/braidrpc/braid/internal/block"
	"github.com/braidrpc/braid/internal/clock"
)

// SyncInterval is how often a replica publishes and reads the state it
// shares with the others (served tip, rate limits, quarantines), and
// announces itself as a member.
const SyncInterval = time.Second

// Budget is an upstream's rate budget as the replicas share it: a rate
// limit one replica met (Lowered) is the whole cluster's, and each
// replica adopts its share of a limit another published.
type Budget interface {
	// Lowered returns the rate this replica lowered the budget to after
	// a rate limit, and until when; ok is false when it is not lowered.
	Lowered() (rate float64, until time.Time, ok bool)
	// Adopt lowers the budget to rate until the given time.
	Adopt(rate float64, until time.Time)
	// SetShare sets the share of the configured rate this replica takes.
	SetShare(s float64)
}

// Standing is the operators' standing on one network (strikes and
// quarantines) as the replicas share it.
type Standing interface {
	// Adopt applies a quarantine decided elsewhere, suspending the
	// operator's upstreams; it reports whether it was news.
	Adopt(operator string, until time.Time) bool
	// Limits returns the strike limit, its window and the quarantine
	// length.
	Limits() (maxStrikes int, window, quarantine time.Duration)
}

// SyncOptions configure a Sync.
type SyncOptions struct {
	Network string
	// Tip is the network's served tip now.
	Tip func() block.Tip
	// Budgets are the network's upstreams' budgets, by upstream name.
	Budgets  func() map[string]Budget
	Standing Standing
	Clock    clock.Clock
	// Behind, when set, is told after each read of the others' tips how
	// many blocks this replica's tip is behind the highest (0 when it is
	// not behind).
	Behind func(blocks uint64)
}

// Sync is one network's state shared with the other replicas through
// Redis: its served tip, the rate limits its upstreams met, and its
// operators' strikes and quarantines. While Redis is unreachable every
// step fails fast and the replica runs on its own state.
type Sync struct {
	link      *Link
	members   *Members
	throttles *Throttles
	strikes   *Strikes
	tips      *Tips
	opts      SyncOptions

	mu        sync.Mutex
	published map[string]time.Time // upstream → end of the last throttle published
	view      []Tip                // every replica's tip, as last read
}

// NewSync returns the shared state of opts.Network over link, the
// replicas counted by members: N replicas sending to one provider each
// take 1/N of its budget.
func NewSync(link *Link, members *Members, opts SyncOptions) *Sync {
	if opts.Clock == nil {
		opts.Clock = clock.Real{}
	}
	if members != nil && opts.Budgets != nil {
		members.OnChange(func(count int) {
			for _, b := range opts.Budgets() {
				b.SetShare(1 / float64(max(count, 1)))
			}
		})
	}
	return &Sync{
		link: link, members: members, opts: opts,
		throttles: NewThrottles(link, opts.Network),
		strikes:   NewStrikes(link, opts.Network),
		tips:      NewTips(link, opts.Network),
		published: make(map[string]time.Time),
	}
}

// Run publishes what this replica knows and adopts what the others do,
// every SyncInterval, until ctx ends.
func (s *Sync) Run(ctx context.Context) {
	for {
		s.Step(ctx)
		select {
		case <-ctx.Done():
			return
		case <-s.opts.Clock.After(SyncInterval):
		}
	}
}

// Step shares once: the served tip, the budgets' rate limits and the
// quarantines, each both ways.
func (s *Sync) Step(ctx context.Context) {
	if !s.link.Up() {
		return
	}
	s.syncTips(ctx)
	s.syncBudgets(ctx)
	if qs, err := s.strikes.Quarantines(ctx); err == nil {
		for op, until := range qs {
			s.opts.Standing.Adopt(op, until)
		}
	}
}

// syncTips publishes the served tip and reads every replica's.
func (s *Sync) syncTips(ctx context.Context) {
	t := s.opts.Tip()
	if t.Known {
		_ = s.tips.Publish(ctx, Tip{Tip: t, At: s.opts.Clock.Now()})
	}
	view, err := s.tips.Read(ctx)
	if err != nil {
		return
	}
	s.mu.Lock()
	s.view = view
	s.mu.Unlock()
	var highest uint64
	for _, v := range view {
		highest = max(highest, v.Latest.Number)
	}
	if s.opts.Behind == nil {
		return
	}
	if t.Known && highest > t.Latest.Number {
		s.opts.Behind(highest - t.Latest.Number)
	} else {
		s.opts.Behind(0)
	}
}

// syncBudgets makes a provider that rate-limited one replica limit them
// all: it publishes this replica's lowered rate as the cluster's total,
// and takes a replica's share of any total another published.
func (s *Sync) syncBudgets(ctx context.Context) {
	replicas := float64(max(s.members.Count(), 1))
	budgets := s.opts.Budgets()
	for name, b := range budgets {
		rate, until, ok := b.Lowered()
		if !ok {
			continue
		}
		s.mu.Lock()
		fresh := until.After(s.published[name])
		s.mu.Unlock()
		if !fresh {
			continue
		}
		if s.throttles.Publish(ctx, name, Throttle{Rate: rate * replicas, Until: until}) == nil {
			s.mu.Lock()
			s.published[name] = until
			s.mu.Unlock()
		}
	}
	ths, err := s.throttles.Read(ctx)
	if err != nil {
		return
	}
	for name, th := range ths {
		if b, ok := budgets[name]; ok {
			b.Adopt(th.Rate/replicas, th.Until)
		}
	}
}

// Strike counts a strike this replica gave operator in the cluster's
// tally (in the background: a request never waits on Redis for it). A
// strike that quarantined the operator here (quarantined, until) is
// published as it is; otherwise, when the replicas' strikes together
// reach the limit, the operator is quarantined everywhere.
func (s *Sync) Strike(operator string, until time.Time, quarantined bool) {
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 4*s.link.Timeout())
		defer cancel()
		if quarantined {
			_ = s.strikes.Quarantine(ctx, operator, until)
			_ = s.strikes.Reset(ctx, operator)
			return
		}
		limit, window, quarantine := s.opts.Standing.Limits()
		count, err := s.strikes.Add(ctx, operator, window)
		if err != nil || count < limit {
			return
		}
		until := s.opts.Clock.Now().Add(quarantine)
		if s.strikes.Quarantine(ctx, operator, until) == nil {
			_ = s.strikes.Reset(ctx, operator)
		}
		s.opts.Standing.Adopt(operator, until)
	}()
}

// Tips returns every replica's served tip as last read.
func (s *Sync) Tips() []Tip {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Tip(nil), s.view...)
}
