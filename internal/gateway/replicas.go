package gateway

import (
	"context"
	"sync"
	"time"

	"github.com/braidrpc/braid/internal/replica"
)

// syncInterval is how often a replica publishes and reads the state it
// shares with the others (served tip, rate limits, quarantines).
const syncInterval = time.Second

// shared is one network's state shared with the other replicas through
// Redis. A nil *shared (no redis.url) shares nothing.
type shared struct {
	link      *replica.Link
	members   *replica.Members
	throttles *replica.Throttles
	strikes   *replica.Strikes
	tips      *replica.Tips

	mu        sync.Mutex
	published map[string]time.Time // upstream → end of the last throttle published
	view      []replica.Tip        // every replica's tip, as last read
}

func newShared(link *replica.Link, members *replica.Members, network string) *shared {
	return &shared{
		link: link, members: members,
		throttles: replica.NewThrottles(link, network),
		strikes:   replica.NewStrikes(link, network),
		tips:      replica.NewTips(link, network),
		published: make(map[string]time.Time),
	}
}

// replicaLoop publishes what this replica knows and adopts what the others
// do, once a second, until the gateway stops. While Redis is unreachable
// every step fails fast and the replica runs on its own state.
func (g *Gateway) replicaLoop(ctx context.Context, n *Network) {
	for {
		n.syncShared(ctx)
		select {
		case <-ctx.Done():
			return
		case <-g.ctx.Done():
			return
		case <-g.clock.After(syncInterval):
		}
	}
}

func (n *Network) syncShared(ctx context.Context) {
	s := n.share
	if !s.link.Up() {
		return
	}
	now := n.clock.Now()
	replicas := float64(max(s.members.Count(), 1))

	t := n.head.Tip()
	if t.Known {
		_ = s.tips.Publish(ctx, replica.Tip{
			Latest: t.Latest.Number, LatestHash: t.Latest.Hash.Hex(),
			Finalized: t.Finalized.Number, FinalizedHash: t.Finalized.Hash.Hex(), At: now,
		})
	}
	if view, err := s.tips.Read(ctx); err == nil {
		s.mu.Lock()
		s.view = view
		s.mu.Unlock()
		var highest uint64
		for _, v := range view {
			highest = max(highest, v.Latest)
		}
		if t.Known && highest > t.Latest.Number {
			n.metrics.replicaBehind(n.Name, highest-t.Latest.Number)
		} else {
			n.metrics.replicaBehind(n.Name, 0)
		}
	}

	// A provider that rate-limited one replica limits them all: publish
	// this replica's lowered rate as the cluster's total, and take a
	// replica's share of any total another published.
	for _, u := range n.Upstreams() {
		rate, until, ok := u.Budget().Lowered()
		if !ok {
			continue
		}
		s.mu.Lock()
		fresh := until.After(s.published[u.Name])
		s.mu.Unlock()
		if !fresh {
			continue
		}
		if s.throttles.Publish(ctx, u.Name, replica.Throttle{Rate: rate * replicas, Until: until}) == nil {
			s.mu.Lock()
			s.published[u.Name] = until
			s.mu.Unlock()
		}
	}
	if ths, err := s.throttles.Read(ctx); err == nil {
		for name, th := range ths {
			if u := n.upstream(name); u != nil {
				u.Budget().Adopt(th.Rate/replicas, th.Until)
			}
		}
	}

	if qs, err := s.strikes.Quarantines(ctx); err == nil {
		for op, until := range qs {
			n.operators.Adopt(op, until)
		}
	}
}

// shareStrike counts a strike in the cluster's tally (in the background:
// a request never waits on Redis for it). When the replicas' strikes
// together reach the limit, the operator is quarantined everywhere.
func (n *Network) shareStrike(operator string, localUntil time.Time, localQuarantine bool) {
	s := n.share
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 4*s.link.Timeout())
		defer cancel()
		if localQuarantine {
			_ = s.strikes.Quarantine(ctx, operator, localUntil)
			_ = s.strikes.Reset(ctx, operator)
			return
		}
		limit, window, quarantine := n.operators.Limits()
		count, err := s.strikes.Add(ctx, operator, window)
		if err != nil || count < limit {
			return
		}
		until := n.clock.Now().Add(quarantine)
		if s.strikes.Quarantine(ctx, operator, until) == nil {
			_ = s.strikes.Reset(ctx, operator)
		}
		n.operators.Adopt(operator, until)
	}()
}

// ReplicaStatus is what /status shows about the replicas sharing state.
type ReplicaStatus struct {
	ID       string `json:"id"`
	Redis    string `json:"redis"` // "up" or "down"
	Replicas int    `json:"replicas"`
}

// TipView is one replica's served tip as it last published it.
type TipView = replica.Tip

func (n *Network) replicaTips() []TipView {
	if n.share == nil {
		return nil
	}
	n.share.mu.Lock()
	defer n.share.mu.Unlock()
	return append([]TipView(nil), n.share.view...)
}
