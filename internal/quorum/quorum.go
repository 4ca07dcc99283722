package quorum

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/braidrpc/braid/internal/clock"
	"github.com/braidrpc/braid/internal/config"
	"github.com/braidrpc/braid/internal/jsonrpc"
	"github.com/braidrpc/braid/internal/route"
)

// Asker is what a quorum read needs of the router.
type Asker interface {
	// Operators returns the operators able to take the call, best first.
	Operators(c route.Call) []string
	// Do runs the call (restricted to c.Operator).
	Do(ctx context.Context, c route.Call) (*route.Result, error)
	// HedgeDelay is how long a read of the class is given before another
	// operator is asked too.
	HedgeDelay(class string) time.Duration
}

// Request is one quorum read.
type Request struct {
	Call        route.Call
	K           int
	Ignore      []string
	OnDispute   string // config.OnDisputeError or config.OnDisputeMajority
	OnShortfall string // config.OnShortfallError or config.OnShortfallBestEffort
	// Audit makes the K-th operator asked a random one of the K-th best
	// and those after it, so that operators the ranking keeps idle are
	// still checked against the others (a liar ranked last would
	// otherwise never be caught again).
	Audit bool
	// Rand picks the audited operator (nil: math/rand/v2).
	Rand func(n int) int
	// CatchUp, when positive, is how long a read that ran out of
	// operators before K agreed waits for more to become able to take it
	// (an operator whose head has not yet reached the pinned block, a few
	// milliseconds behind the others), asking again every catchUpPoll.
	// An operator that answered that it cannot serve the call yet (it was
	// asked a moment before its node held the block) is asked again when
	// it is listed again, once per poll (maxReasks times at most), once
	// another operator answered.
	// It does not wait when every usable operator was already listed and
	// none may be asked again, nor on a disagreement that the operators
	// left could not settle (see canSettle).
	CatchUp time.Duration
}

// catchUpPoll is how often the operators are listed again during CatchUp.
const catchUpPoll = 20 * time.Millisecond

// maxReasks bounds how often catch-up asks one operator again in a read:
// one that keeps answering "not served" (pruned state, say) is not asked
// every poll, so a client's read costs a provider at most 1+maxReasks
// calls.
const maxReasks = 2

// Answer is what one operator said.
type Answer struct {
	Operator string `json:"operator"`
	Upstream string `json:"upstream,omitempty"`
	// Hash is the answer's fingerprint (short form); empty when the
	// operator failed to answer.
	Hash  string `json:"answer_hash,omitempty"`
	Error string `json:"error,omitempty"`
}

// Decisions, for metrics and the dispute log.
const (
	Agreed     = "agreed"      // k operators agreed, nobody disagreed
	Resolved   = "resolved"    // k operators agreed after a disagreement
	Majority   = "majority"    // no k agreed; a strict majority did (on_dispute: majority)
	BestEffort = "best_effort" // fewer than k could answer; those that did agree
	Disputed   = "dispute"     // refused: operators disagree
	Shortfall  = "shortfall"   // refused: too few operators answered
)

// Outcome is how a quorum read ended.
type Outcome struct {
	// Response is the answer to give (nil when the read was refused).
	Response *jsonrpc.Response
	// Agreed are the operators whose answer is Response.
	Agreed   []string
	K        int
	Decision string
	// Disagreed: some operator answered differently.
	Disagreed bool
	// Losers answered differently from the answer given (strike them).
	Losers  []string
	Answers []Answer
}

// Error is a refused quorum read: a dispute or a shortfall. Its data
// names the operators and what they answered.
type Error struct {
	Code    int
	Message string
	K       int
	Answers []Answer
}

func (e *Error) Error() string { return e.Message }

var (
	_ jsonrpc.Coder     = (*Error)(nil)
	_ jsonrpc.DataCoder = (*Error)(nil)
	_ Asker             = (*route.Router)(nil)
)

// ErrorCode implements jsonrpc.Coder.
func (e *Error) ErrorCode() int { return e.Code }

// ErrorData implements jsonrpc.DataCoder.
func (e *Error) ErrorData() any {
	return map[string]any{"quorum": e.K, "answers": e.Answers}
}

type reply struct {
	op  string
	res *route.Result
	err error
}

// group is the operators that gave one answer. An endpoint counts once:
// an operator whose answer came from an endpoint another operator of the
// group already answered from (one URL configured under two operators)
// is in same, not ops.
type group struct {
	fp   Fingerprint
	ops  []string
	ends []string
	same []string
	res  *route.Result
}

// add counts op's answer from endpoint, once per endpoint.
func (g *group) add(op, endpoint string) {
	if slices.Contains(g.ends, endpoint) {
		g.same = append(g.same, op)
		return
	}
	g.ops, g.ends = append(g.ops, op), append(g.ends, endpoint)
}

// Run asks req.Call of req.K distinct operators, best-scored first, and
// answers as soon as K of them agree. An operator that fails is replaced
// by the next; so is one that disagrees, while operators are left, so a
// single liar costs a round trip rather than the answer. An operator
// slower than the class's hedge delay gets one more operator asked
// alongside. When every operator able to answer has, and no K agree,
// req.OnDispute or req.OnShortfall decides.
func Run(ctx context.Context, a Asker, req Request, clk clock.Clock) (*Outcome, error) {
	if clk == nil {
		clk = clock.Real{}
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	rd := newReading(ctx, a, req)
	rd.need()
	var hedge <-chan time.Time
	if rd.next < len(rd.ops) {
		hedge = clk.After(a.HedgeDelay(req.Call.Class))
	}
	var catchUpEnd time.Time
	if req.CatchUp > 0 {
		catchUpEnd = clk.Now().Add(req.CatchUp)
	}
	for {
		if rd.pending == 0 {
			// Out of operators before K agreed: one that is a moment
			// behind may be about to reach the pinned block. That holds
			// for a disagreement too: a liar and one honest operator
			// that answered first must not turn into a refused read (and
			// no strike) while the second honest one is a block behind.
			if rd.largest >= rd.k || !clk.Now().Before(catchUpEnd) || !canSettle(a, req, rd.listed(), rd.retries(), rd.largest, rd.k, len(rd.groups) > 1) {
				break // agreed, out of time, or nobody left who could settle it
			}
			select {
			case <-ctx.Done():
				rd.timedOut = true
			case <-clk.After(catchUpPoll):
				rd.catchUp()
				continue
			}
			break
		}
		select {
		case <-ctx.Done():
			rd.timedOut = true
		case <-hedge:
			hedge = nil
			rd.launch()
			continue
		case r := <-rd.replies:
			if o := rd.take(r); o != nil {
				return o, nil
			}
			continue
		}
		break
	}
	return decide(req, rd.k, rd.groups, rd.answers, rd.unserved, rd.timedOut)
}

// reading is one quorum read under way: the operators asked and what they
// answered.
type reading struct {
	ctx      context.Context
	a        Asker
	req      Request
	k        int
	ops      []string // to ask, in order
	replies  chan reply
	next     int // ops[next] is the next to ask
	pending  int
	groups   []*group
	answers  []Answer
	unserved *route.Result
	largest  int
	timedOut bool
	// behind are the operators that answered "not served yet" (their
	// node lacks the pinned block, or their upstream could not take the
	// call) and were not asked again since; again are those of them that
	// a catch-up round lets more() list once more. So an operator asked
	// a moment before it reached the block is asked again when it is
	// listed again, at most once per catch-up round.
	behind []string
	again  []string
}

func newReading(ctx context.Context, a Asker, req Request) *reading {
	k := max(req.K, 1)
	ops := a.Operators(req.Call)
	if req.Audit && len(ops) > k {
		pick := req.Rand
		if pick == nil {
			pick = rand.IntN
		}
		j := k - 1 + pick(len(ops)-k+1)
		ops[k-1], ops[j] = ops[j], ops[k-1]
	}
	return &reading{ctx: ctx, a: a, req: req, k: k, ops: ops, replies: make(chan reply, len(ops))}
}

// more lists the operators again and adds those not asked yet, and those
// that a catch-up round lets be asked again (see catchUp).
func (rd *reading) more() bool {
	added := false
	for _, op := range rd.a.Operators(rd.req.Call) {
		switch {
		case !slices.Contains(rd.ops, op):
		case slices.Contains(rd.again, op):
			rd.again = slices.DeleteFunc(rd.again, func(o string) bool { return o == op })
		default:
			continue
		}
		rd.ops, added = append(rd.ops, op), true
	}
	return added
}

// catchUp is one catch-up round: the operators that answered "not served
// yet" may be asked once more if they are listed again, and operators
// are launched as the quorum needs. Only once some operator has answered
// the call: when none could serve it (e.g. a method nobody offers) their
// error is the answer and nobody is asked again.
func (rd *reading) catchUp() {
	if len(rd.groups) > 0 {
		rd.again, rd.behind = append(rd.again, rd.behind...), nil
	}
	rd.need()
}

// retryable reports whether op's failure is "not served yet": its node
// answered that it cannot serve the call (e.g. it lacks the pinned
// block), or none of its upstreams could take it.
func retryable(r reply) bool {
	if r.err == nil {
		return r.res.Unserved && !r.res.Rejected
	}
	var f *route.Failure
	return errors.As(r.err, &f) && f.Code == jsonrpc.CodeUnavailable
}

// asked counts the times op was asked in this read.
func (rd *reading) asked(op string) int {
	n := 0
	for _, o := range rd.ops {
		if o == op {
			n++
		}
	}
	return n
}

// listed counts the distinct operators listed so far.
func (rd *reading) listed() int {
	var distinct []string
	for _, op := range rd.ops {
		if !slices.Contains(distinct, op) {
			distinct = append(distinct, op)
		}
	}
	return len(distinct)
}

// retries counts the operators that catch-up may ask again: those that
// answered "not served yet", once some operator answered (see catchUp).
func (rd *reading) retries() int {
	if len(rd.groups) == 0 {
		return 0
	}
	return len(rd.behind) + len(rd.again)
}

// launch asks the next operator; false when none is left.
func (rd *reading) launch() bool {
	if rd.next >= len(rd.ops) && !rd.more() {
		return false
	}
	c := rd.req.Call
	c.Operator = rd.ops[rd.next]
	rd.next++
	rd.pending++
	go func() {
		res, err := rd.a.Do(rd.ctx, c)
		select {
		case rd.replies <- reply{c.Operator, res, err}:
		case <-rd.ctx.Done(): // the read is over: nobody reads replies now
		}
	}()
	return true
}

// need launches operators until, were every pending one to agree with the
// largest group, K could be reached.
func (rd *reading) need() {
	for rd.largest+rd.pending < rd.k && rd.launch() {
	}
}

// take records one operator's reply; it returns the outcome once K agree.
func (rd *reading) take(r reply) *Outcome {
	rd.pending--
	if r.err != nil || r.res.Unserved {
		ans := Answer{Operator: r.op}
		if r.err != nil {
			ans.Error = jsonrpc.FromError(r.err).Message
		} else {
			ans.Upstream, ans.Error = r.res.Upstream.Name, r.res.Response.Error.Message
			rd.unserved = r.res
		}
		if retryable(r) && !slices.Contains(rd.behind, r.op) && rd.asked(r.op) <= maxReasks {
			rd.behind = append(rd.behind, r.op)
		}
		rd.answers = append(rd.answers, ans)
		rd.need()
		return nil
	}
	fp := FingerprintOf(r.res.Response, rd.req.Ignore)
	rd.answers = append(rd.answers, Answer{Operator: r.op, Upstream: r.res.Upstream.Name, Hash: fp.String()})
	g := findGroup(rd.groups, fp)
	if g == nil {
		g = &group{fp: fp, res: r.res}
		rd.groups = append(rd.groups, g)
	}
	g.add(r.op, r.res.Upstream.Endpoint())
	rd.largest = max(rd.largest, len(g.ops))
	if len(g.ops) >= rd.k {
		decision := Agreed
		if len(rd.groups) > 1 {
			decision = Resolved
		}
		return outcome(g, rd.groups, rd.answers, rd.k, decision)
	}
	rd.need()
	return nil
}

// operatorCounter is implemented by askers that know how many usable
// operators they have (the router does).
type operatorCounter interface{ UsableOperators() int }

// canSettle reports whether operators may yet become able to take the
// call and settle it: usable ones not among the listed ones, and retry
// that were listed and may be asked again. Without a disagreement any one
// more may (as may any one more under on_dispute: majority); after one,
// only if the largest group (largest operators) plus every operator that
// may yet answer could reach k. An Asker that cannot count its operators
// is waited on only while nobody disagreed, or for operators to ask
// again that could settle it.
func canSettle(a Asker, req Request, listed, retry, largest, k int, disagreed bool) bool {
	left := retry
	if c, ok := a.(operatorCounter); ok {
		// A listed operator may have become unusable since: the usable
		// ones not listed are at least none.
		left += max(c.UsableOperators()-listed, 0)
	} else if !disagreed {
		return true
	}
	switch {
	case left <= 0:
		return false
	case !disagreed || req.OnDispute == config.OnDisputeMajority:
		return true
	}
	return largest+left >= k
}

func findGroup(groups []*group, fp Fingerprint) *group {
	for _, g := range groups {
		if g.fp == fp {
			return g
		}
	}
	return nil
}

func outcome(win *group, groups []*group, answers []Answer, k int, decision string) *Outcome {
	o := &Outcome{Response: win.res.Response, Agreed: win.ops, K: k, Decision: decision,
		Disagreed: len(groups) > 1, Answers: answers}
	for _, g := range groups {
		if g != win {
			o.Losers = append(append(o.Losers, g.ops...), g.same...)
		}
	}
	return o
}

// decide ends a read in which no K operators agreed.
func decide(req Request, k int, groups []*group, answers []Answer, unserved *route.Result, timedOut bool) (*Outcome, error) {
	method := req.Call.Method
	answered := 0
	for _, g := range groups {
		answered += len(g.ops)
	}
	switch {
	case len(groups) == 0 && unserved != nil:
		// Nobody could serve the call at all (e.g. the method does not
		// exist anywhere): their own error is the answer, as without a
		// quorum.
		return &Outcome{Response: unserved.Response, K: k, Answers: answers}, nil
	case len(groups) == 0:
		code, msg := jsonrpc.CodeUpstreamsFailed, fmt.Sprintf("no operator answered %s", method)
		if timedOut {
			code, msg = jsonrpc.CodeTimeout, fmt.Sprintf("request timed out before any operator answered %s", method)
		}
		if len(answers) == 0 && !timedOut {
			code, msg = jsonrpc.CodeUnavailable, fmt.Sprintf("no usable operator can serve %s at the pinned block", method)
		}
		return &Outcome{K: k, Decision: Shortfall, Answers: answers}, &Error{Code: code, Message: msg, K: k, Answers: answers}
	case len(groups) == 1:
		g := groups[0]
		if req.OnShortfall == config.OnShortfallBestEffort {
			return outcome(g, groups, answers, k, BestEffort), nil
		}
		why := "the others failed"
		if timedOut {
			why = "the others did not answer in time"
		}
		return &Outcome{K: k, Decision: Shortfall, Agreed: g.ops, Answers: answers}, &Error{
			Code: jsonrpc.CodeQuorumShortfall, K: k, Answers: answers,
			Message: fmt.Sprintf("quorum not reached for %s: %d of the %d operators needed answered (%s)", method, len(g.ops), k, why)}
	}
	if req.OnDispute == config.OnDisputeMajority {
		for _, g := range groups {
			if 2*len(g.ops) > answered {
				return outcome(g, groups, answers, k, Majority), nil
			}
		}
	}
	o := &Outcome{K: k, Decision: Disputed, Disagreed: true, Answers: answers}
	names := make([]string, 0, len(answers))
	for _, a := range answers {
		if a.Hash != "" {
			names = append(names, a.Operator)
		}
	}
	slices.Sort(names)
	return o, &Error{Code: jsonrpc.CodeDispute, K: k, Answers: answers,
		Message: fmt.Sprintf("operators disagree on %s: %d answers from %v, none backed by %d operators", method, len(groups), names, k)}
}

// IsRefusal reports whether err is a refused quorum read.
func IsRefusal(err error) bool {
	var e *Error
	return errors.As(err, &e)
}
