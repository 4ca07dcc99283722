package gateway

import (
	"context"
	"encoding/json"
	"log/slog"
	"sync"
	"time"

	"github.com/braidrpc/braid/internal/archive"
	"github.com/braidrpc/braid/internal/beacon"
	"github.com/braidrpc/braid/internal/block"
	"github.com/braidrpc/braid/internal/clock"
	"github.com/braidrpc/braid/internal/config"
	"github.com/braidrpc/braid/internal/head"
	"github.com/braidrpc/braid/internal/jsonrpc"
	"github.com/braidrpc/braid/internal/merge"
	"github.com/braidrpc/braid/internal/operator"
	"github.com/braidrpc/braid/internal/plan"
	"github.com/braidrpc/braid/internal/quorum"
	"github.com/braidrpc/braid/internal/replica"
	"github.com/braidrpc/braid/internal/route"
	"github.com/braidrpc/braid/internal/stream"
	"github.com/braidrpc/braid/internal/strict"
	"github.com/braidrpc/braid/internal/trust"
	"github.com/braidrpc/braid/internal/upstream"
)

// Network is the runtime of one configured chain.
type Network struct {
	Name    string
	ChainID uint64

	planner *plan.Planner
	router  *route.Router
	head    *head.Tracker
	maxLag  uint64
	timeout time.Duration
	version string
	clock   clock.Clock
	log     *slog.Logger
	metrics *Metrics

	chainIDHex json.RawMessage

	staticMu sync.RWMutex
	static   map[string]json.RawMessage
	flights  merge.Group[answer] // identical calls in flight (merged)

	answers answers
	share   *replica.Sync // nil: no replicas to share with

	stream *stream.Stream

	cfg       config.Network // as configured, defaults applied (for reports)
	quorum    config.Quorum
	disputes  *quorum.Log
	qmetrics  *quorum.Metrics
	operators *operator.Standing

	trust  *trust.Reader
	beacon *beacon.Root // trust: beacon; nil: operators decide the tip
	// strict answers in strict mode what needs more than the operators'
	// word (nil when not strict).
	strict *strict.Stage

	// archive is the history store and peer node (nil unless
	// peers.enabled): internal/archive, wired in archive.go; the
	// executor's read calls its Answer (nil passes answers through).
	archive *archive.Archive
}

// Tip returns the network's served tip.
func (n *Network) Tip() block.Tip { return n.head.Tip() }

// Heads is the network's head tracker.
func (n *Network) Heads() *head.Tracker { return n.head }

// Upstreams returns the network's upstreams.
func (n *Network) Upstreams() []*upstream.Upstream { return n.router.Upstreams() }

// Usable counts the upstreams that may be sent requests.
func (n *Network) Usable() int { return n.router.Usable() }

// knowsTx asks whether the chain has the transaction. The question goes
// through the same plan as a client's (pinning, and the quorum when the
// network has one), so a lone operator cannot talk braid into reporting a
// transaction as sent.
func (n *Network) knowsTx(ctx context.Context, hash json.RawMessage) bool {
	req := &jsonrpc.Request{Method: "eth_getTransactionByHash", Params: append(append(json.RawMessage("["), hash...), ']')}
	res, err := n.call(ctx, req)
	return err == nil && res.Error == nil && string(res.Result) != "null"
}

// Subscribe starts an eth_subscribe subscription on the network's stream
// (stream.Stream.Subscribe says what it serves and how deliver is
// called).
func (n *Network) Subscribe(params json.RawMessage, deliver func(result json.RawMessage)) (unsubscribe func(), err error) {
	return n.stream.Subscribe(params, deliver)
}

// Admit runs req through the network's planner, as every call the
// network executes is: allow and deny lists, node-private methods, strict
// mode and params. The server asks it for the calls it answers itself
// (eth_subscribe and eth_unsubscribe over WebSocket), so no policy
// depends on the transport. The error is what the client gets.
func (n *Network) Admit(req *jsonrpc.Request) error {
	if _, err := n.planner.Plan(req); err != nil {
		return err // a *jsonrpc.Error: a nil one is no error
	}
	return nil
}
