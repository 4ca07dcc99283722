package gateway

import (
	"context"
	"encoding/json"
	"strings"

	"github.com/braidrpc/braid/internal/jsonrpc"
	"github.com/braidrpc/braid/internal/plan"
	"github.com/braidrpc/braid/internal/route"
)

// sent is one operator's reply to a broadcast transaction.
type sent struct {
	operator string
	res      *route.Result
	err      error
	accepted bool
}

// write broadcasts a signed transaction to every usable operator at once,
// so that no single operator can drop it. The client gets the hash as
// soon as one operator accepts ("already known" is acceptance: the
// transaction is identified by its hash); the others keep going in the
// background, on their own deadline. Only when every operator refuses
// does the client see an error, the most specific one.
func (n *Network) write(ctx context.Context, pl *plan.Plan) (*jsonrpc.Response, error) {
	call, hash, err := writeCall(pl)
	if err != nil {
		return nil, err // undecodable: refused here, not broadcast to every operator
	}
	ops := n.router.Operators(call)
	if len(ops) == 0 {
		_, err := n.router.Do(ctx, call) // says why nobody can take it
		if err == nil {
			err = jsonrpc.Errorf(jsonrpc.CodeUnavailable, "no usable upstream for network %s", n.Name)
		}
		return nil, err
	}
	// The sends outlive the client's request: once one operator has the
	// transaction the client is answered, but every other operator still
	// gets it.
	bctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), n.timeout)
	replies := make(chan sent, len(ops))
	for _, op := range ops {
		c := call
		c.Operator = op
		go func() {
			res, err := n.router.Do(bctx, c)
			s := sent{operator: op, res: res, err: err}
			s.accepted = err == nil && !res.Unserved && res.Response.Error == nil
			replies <- s
		}()
	}
	var all []sent
	var first *sent
	answered := make(chan struct{})
	go func() {
		defer cancel()
		for range ops {
			s := <-replies
			all = append(all, s)
			if s.accepted && first == nil {
				first = &s
				close(answered)
			}
		}
		n.logBroadcast(hash, all)
		if first == nil {
			close(answered)
		}
	}()
	select {
	case <-answered:
	case <-ctx.Done():
		// The client left or its deadline passed; the broadcast goes on.
		return nil, &route.Failure{Code: jsonrpc.CodeTimeout, Message: "request timed out before any operator accepted the transaction"}
	}
	if first != nil {
		if hash != nil {
			return &jsonrpc.Response{Result: hash}, nil
		}
		return first.res.Response, nil
	}
	// Every operator refused. "nonce too low" may mean an earlier send of
	// this very transaction landed: if the chain has it, that is success.
	best := mostSpecific(all)
	if e := best.rpcError(); e != nil && hash != nil && isNonceTooLow(e.Message) && n.knowsTx(ctx, hash) {
		return &jsonrpc.Response{Result: hash}, nil
	}
	if best.err != nil {
		attempts := make([]route.Attempt, 0, len(all))
		for _, s := range all {
			attempts = append(attempts, route.Attempt{Operator: s.operator, Error: s.describe()})
		}
		return nil, &route.Failure{Code: jsonrpc.CodeUpstreamsFailed,
			Message: "no operator accepted the transaction", Attempts: attempts}
	}
	return best.res.Response, nil
}

// writeCall is the call that broadcasts pl, and for a raw transaction its
// hash (as a JSON string): "already known" is then acceptance. A payload
// that does not decode is an error (-32602).
func writeCall(pl *plan.Plan) (route.Call, json.RawMessage, error) {
	call := route.Call{Method: pl.Method, Params: pl.Params, Class: plan.ClassWrite}
	if pl.Method != "eth_sendRawTransaction" || len(pl.Args) != 1 {
		return call, nil, nil
	}
	hash, err := txHash(pl.Args[0])
	if err != nil {
		return call, nil, err
	}
	call.Accept = func(_ int, e *jsonrpc.Error) (json.RawMessage, bool) {
		if isAlreadyKnown(e.Message) {
			return hash, true
		}
		return nil, false
	}
	return call, hash, nil
}

func (s *sent) rpcError() *jsonrpc.Error {
	if s.err != nil || s.res == nil {
		return nil
	}
	return s.res.Response.Error
}

func (s *sent) describe() string {
	if s.err != nil {
		return jsonrpc.FromError(s.err).Message
	}
	if e := s.rpcError(); e != nil {
		return e.Message
	}
	return "accepted"
}

// txReasons are words of errors that say why a node refuses a
// transaction: more useful to the sender than a timeout or a generic
// failure.
var txReasons = []string{
	"nonce too low", "nonce too high", "insufficient funds", "underpriced", "replacement",
	"intrinsic gas", "gas limit", "exceeds block gas limit", "fee cap", "max fee", "tip",
	"invalid sender", "invalid signature", "chain id", "chainid", "oversized", "type not supported",
}

// mostSpecific picks the refusal to report: a node's reason for refusing
// the transaction over any other error answer, an error answer over a
// method a node does not serve, and any answer over a failure to get one.
func mostSpecific(all []sent) *sent {
	rank := func(s *sent) int {
		e := s.rpcError()
		switch {
		case e == nil:
			return 0
		case s.res.Unserved:
			return 1
		}
		msg := strings.ToLower(e.Message)
		for _, r := range txReasons {
			if strings.Contains(msg, r) {
				return 3
			}
		}
		return 2
	}
	best := &all[0]
	for i := range all {
		if rank(&all[i]) > rank(best) {
			best = &all[i]
		}
	}
	return best
}

func (n *Network) logBroadcast(hash json.RawMessage, all []sent) {
	var accepted, refused []string
	for _, s := range all {
		result := "refused"
		switch {
		case s.accepted:
			result = "accepted"
			accepted = append(accepted, s.operator)
		case s.err != nil:
			result = "failed"
			refused = append(refused, s.operator+": "+s.describe())
		default:
			refused = append(refused, s.operator+": "+s.describe())
		}
		n.metrics.broadcast(n.Name, s.operator, result)
	}
	n.log.Info("transaction broadcast", "tx", strings.Trim(string(hash), `"`),
		"operators", len(all), "accepted", accepted, "refused", refused)
}
