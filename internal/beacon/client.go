package beacon

import (
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/ethereum/go-ethereum/beacon/light"
	"github.com/ethereum/go-ethereum/beacon/light/request"
	lsync "github.com/ethereum/go-ethereum/beacon/light/sync"
	"github.com/ethereum/go-ethereum/beacon/params"
	"github.com/ethereum/go-ethereum/common/mclock"
	"github.com/ethereum/go-ethereum/ethdb/memorydb"

	"github.com/braidrpc/braid/internal/clock"
)

// Threshold is how many of the 512 sync committee members must sign a head
// (go-ethereum's params.SyncCommitteeSupermajority, ⌈2/3⌉ = 342). braid
// checks it itself before go-ethereum's head tracker does.
const Threshold = params.SyncCommitteeSupermajority

// Client is one network's light client. Make it with New, then Start; it is
// safe for concurrent use.
type Client struct {
	cfg    Config
	spec   *spec
	log    *slog.Logger
	clock  clock.Clock
	m      *metrics
	chain  *light.CommitteeChain
	db     *memorydb.Database // the committee chain's store (committees and updates of every period since the checkpoint)
	heads  *light.HeadTracker
	sched  *request.Scheduler
	gate   *gate
	eps    []*endpoint
	cp     checkpointChoice
	cpPath string

	mu        sync.Mutex
	started   bool
	closed    bool
	head      *Head
	finalized *Finalized
	fatal     error
	booted    bool
	bootSlot  uint64
	savedSlot uint64
	saveErr   string
	watchers  map[chan struct{}]struct{}
	changed   chan struct{} // wakes the staleness watcher
	done      chan struct{}
	wg        sync.WaitGroup
}

// New validates cfg and picks the checkpoint (configured, else saved, else
// an error); nothing is contacted until Start.
func New(cfg Config) (*Client, error) {
	cfg.applyDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	s, err := newSpec(cfg.Network)
	if err != nil {
		return nil, fmt.Errorf("beacon: %w", err)
	}
	c := &Client{
		cfg: cfg, spec: s, log: cfg.Logger.With("network", cfg.Network.Name), clock: cfg.Clock,
		watchers: make(map[chan struct{}]struct{}), changed: make(chan struct{}, 1), done: make(chan struct{}),
	}
	c.cpPath = checkpointPath(cfg.DataDir, cfg.Network.Name)
	if c.cp, err = c.resolveCheckpoint(); err != nil {
		return nil, err
	}
	// enforceTime off: go-ethereum would judge slot times by 12 s slots and
	// the wall clock; braid judges them by the network's slots and the
	// injected clock (see gate.admit).
	c.db = memorydb.New()
	c.chain = light.NewCommitteeChain(c.db, s.chain, Threshold, false)
	c.heads = light.NewHeadTracker(c.chain, Threshold, nil)
	c.gate = newGate(c)
	c.sched = request.NewScheduler()
	c.sched.RegisterTarget(c.heads)
	c.sched.RegisterTarget(c.chain)
	c.sched.RegisterModule(lsync.NewCheckpointInit(chainGuard{c}, c.cp.Root), "checkpointInit")
	c.sched.RegisterModule(c.gate, "braidGate")
	for i, name := range endpointNames(cfg.APIs) {
		c.eps = append(c.eps, newEndpoint(cfg.APIs[i], name, s, &cfg, c.log, c.gate.push))
	}
	if c.m, err = newMetrics(cfg.Registerer, c); err != nil {
		return nil, err
	}
	return c, nil
}

// Start connects to every beacon API.
func (c *Client) Start() error {
	c.mu.Lock()
	if c.started || c.closed {
		c.mu.Unlock()
		return errors.New("beacon: client already started or closed")
	}
	c.started = true
	c.wg.Add(2) // Close waits for the registrations and the watcher
	c.mu.Unlock()
	c.log.Info("beacon light client starting", "checkpoint", c.cp.Root, "source", c.cp.Source, "apis", len(c.eps))
	if c.cpPath == "" {
		c.log.Warn("beacon light client keeps no checkpoint (trust.data_dir not set): every start bootstraps from this one, which is refused once older than checkpoint_max_age",
			"checkpoint", c.cp.Root, "checkpoint_max_age", c.cfg.CheckpointMaxAge)
	}
	c.sched.Start()
	for _, ep := range c.eps {
		c.register(ep)
	}
	c.wg.Done()
	go func() {
		defer c.wg.Done()
		c.watchStale()
	}()
	return nil
}

// Close stops the client; its head is no longer served (ErrStopped).
func (c *Client) Close() error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil
	}
	c.closed = true
	started := c.started
	close(c.done)
	c.mu.Unlock()
	c.wg.Wait()
	if started {
		c.sched.Stop()
	}
	for _, ep := range c.eps {
		ep.Unsubscribe()
	}
	c.m.unregister()
	c.notify()
	return nil
}

// register wraps ep in go-ethereum's request server (timeouts, per-server
// request limits, failure back-off) and adds it to the scheduler. Transport
// timeouts run on the system clock (mclock.System): they bound real network
// waits; braid's decisions use the injected clock. Callers are counted in
// c.wg, so Close cannot stop the scheduler under them; c.mu is not held
// across the scheduler (its loop takes c.mu when publishing).
func (c *Client) register(ep *endpoint) {
	c.mu.Lock()
	closed := c.closed
	c.mu.Unlock()
	if closed {
		return
	}
	srv := request.NewServer(ep, &mclock.System{})
	ep.setServer(srv, func() { c.sched.UnregisterServer(srv) })
	c.sched.RegisterServer(srv)
}

// drop unregisters a quarantined endpoint and registers it again when its
// quarantine ends.
func (c *Client) drop(ep *endpoint, until time.Time) {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return
	}
	c.wg.Add(1)
	c.mu.Unlock()
	go func() {
		defer c.wg.Done()
		ep.mu.Lock()
		unregister := ep.unregister
		ep.srv, ep.unregister = nil, nil
		ep.mu.Unlock()
		if unregister != nil {
			unregister()
		}
		c.notify()
		select {
		case <-c.done:
			return
		case <-c.clock.After(until.Sub(c.clock.Now())):
		}
		c.log.Info("beacon API quarantine over", "beacon_api", ep.name)
		c.register(ep)
	}()
}

// fail stops the client for good with a reason (a refused checkpoint): it
// stays not ready and stops asking the endpoints.
func (c *Client) fail(err error) {
	c.mu.Lock()
	if c.fatal != nil || c.closed {
		c.mu.Unlock()
		return
	}
	c.fatal = err
	c.wg.Add(1)
	c.mu.Unlock()
	c.log.Error("beacon light client stopped", "err", err)
	go func() {
		defer c.wg.Done()
		for _, ep := range c.eps {
			ep.mu.Lock()
			unregister := ep.unregister
			ep.srv, ep.unregister = nil, nil
			ep.mu.Unlock()
			if unregister != nil {
				unregister()
			}
		}
	}()
	c.notify()
}

// Watch returns a channel that receives (coalesced) whenever the head, the
// finalized block or readiness may have changed, and a cancel function.
func (c *Client) Watch() (<-chan struct{}, func()) {
	ch := make(chan struct{}, 1)
	c.mu.Lock()
	c.watchers[ch] = struct{}{}
	c.mu.Unlock()
	return ch, func() {
		c.mu.Lock()
		delete(c.watchers, ch)
		c.mu.Unlock()
	}
}

// notify wakes the watchers and the staleness watcher.
func (c *Client) notify() {
	c.notifyWatchers()
	select {
	case c.changed <- struct{}{}:
	default:
	}
}

func (c *Client) notifyWatchers() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for ch := range c.watchers {
		select {
		case ch <- struct{}{}:
		default:
		}
	}
}

// watchStale wakes watchers when the head turns stale: nothing else
// happens at that moment, yet readiness changes.
func (c *Client) watchStale() {
	for {
		var timer <-chan time.Time
		c.mu.Lock()
		if c.head != nil {
			timer = c.clock.After(c.head.SlotTime.Add(c.cfg.MaxHeadAge).Sub(c.clock.Now()) + time.Nanosecond)
		}
		c.mu.Unlock()
		select {
		case <-c.done:
			return
		case <-c.changed:
		case <-timer:
			if err := c.Ready(); errors.Is(err, ErrStaleHead) {
				c.log.Warn("beacon light client not ready", "err", err)
			}
			c.notifyWatchers()
			select { // one warning per stale head: wait for a change
			case <-c.done:
				return
			case <-c.changed:
			}
		}
	}
}
