package gateway

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/braidrpc/braid/internal/block"
	"github.com/braidrpc/braid/internal/jsonrpc"
	"github.com/braidrpc/braid/internal/merge"
	"github.com/braidrpc/braid/internal/plan"
	"github.com/braidrpc/braid/internal/route"
	"github.com/braidrpc/braid/internal/strict"
	"github.com/braidrpc/braid/internal/upstream"
)

// This file is the request path, one call at a time, in the order it runs:
//
//	plan         allow/deny, kind, quorum K, verify            (plan.Planner)
//	act          writes, filters, local answers: no tip needed  (act)
//	tip, pin     the served tip read once, the call pinned once
//	remembered   answers that cannot change (static)            (remembered)
//	cache        a hit answers                                  (lookup)
//	merge        identical calls share one fetch                (package merge)
//	read         exactly one stage: trust | quorum | route      (read)
//	keep         the cache admits what plan.Caching allows      (keep)
//
// A new stage is one more case in read (a history store answers there what
// the routed call could not: a pruned block) or, for a verified answer, a
// source inside package trust (a local EVM). Stages take the pin and the
// tip as arguments and return an answer; nothing travels in the context.

// Result is one call's answer and what the server says about it beyond
// the JSON-RPC answer: the same for HTTP and WebSocket.
type Result struct {
	// Response is the answer; nil for a notification (which still ran).
	Response *jsonrpc.Response
	// Cached: braid's cache answered (the Braid-Cache header).
	Cached bool
	// Agreed and K: a quorum read was answered with fewer agreeing
	// operators than it asks for (on_shortfall: best_effort), Agreed of
	// K (the Braid-Quorum header). K is 0 when no quorum fell short.
	Agreed, K int
	// Proof and Reasons: in strict mode, an answer not fully proven
	// (ProofPartial or ProofNone) and why (the Braid-Proof header); ""
	// when proven or needing no proof.
	Proof   string
	Reasons []string
}

// answer is what a stage produces: a result or an upstream's error answer
// to pass on, with what the server reports about it.
type answer struct {
	resp      *jsonrpc.Response
	cached    bool
	agreed, k int
	notes     strict.Notes // how much of it is proven (strict mode)
}

func answerOf(resp *jsonrpc.Response, err error) (answer, error) {
	return answer{resp: resp}, err
}

// Execute answers one call: HTTP and WebSocket calls (each member of a
// batch) all come through here.
func (n *Network) Execute(ctx context.Context, req *jsonrpc.Request) Result {
	start := n.clock.Now()
	a, err := n.execute(ctx, req)
	outcome := "ok"
	var res Result
	switch {
	case err != nil:
		outcome = "error"
		je := jsonrpc.FromError(err)
		n.metrics.Error(n.Name, jsonrpc.CodeString(je.Code))
		res.Response = jsonrpc.ErrorResponse(req.ID, je)
	case a.resp.Error != nil:
		outcome = "rpc_error"
		res = Result{Response: jsonrpc.ErrorResponse(req.ID, a.resp.Error), Agreed: a.agreed, K: a.k}
	default:
		res = Result{Response: jsonrpc.ResultResponse(req.ID, a.resp.Result), Cached: a.cached, Agreed: a.agreed, K: a.k}
	}
	if a.resp != nil && err == nil {
		res.Response.Source = a.resp.Source
	}
	res.Proof, res.Reasons = a.notes.Level, a.notes.Reasons
	n.metrics.observe(n.Name, req.Method, outcome, n.clock.Now().Sub(start))
	if req.IsNotification() {
		res.Response = nil
	}
	return res
}

// call answers req through the request path without the client-facing
// bookkeeping: an answer (a result, or an upstream's error answer) or a
// braid error. The block stream and the broadcast's "is it mined?" check
// ask it, so their reads are pinned, quorum-checked and verified as a
// client's are.
func (n *Network) call(ctx context.Context, req *jsonrpc.Request) (*jsonrpc.Response, error) {
	a, err := n.execute(ctx, req)
	return a.resp, err
}

// execute runs the request path (see the top of this file).
func (n *Network) execute(ctx context.Context, req *jsonrpc.Request) (answer, error) {
	pl, perr := n.planner.Plan(req)
	if perr != nil {
		return answer{}, perr
	}
	if pl.Kind != plan.Forward && pl.Kind != plan.Static {
		return n.act(ctx, pl, req)
	}
	tip := n.head.Tip()
	pin := pl.Pin(tip, n.maxLag)
	if pin.Local != nil {
		if err := n.needsTrustedTip(pl, tip); err != nil {
			return answer{}, err
		}
		return answer{resp: &jsonrpc.Response{Result: pin.Local}}, nil
	}
	if resp, ok := n.remembered(pl); ok {
		return answer{resp: resp, notes: n.unprovenNote(pl)}, nil
	}
	c := n.answers.caching(pl, tip, pin)
	if resp, ok := n.lookup(ctx, pl, c); ok {
		return answer{resp: resp, cached: true}, nil
	}
	key, ok := n.mergeKey(pl, tip, c)
	if !ok {
		ctx, cancel := context.WithTimeout(ctx, n.timeout)
		defer cancel()
		return n.read(ctx, pl, tip, pin)
	}
	return n.flights.Do(ctx, key, n.timeout, func(fctx context.Context) (answer, error) {
		a, err := n.read(fctx, pl, tip, pin)
		if err == nil {
			n.keep(fctx, pl, c, tip, a)
		}
		return a, err
	})
}

// act executes a call that is not a read of the chain at the tip: a
// local answer, a write (broadcast), a filter, or a subscription (which
// only a WebSocket connection can hold).
func (n *Network) act(ctx context.Context, pl *plan.Plan, req *jsonrpc.Request) (answer, error) {
	ctx, cancel := context.WithTimeout(ctx, n.timeout)
	defer cancel()
	switch pl.Kind {
	case plan.Local:
		return n.local(pl)
	case plan.Write:
		w := route.Write{Method: pl.Method, Params: pl.Params, Args: pl.Args,
			Class: plan.ClassWrite, Timeout: n.timeout, Mined: n.knowsTx}
		if n.strict != nil {
			w.Accepted = n.strict.Relayed
		}
		return answerOf(n.router.Broadcast(ctx, w))
	case plan.FilterInstall, plan.FilterUse:
		return answerOf(n.stream.Filter(ctx, pl.Method, pl.Args, req.Client))
	case plan.Subscribe:
		return answer{}, jsonrpc.Errorf(jsonrpc.CodeMethodNotFound,
			"%s needs a connection that can carry notifications; this endpoint is HTTP", pl.Method)
	}
	return answer{}, fmt.Errorf("no executor step for %s", pl.Method)
}

// read answers a read pinned to tip with exactly one stage: strict mode
// (package strict: the verified reader, the local EVM, or the operators'
// word marked as such), or the operators (a quorum or the router); then
// the history stage (internal/archive) answers what every provider pruned.
func (n *Network) read(ctx context.Context, pl *plan.Plan, tip block.Tip, pin plan.Pinning) (answer, error) {
	var a answer
	var err error
	switch {
	case pl.Verify:
		a, err = strictAnswer(n.strict.Verified(ctx, pl)) // from the trust root, which says when there is none
	case n.strict != nil:
		// The operators' word (fee suggestions, verify.allow_unverified)
		// waits for a trusted tip like operatorsRead: under trust: beacon
		// with no signed head served, it would come from their chain.
		if err = n.needsTrustedTip(pl, tip); err == nil {
			a, err = strictAnswer(n.strict.Unproven(ctx, pl))
		}
	default:
		a, err = n.operatorsRead(ctx, pl, tip, pin)
	}
	resp, err := n.archive.Answer(ctx, pl, a.resp, err)
	a.resp = resp
	return a, err
}

// operatorsRead asks the operators: a quorum of them, or the router.
func (n *Network) operatorsRead(ctx context.Context, pl *plan.Plan, tip block.Tip, pin plan.Pinning) (answer, error) {
	if err := n.needsTrustedTip(pl, tip); err != nil {
		return answer{}, err // trust: beacon and no signed head: never forwarded unpinned
	}
	call := routeCall(pl, pin)
	if pl.Quorum.K > 1 && pl.Kind == plan.Forward {
		return n.quorumRead(ctx, pl, pin, call)
	}
	res, err := n.routed(ctx, call)
	if err != nil {
		return answer{}, err
	}
	return answer{resp: res.Response}, nil
}

// routed sends call through the router and counts the read for the
// operator that served it.
func (n *Network) routed(ctx context.Context, call route.Call) (*route.Result, error) {
	res, err := n.router.Do(ctx, call)
	if err == nil && !res.Unserved {
		n.operators.Served(res.Upstream.Operator)
	}
	return res, err
}

// routeCall is the router's call for pl pinned as pin. Reads are hedged.
func routeCall(pl *plan.Plan, pin plan.Pinning) route.Call {
	c := route.Call{
		Method:   pl.Method,
		Params:   pin.Params,
		Class:    plan.ClassOf(pl.Method),
		Hedge:    pl.Kind == plan.Forward || pl.Kind == plan.Static,
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

func (n *Network) local(pl *plan.Plan) (answer, error) {
	switch pl.Method {
	case "eth_chainId":
		return answer{resp: &jsonrpc.Response{Result: n.chainIDHex}}, nil
	case "web3_clientVersion":
		b, _ := json.Marshal("braid/" + n.version)
		return answer{resp: &jsonrpc.Response{Result: b}}, nil
	}
	return answer{}, fmt.Errorf("no local answer for %s", pl.Method)
}

// remembered is the answer of a call that cannot change for this network
// (plan.Static), once one was fetched.
func (n *Network) remembered(pl *plan.Plan) (*jsonrpc.Response, bool) {
	if pl.Kind != plan.Static {
		return nil, false
	}
	n.staticMu.RLock()
	v, ok := n.static[pl.Method+string(pl.Params)]
	n.staticMu.RUnlock()
	if !ok {
		return nil, false
	}
	return &jsonrpc.Response{Result: v}, true
}

// mergeKey is the key identical calls in flight share one fetch under:
// the cache key when the call is cacheable, otherwise the call pinned to
// the tip's block hash. Static calls merge by the call alone; calls braid
// does not know (which may do anything) and questions about a node's own
// state are not merged.
func (n *Network) mergeKey(pl *plan.Plan, tip block.Tip, c plan.Caching) (string, bool) {
	switch {
	case pl.Kind == plan.Static:
		return "\x00static|" + pl.Method + "|" + string(pl.Params), true
	case n.answers.store != nil && c.Cacheable():
		return c.Keys[0], true
	case pl.Spec == nil, plan.ClassOf(pl.Method) == plan.ClassOther:
		// Unknown methods may do anything; a node's own state (syncing,
		// peers) is each node's answer, not the chain's.
		return "", false
	}
	return merge.CallKey(pl.Method, pl.Params, tip.Latest.Hash), true
}

// needsTrustedTip refuses, under trust: beacon, a read braid would pin to
// the tip while it has none, or while the light client is not ready (a
// stale head): forwarding it unpinned would let the operators' chain
// answer it, pinning it to an old head would answer about old state.
func (n *Network) needsTrustedTip(pl *plan.Plan, tip block.Tip) error {
	if n.beacon == nil || pl.Spec == nil || pl.Kind != plan.Forward {
		return nil
	}
	why := n.beacon.Problem()
	if tip.Known && why == "" {
		return nil
	}
	if why == "" {
		why = "trust beacon: no signed head served yet"
	}
	return jsonrpc.Errorf(jsonrpc.CodeUnavailable, "no trusted block yet on network %s: %s", n.Name, why)
}
