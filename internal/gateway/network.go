package gateway

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/params"
	"golang.org/x/sync/singleflight"

	"github.com/braidrpc/braid/internal/block"
	"github.com/braidrpc/braid/internal/clock"
	"github.com/braidrpc/braid/internal/config"
	"github.com/braidrpc/braid/internal/evm"
	"github.com/braidrpc/braid/internal/head"
	"github.com/braidrpc/braid/internal/jsonrpc"
	"github.com/braidrpc/braid/internal/operator"
	"github.com/braidrpc/braid/internal/plan"
	"github.com/braidrpc/braid/internal/quorum"
	"github.com/braidrpc/braid/internal/replica"
	"github.com/braidrpc/braid/internal/route"
	"github.com/braidrpc/braid/internal/stream"
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
	sf       singleflight.Group

	answers answers
	share   *replica.Sync // nil: no replicas to share with

	stream *stream.Stream

	cfg       config.Network // as configured, defaults applied (for reports)
	quorum    config.Quorum
	disputes  *quorum.Log
	qmetrics  *quorum.Metrics
	operators *operator.Standing
	quorumOn  bool

	trust  *trust.Reader
	beacon *beaconTip // trust: beacon (beacontip.go); nil: operators decide the tip
	// verifyCfg is the network's verify section (defaults applied).
	verifyCfg config.Verify
	// evm runs eth_call and its kin over proven state (strict mode; nil
	// when off or without a chain configuration), on chain.
	evm   *evm.Executor
	chain *params.ChainConfig

	// archive is the history store and peer node (nil unless
	// peers.enabled): history_stage.go.
	archive *archive
}

// Tip returns the network's served tip in the planner's terms.
func (n *Network) Tip() plan.Tip { return tipOf(n.head.Tip()) }

func tipOf(t block.Tip) plan.Tip {
	return plan.Tip{
		Known:     t.Known,
		Latest:    plan.BlockRef{Number: t.Latest.Number, Hash: t.Latest.Hash},
		Safe:      plan.BlockRef{Number: t.Safe.Number, Hash: t.Safe.Hash},
		Finalized: plan.BlockRef{Number: t.Finalized.Number, Hash: t.Finalized.Hash},
	}
}

// QuorumOn reports whether any read of the network needs a quorum.
func (n *Network) QuorumOn() bool { return n.quorumOn }

// Heads is the network's head tracker.
func (n *Network) Heads() *head.Tracker { return n.head }

// Upstreams returns the network's upstreams.
func (n *Network) Upstreams() []*upstream.Upstream { return n.router.Upstreams() }

// Usable counts the upstreams that may be sent requests.
func (n *Network) Usable() int {
	c := 0
	for _, u := range n.router.Upstreams() {
		if u.Usable() {
			c++
		}
	}
	return c
}

// Handle answers one call. It returns nil for a notification: the call is
// still executed (a notification may be a write) but nothing is answered.
func (n *Network) Handle(ctx context.Context, req *jsonrpc.Request) *jsonrpc.Response {
	start := n.clock.Now()
	result, rerr := n.execute(ctx, req)
	outcome := "ok"
	var resp *jsonrpc.Response
	switch {
	case rerr != nil:
		outcome = "error"
		je := jsonrpc.FromError(rerr)
		n.metrics.Error(n.Name, jsonrpc.CodeString(je.Code))
		resp = jsonrpc.ErrorResponse(req.ID, je)
	case result.Error != nil:
		outcome = "rpc_error"
		resp = jsonrpc.ErrorResponse(req.ID, result.Error)
	default:
		resp = jsonrpc.ResultResponse(req.ID, result.Result)
		resp.Cached = result.Cached
		resp.Source = result.Source
	}
	n.metrics.observe(n.Name, req.Method, outcome, n.clock.Now().Sub(start))
	if req.IsNotification() {
		return nil
	}
	return resp
}

// execute returns either an answer (a result or an upstream's error answer,
// to pass through) or a braid error.
func (n *Network) execute(ctx context.Context, req *jsonrpc.Request) (*jsonrpc.Response, error) {
	pl, perr := n.planner.Plan(req)
	if perr != nil {
		return nil, perr
	}
	if pl.Kind == plan.Forward && n.answers.store != nil {
		return n.readThrough(ctx, pl) // sets the deadline only when it must fetch
	}
	ctx, cancel := context.WithTimeout(ctx, n.timeout)
	defer cancel()
	switch pl.Kind {
	case plan.Local:
		return n.local(pl)
	case plan.Static:
		n.noteUnproven(ctx, pl)
		return n.staticAnswer(ctx, pl)
	case plan.Write:
		return n.write(ctx, pl)
	case plan.FilterInstall, plan.FilterUse:
		return n.stream.Filter(ctx, pl.Method, pl.Args, req.Client)
	case plan.Subscribe:
		return nil, jsonrpc.Errorf(jsonrpc.CodeMethodNotFound,
			"%s needs a connection that can carry notifications; this endpoint is HTTP", pl.Method)
	}
	return n.fetch(ctx, pl)
}

// forward pins the call to the served tip and routes it.
func (n *Network) forward(ctx context.Context, pl *plan.Plan) (*jsonrpc.Response, error) {
	tip := n.tipFor(ctx)
	if err := n.needsTrustedTip(pl, tip); err != nil {
		return nil, err
	}
	pin := pl.Pin(tip, n.maxLag)
	if pin.Local != nil {
		return &jsonrpc.Response{Result: pin.Local}, nil
	}
	call := n.routeCall(pl, pin)
	call.Hedge = pl.Kind == plan.Forward || pl.Kind == plan.Static
	if pl.Quorum.K > 1 && pl.Kind == plan.Forward {
		return n.quorumRead(ctx, pl, pin, call)
	}
	res, err := n.router.Do(ctx, call)
	if err != nil {
		return nil, err
	}
	if !res.Unserved {
		n.operators.Served(res.Upstream.Operator)
	}
	return res.Response, nil
}

func (n *Network) routeCall(pl *plan.Plan, pin plan.Pinning) route.Call {
	c := route.Call{
		Method:   pl.Method,
		Params:   pin.Params,
		Class:    plan.ClassOf(pl.Method),
		MinHead:  pin.MinHead,
		Block:    pin.Block,
		HasBlock: pin.HasBlock,
		Data:     upstream.HistoryData,
		Ahead:    pin.Ahead,
		Floor:    pin.Floor,
	}
	if pin.State {
		c.Data = upstream.StateData
	}
	return c
}

func (n *Network) local(pl *plan.Plan) (*jsonrpc.Response, error) {
	switch pl.Method {
	case "eth_chainId":
		return &jsonrpc.Response{Result: n.chainIDHex}, nil
	case "web3_clientVersion":
		b, _ := json.Marshal("braid/" + n.version)
		return &jsonrpc.Response{Result: b}, nil
	}
	return nil, fmt.Errorf("no local answer for %s", pl.Method)
}

// staticAnswer forwards a call whose answer cannot change for this network
// once, merging concurrent first calls, and remembers a success. The shared
// call runs on its own deadline, detached from whichever client started it,
// so one client leaving does not fail the others waiting on it; each caller
// still stops waiting when its own context ends.
func (n *Network) staticAnswer(ctx context.Context, pl *plan.Plan) (*jsonrpc.Response, error) {
	key := pl.Method + string(pl.Params)
	n.staticMu.RLock()
	cached, ok := n.static[key]
	n.staticMu.RUnlock()
	if ok {
		return &jsonrpc.Response{Result: cached}, nil
	}
	v, err := n.merged(ctx, &n.sf, key, func(sctx context.Context) (any, error) {
		resp, err := n.forward(sctx, pl)
		if err != nil {
			return nil, err
		}
		if resp.Error == nil {
			n.staticMu.Lock()
			n.static[key] = resp.Result
			n.staticMu.Unlock()
		}
		return resp, nil
	})
	if err != nil {
		return nil, err
	}
	return v.(*jsonrpc.Response), nil
}

// knowsTx asks whether the chain has the transaction. The question goes
// through the same plan as a client's (pinning, and the quorum when the
// network has one), so a lone operator cannot talk braid into reporting a
// transaction as sent.
func (n *Network) knowsTx(ctx context.Context, hash json.RawMessage) bool {
	req := &jsonrpc.Request{Method: "eth_getTransactionByHash", Params: append(append(json.RawMessage("["), hash...), ']')}
	res, err := n.execute(ctx, req)
	return err == nil && res.Error == nil && string(res.Result) != "null"
}

func isNonceTooLow(msg string) bool {
	return strings.Contains(strings.ToLower(msg), "nonce too low")
}

// txHash decodes a signed transaction (eth_sendRawTransaction's param) and
// returns its hash as a JSON string. A payload that does not decode is
// refused with -32602 and go-ethereum's own message for it ("rlp: …",
// "typed transaction too short"): no node would accept it, so it is not
// sent to any (go-ethereum answers it with -32000; docs/operations.md).
func txHash(arg json.RawMessage) (json.RawMessage, error) {
	var raw hexutil.Bytes
	if err := json.Unmarshal(arg, &raw); err != nil {
		return nil, jsonrpc.Errorf(jsonrpc.CodeInvalidParams, "invalid argument 0: %v", err)
	}
	var tx types.Transaction
	if err := tx.UnmarshalBinary(raw); err != nil {
		return nil, &jsonrpc.Error{Code: jsonrpc.CodeInvalidParams, Message: err.Error()}
	}
	return json.RawMessage(strconv.Quote(tx.Hash().Hex())), nil
}

func isAlreadyKnown(msg string) bool {
	m := strings.ToLower(msg)
	return strings.Contains(m, "already known") || strings.Contains(m, "known transaction") ||
		strings.Contains(m, "already imported") || strings.Contains(m, "alreadyknown")
}

// merged runs fn once for every caller asking for key at the same time
// (in g). It runs on its own deadline, the request timeout, detached from
// whichever caller started it, so one caller leaving does not fail the
// others; each caller still stops waiting when its own context ends.
func (n *Network) merged(ctx context.Context, g *singleflight.Group, key string, fn func(context.Context) (any, error)) (any, error) {
	ch := g.DoChan(key, func() (any, error) {
		fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), n.timeout)
		defer cancel()
		return fn(fctx)
	})
	select {
	case <-ctx.Done():
		return nil, ctx.Err()
	case r := <-ch:
		return r.Val, r.Err
	}
}
