package route

import (
	"context"
	"encoding/json"
	"strconv"
	"strings"
	"time"

	"github.com/braidrpc/braid/internal/jsonrpc"
	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/core/types"
)

// sent is one operator's reply to a broadcast transaction.
type sent struct {
	operator string
	res      *Result
	err      error
	accepted bool
}

// Write is a call to send to every operator: eth_sendRawTransaction (its
// one argument a signed transaction) or another method that writes.
type Write struct {
	Method string
	Params json.RawMessage
	Args   []json.RawMessage
	Class  string
	// Timeout bounds the sends, which outlive the client's request.
	Timeout time.Duration
	// Mined, when set, reports whether the chain has the transaction of
	// hash (asked the way a client's read is): after every operator said
	// "nonce too low", a send that landed earlier is success.
	Mined func(ctx context.Context, hash json.RawMessage) bool
	// Accepted, when set, is told of a raw transaction an operator
	// accepted, before the client is answered (strict mode counts it in
	// the sender's pending nonce).
	Accepted func(tx *types.Transaction)
}

// Broadcast sends w to every usable operator at once, so that no single
// operator can drop it. The client gets the hash as soon as one operator
// accepts ("already known" is acceptance: the transaction is identified
// by its hash); the others keep going in the background, on their own
// deadline. Only when every operator refuses does the client see an
// error, the most specific one. A transaction that does not decode is
// refused here (-32602), not sent to any operator.
func (r *Router) Broadcast(ctx context.Context, w Write) (*jsonrpc.Response, error) {
	call, tx, hash, err := writeCall(w)
	if err != nil {
		return nil, err // undecodable: refused here, not broadcast to every operator
	}
	ops := r.Operators(call)
	if len(ops) == 0 {
		_, err := r.Do(ctx, call) // says why nobody can take it
		if err == nil {
			err = jsonrpc.Errorf(jsonrpc.CodeUnavailable, "no usable upstream for network %s", r.network)
		}
		return nil, err
	}
	// The sends outlive the client's request: once one operator has the
	// transaction the client is answered, but every other operator still
	// gets it.
	bctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), w.Timeout)
	replies := make(chan sent, len(ops))
	for _, op := range ops {
		c := call
		c.Operator = op
		go func() {
			res, err := r.Do(bctx, c)
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
				if tx != nil && w.Accepted != nil {
					w.Accepted(tx)
				}
				close(answered)
			}
		}
		r.logBroadcast(hash, all)
		if first == nil {
			close(answered)
		}
	}()
	select {
	case <-answered:
	case <-ctx.Done():
		// The client left or its deadline passed; the broadcast goes on.
		return nil, &Failure{Code: jsonrpc.CodeTimeout, Message: "request timed out before any operator accepted the transaction"}
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
	if e := best.rpcError(); e != nil && hash != nil && isNonceTooLow(e.Message) && w.Mined != nil && w.Mined(ctx, hash) {
		return &jsonrpc.Response{Result: hash}, nil
	}
	if best.err != nil {
		attempts := make([]Attempt, 0, len(all))
		for _, s := range all {
			attempts = append(attempts, Attempt{Operator: s.operator, Error: s.describe()})
		}
		return nil, &Failure{Code: jsonrpc.CodeUpstreamsFailed,
			Message: "no operator accepted the transaction", Attempts: attempts}
	}
	return best.res.Response, nil
}

// writeCall is the call that broadcasts w, and for a raw transaction the
// transaction and its hash (as a JSON string): "already known" is then
// acceptance. A payload that does not decode is an error (-32602).
func writeCall(w Write) (Call, *types.Transaction, json.RawMessage, error) {
	call := Call{Method: w.Method, Params: w.Params, Class: w.Class}
	if w.Method != "eth_sendRawTransaction" || len(w.Args) != 1 {
		return call, nil, nil, nil
	}
	tx, err := decodeTx(w.Args[0])
	if err != nil {
		return call, nil, nil, err
	}
	hash := json.RawMessage(strconv.Quote(tx.Hash().Hex()))
	call.Accept = func(_ int, e *jsonrpc.Error) (json.RawMessage, bool) {
		if isAlreadyKnown(e.Message) {
			return hash, true
		}
		return nil, false
	}
	return call, tx, hash, nil
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

func (r *Router) logBroadcast(hash json.RawMessage, all []sent) {
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
		r.rmetrics.broadcast(r.network, s.operator, result)
	}
	r.log.Info("transaction broadcast", "network", r.network, "tx", strings.Trim(string(hash), `"`),
		"operators", len(all), "accepted", accepted, "refused", refused)
}

// decodeTx decodes a signed transaction (eth_sendRawTransaction's param).
// A payload that does not decode is
// refused with -32602 and go-ethereum's own message for it ("rlp: …",
// "typed transaction too short"): no node would accept it, so it is not
// sent to any (go-ethereum answers it with -32000; docs/operations.md).
func decodeTx(arg json.RawMessage) (*types.Transaction, error) {
	var raw hexutil.Bytes
	if err := json.Unmarshal(arg, &raw); err != nil {
		return nil, jsonrpc.Errorf(jsonrpc.CodeInvalidParams, "invalid argument 0: %v", err)
	}
	tx := new(types.Transaction)
	if err := tx.UnmarshalBinary(raw); err != nil {
		return nil, &jsonrpc.Error{Code: jsonrpc.CodeInvalidParams, Message: err.Error()}
	}
	return tx, nil
}
