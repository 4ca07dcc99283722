package stream

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/ethereum/go-ethereum/common"

	"github.com/braidrpc/braid/internal/clock"
)

const (
	// pendingSeen bounds the hashes remembered to send each one once.
	pendingSeen = 1 << 16
	// pendingPoll is how often an upstream without ws_url is asked for
	// new pending transactions while anyone listens.
	pendingPoll       = time.Second
	pendingBackoffMax = 30 * time.Second
)

// Pool is one upstream's transaction pool, as the pending feed follows
// it. RoutedPools implements it over a router and its upstreams.
type Pool interface {
	// Name and Operator name the upstream in logs.
	Name() string
	Operator() string
	// Usable reports whether the upstream may be sent requests now.
	Usable() bool
	// CanSubscribe reports whether the upstream takes subscriptions (it
	// has a ws_url).
	CanSubscribe() bool
	// SubscribePending follows newPendingTransactions until ctx ends or
	// the subscription fails, calling fn with each result; established
	// says whether it was ever made. Its error names no secret.
	SubscribePending(ctx context.Context, fn func(result json.RawMessage) error) (established bool, err error)
	// Call sends one call to this upstream only and returns its result
	// (an error answer as an error).
	Call(ctx context.Context, method string, params json.RawMessage) (json.RawMessage, error)
}

// pendingFeed gathers pending transaction hashes from every usable
// upstream (a newPendingTransactions subscription over ws_url, else a
// polled pending-transaction filter), sends each hash once, and runs only
// while someone listens. It is best effort by nature: a pool's content is
// each node's own.
type pendingFeed struct {
	pools func() []Pool
	clock clock.Clock
	log   *slog.Logger

	mu     sync.Mutex
	subs   map[*pendingSub]struct{}
	cancel context.CancelFunc // of the running sources, nil when idle
	wg     sync.WaitGroup
	seen   map[common.Hash]struct{}
	order  []common.Hash // ring of seen, oldest at next
	next   int
	base   context.Context
}

type pendingSub struct {
	mu     sync.Mutex
	closed bool
	fn     func(json.RawMessage)
}

func newPendingFeed(pools func() []Pool, base context.Context, clk clock.Clock, log *slog.Logger) *pendingFeed {
	return &pendingFeed{pools: pools, clock: clk, log: log, base: base,
		subs: make(map[*pendingSub]struct{}), seen: make(map[common.Hash]struct{})}
}

// subscribe registers fn for each new pending hash (a JSON string) and
// starts the sources if it is the first listener. The returned func
// unsubscribes; the sources stop with the last listener.
func (p *pendingFeed) subscribe(fn func(json.RawMessage)) func() {
	s := &pendingSub{fn: fn}
	p.mu.Lock()
	p.subs[s] = struct{}{}
	if p.cancel == nil {
		ctx, cancel := context.WithCancel(p.base)
		p.cancel = cancel
		for _, u := range p.pools() {
			p.wg.Add(1)
			go func() {
				defer p.wg.Done()
				p.source(ctx, u)
			}()
		}
	}
	p.mu.Unlock()
	return func() {
		s.mu.Lock()
		s.closed = true
		s.mu.Unlock()
		p.mu.Lock()
		delete(p.subs, s)
		if len(p.subs) == 0 && p.cancel != nil {
			p.cancel()
			p.cancel = nil
		}
		p.mu.Unlock()
	}
}

// listeners counts the current listeners.
func (p *pendingFeed) listeners() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.subs)
}

// wait returns when every source goroutine has ended (after the base
// context is cancelled).
func (p *pendingFeed) wait() { p.wg.Wait() }

// publish sends the hashes not seen before to every listener.
func (p *pendingFeed) publish(hashes []common.Hash) {
	var fresh []json.RawMessage
	p.mu.Lock()
	for _, h := range hashes {
		if _, ok := p.seen[h]; ok {
			continue
		}
		if len(p.order) < pendingSeen {
			p.order = append(p.order, h)
		} else {
			delete(p.seen, p.order[p.next])
			p.order[p.next] = h
			p.next = (p.next + 1) % pendingSeen
		}
		p.seen[h] = struct{}{}
		fresh = append(fresh, json.RawMessage(`"`+h.Hex()+`"`))
	}
	subs := make([]*pendingSub, 0, len(p.subs))
	for s := range p.subs {
		subs = append(subs, s)
	}
	p.mu.Unlock()
	if len(fresh) == 0 {
		return
	}
	for _, s := range subs {
		s.mu.Lock()
		if !s.closed {
			for _, h := range fresh {
				s.fn(h)
			}
		}
		s.mu.Unlock()
	}
}

// source follows one upstream's pool until ctx ends, reconnecting with
// backoff; an unusable upstream is skipped until it is usable again.
func (p *pendingFeed) source(ctx context.Context, u Pool) {
	backoff := pendingPoll
	quiet := false
	wsFails := 0 // a ws_url that keeps failing gives way to polling, then is tried again
	for ctx.Err() == nil {
		var err error
		established := false
		if !u.Usable() {
			err = errors.New("upstream not usable")
		} else if u.CanSubscribe() && wsFails < 2 {
			established, err = u.SubscribePending(ctx, func(r json.RawMessage) error {
				var h common.Hash
				if json.Unmarshal(r, &h) == nil {
					p.publish([]common.Hash{h})
				}
				return nil
			})
			if established {
				wsFails = 0
			} else {
				wsFails++
			}
		} else {
			established, err = p.poll(ctx, u)
			wsFails = 0
		}
		if ctx.Err() != nil {
			return
		}
		if established {
			backoff, quiet = pendingPoll, false
		}
		if !quiet {
			p.log.Debug("pending transactions source failed; retrying", "upstream", u.Name(), "operator", u.Operator(),
				"err", err, "retry_in", backoff.String())
		}
		quiet = true
		select {
		case <-ctx.Done():
			return
		case <-p.clock.After(backoff):
		}
		backoff = min(2*backoff, pendingBackoffMax)
	}
}

// poll installs a pending-transaction filter on u and polls it until an
// error or ctx ends; the filter is removed on the way out.
func (p *pendingFeed) poll(ctx context.Context, u Pool) (established bool, err error) {
	call := u.Call
	id, err := call(ctx, "eth_newPendingTransactionFilter", json.RawMessage(`[]`))
	if err != nil {
		return false, fmt.Errorf("eth_newPendingTransactionFilter: %w", err)
	}
	params := append(append(json.RawMessage(`[`), id...), ']')
	defer func() {
		uctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
		_, _ = call(uctx, "eth_uninstallFilter", params)
		cancel()
	}()
	for {
		select {
		case <-ctx.Done():
			return true, nil
		case <-p.clock.After(pendingPoll):
		}
		if !u.Usable() {
			return true, errors.New("upstream not usable")
		}
		raw, err := call(ctx, "eth_getFilterChanges", params)
		if err != nil {
			return true, fmt.Errorf("eth_getFilterChanges: %w", err) // e.g. the node dropped the filter
		}
		var hashes []common.Hash
		if err := json.Unmarshal(raw, &hashes); err != nil {
			return true, fmt.Errorf("eth_getFilterChanges: not a list of hashes: %w", err)
		}
		p.publish(hashes)
	}
}
