// Package trust is the verified-read stage: it answers reads whose
// answers braid checks itself (verify: strict) instead of believing an
// operator. It starts from a trust root (the served tip today, a beacon
// light client next), reaches every other header from it (by hash, or by
// number through the EIP-2935 history contract's proven storage), asks the
// operators one after another through a Fetcher until an answer passes
// its check (package verify), and reports every answer that fails one to
// an OnLie hook. The local EVM builds on the same primitives: Header,
// Account, Code and CanonicalHash.
package trust

import (
	"context"
	"log/slog"
	"time"

	"golang.org/x/sync/singleflight"

	"github.com/ethereum/go-ethereum/params"

	"github.com/braidrpc/braid/internal/block"
	"github.com/braidrpc/braid/internal/clock"
	"github.com/braidrpc/braid/internal/config"
	"github.com/braidrpc/braid/internal/route"
	"github.com/braidrpc/braid/internal/upstream"
	"github.com/braidrpc/braid/internal/verify"
)

// Fetcher sends one call to the network's operators (the router does):
// best first, failing over, never to an operator in c.Exclude.
type Fetcher interface {
	Do(ctx context.Context, c route.Call) (*route.Result, error)
}

var _ Fetcher = (*route.Router)(nil)

// Root is where verified reads start: the block braid trusts without
// asking any single operator.
type Root interface {
	// Trusted returns the trusted tip. Its Latest block is where every
	// verified read starts (Known is false while there is none); Safe and
	// Finalized answer those tags (zero while unknown).
	Trusted() block.Tip
}

// Explainer is a Root that can say why it trusts no block now (a beacon
// light client whose head is stale); its words reach the client.
type Explainer interface {
	Untrusted() string
}

// OnLie is told of every answer that failed its check: operator's
// upstream u answered method with a lie the check describes. It decides
// what the lie costs (package operator's rule).
type OnLie func(operator string, u *upstream.Upstream, method string, check error)

// blockCacheSize bounds the blocks whose verified transactions and
// receipts are kept.
const blockCacheSize = 1024

// Options configure a Reader.
type Options struct {
	Network string
	Verify  config.Verify // defaults applied
	// Timeout bounds a fetch shared by several reads (a header), detached
	// from the read that started it.
	Timeout time.Duration
	Fetch   Fetcher
	Root    Root
	OnLie   OnLie
	Clock   clock.Clock
	Logger  *slog.Logger
	Metrics *Metrics
}

// Reader answers verified reads of one network.
type Reader struct {
	network string
	cfg     config.Verify
	timeout time.Duration
	fetch   Fetcher
	root    Root
	onLie   OnLie
	clock   clock.Clock
	log     *slog.Logger
	metrics *Metrics

	// reach is how far back the history contract is asked for a block's
	// hash (params.HistoryServeWindow); walkBatch, the most headers one
	// step of a parent-hash walk asks for. Tests shrink both to walk a
	// devnet's few blocks.
	reach     uint64
	walkBatch uint64

	headers  *verify.Headers
	receipts *bounded[cachedReceipts]
	bodies   *bounded[blockBody]
	sf       singleflight.Group
	lies     lieLog
	keep     keepSlot // the Verified hook (keep.go)

	batch batchLimit // calls per batch the operators take, as learned (evm_batch.go)
}

// New returns the verified reader of opts.Network.
func New(opts Options) *Reader {
	if opts.Clock == nil {
		opts.Clock = clock.Real{}
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	return &Reader{
		network:   opts.Network,
		cfg:       opts.Verify,
		timeout:   opts.Timeout,
		fetch:     opts.Fetch,
		root:      opts.Root,
		onLie:     opts.OnLie,
		clock:     opts.Clock,
		log:       opts.Logger.With("network", opts.Network),
		metrics:   opts.Metrics,
		reach:     params.HistoryServeWindow,
		walkBatch: defaultWalkBatch,
		headers:   verify.NewHeaders(opts.Verify.HeaderCache),
		receipts:  newBounded[cachedReceipts](blockCacheSize),
		bodies:    newBounded[blockBody](blockCacheSize),
	}
}

// Advanced tells the reader the served chain moved to tip: block hashes
// established by number hold only while the chain below the tip stays (a
// new tip may be a reorg), and only finalized blocks cannot change.
func (r *Reader) Advanced(tip block.Tip) {
	r.headers.ForgetCanonicalFrom(tip.Finalized.Number + 1)
}

// Lies returns the recent answers that failed verification, newest first.
func (r *Reader) Lies() []Lie { return r.lies.list() }

// caught records an answer that failed verification and reports it.
func (r *Reader) caught(operator string, u *upstream.Upstream, method string, err error) {
	r.metrics.failure(r.network, method, operator)
	r.lies.add(Lie{Time: r.clock.Now().UTC(), Operator: operator, Upstream: u.Name, Method: method, Reason: err.Error()})
	r.log.Warn("answer failed verification", "method", method, "operator", operator, "upstream", u.Name, "err", err)
	if r.onLie != nil {
		r.onLie(operator, u, method, err)
	}
}
