// Package stream is braid's own view of a network's served chain as an
// ordered stream, and everything fed by it: eth_subscribe subscriptions
// (newHeads, logs, newPendingTransactions), the filters braid keeps itself
// (eth_newFilter, eth_newBlockFilter, eth_newPendingTransactionFilter and
// their polls) and the pending transaction feed.
//
// The block stream (Follower) is told each served tip and emits every
// block once and in order, reorgs as one event. It reads blocks and logs
// through braid's own request path (a Caller the gateway provides), so no
// single upstream feeds it. The pending feed follows every upstream's pool
// (a Pool each) while anyone listens. The package never imports the
// gateway: it takes those two small seams.
package stream

import (
	"context"
	"encoding/json"
	"log/slog"
	"time"

	"github.com/braidrpc/braid/internal/block"
	"github.com/braidrpc/braid/internal/clock"
	"github.com/braidrpc/braid/internal/config"
	"github.com/braidrpc/braid/internal/jsonrpc"
)

// janitorEvery is how often idle filters are dropped in the background.
const janitorEvery = time.Minute

// Options configure a Stream.
type Options struct {
	// Filters bounds the filters braid keeps (config's filters section,
	// defaults applied).
	Filters config.Filters
	// Context bounds work started on demand (the pending feed's sources):
	// it ends when the gateway closes. Nil: never.
	Context context.Context
	Clock   clock.Clock
	Logger  *slog.Logger
	// Delay, when set, is told for every block stream event how long
	// after its served tip was announced it went out.
	Delay func(time.Duration)
}

// Stream is one network's block stream with its subscriptions, filters
// and pending feed.
type Stream struct {
	call     Caller
	clock    clock.Clock
	log      *slog.Logger
	follower *Follower
	pending  *pendingFeed
	filters  *filters
}

// New returns the stream of a network whose reads go through call and
// whose upstreams' pools pools lists. Run follows the chain.
func New(call Caller, pools func() []Pool, opts Options) *Stream {
	if opts.Clock == nil {
		opts.Clock = clock.Real{}
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Context == nil {
		opts.Context = context.Background()
	}
	s := &Stream{call: call, clock: opts.Clock, log: opts.Logger}
	s.follower = NewFollower(Requests{Call: call}, FollowerOptions{Clock: opts.Clock, Logger: opts.Logger, Delay: opts.Delay})
	s.pending = newPendingFeed(pools, opts.Context, opts.Clock, opts.Logger)
	s.filters = newFilters(s, opts.Filters)
	return s
}

// Advance tells the stream the served tip's latest block.
func (s *Stream) Advance(latest block.Block) { s.follower.Advance(latest) }

// Run follows the served chain and drops idle filters until ctx ends.
func (s *Stream) Run(ctx context.Context) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		s.follower.Run(ctx)
	}()
	defer func() { <-done }()
	for {
		select {
		case <-ctx.Done():
			return
		case <-s.clock.After(janitorEvery):
		}
		s.filters.expire()
	}
}

// Wait returns when the pending feed's sources have ended (after
// Options.Context ended).
func (s *Stream) Wait() { s.pending.wait() }

// Filter answers one call of the eth_newFilter family for client (the
// per-client cap's name for the caller; "" is not counted).
func (s *Stream) Filter(ctx context.Context, method string, args []json.RawMessage, client string) (*jsonrpc.Response, error) {
	switch method {
	case "eth_newFilter", "eth_newBlockFilter", "eth_newPendingTransactionFilter":
		return s.filters.install(method, args, client)
	}
	return s.filters.use(ctx, method, args)
}

// Counts are what the stream keeps for clients of new data (for
// /status): consumers of the block stream (newHeads and logs
// subscriptions, block and log filters), listeners for pending
// transactions, and installed filters.
type Counts struct {
	BlockConsumers   int `json:"block_consumers"`
	PendingListeners int `json:"pending_listeners"`
	Filters          int `json:"filters"`
}

// Counts returns how many consume the stream now.
func (s *Stream) Counts() Counts {
	return Counts{BlockConsumers: s.follower.Subscribers(), PendingListeners: s.pending.listeners(), Filters: s.filters.count()}
}
