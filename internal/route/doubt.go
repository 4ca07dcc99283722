package route

import (
	"hash/maphash"
	"sync"
	"sync/atomic"
	"time"

	"github.com/braidrpc/braid/internal/clock"
	"github.com/braidrpc/braid/internal/jsonrpc"
	"github.com/braidrpc/braid/internal/upstream"
)

// A node's error answer that says it failed ("internal error", -32603)
// would count against its upstream's health and breaker. But a request
// that can never succeed gets such an answer from every node (geth's
// -32603 for an eth_simulateV1 nonce overflow): counting it would let any
// client open the breakers of honest providers. So the failure is held in
// doubt until the same request gets an answer elsewhere:
//
//   - another operator answers it identically (same code and message): the
//     request is at fault. The answer is passed on, no upstream is marked,
//     and no other upstream is asked;
//   - another upstream answers it (a result, or a different answer): the
//     failure was the node's, and is counted then;
//   - nobody else answers within doubtWindow (or the table is full): it is
//     counted then, as before.
//
// A network of one operator has nobody to compare with: its failures count
// at once.
const (
	doubtWindow = 10 * time.Second
	maxDoubts   = 4096
)

// doubtKey identifies a request: its method and params, hashed with a
// seed of the process's own, so no client can make two requests collide.
type doubtKey uint64

var doubtSeed = maphash.MakeSeed()

func keyOf(c Call) doubtKey {
	var h maphash.Hash
	h.SetSeed(doubtSeed)
	_, _ = h.WriteString(c.Method)
	_ = h.WriteByte(0)
	_, _ = h.Write(c.Params)
	return doubtKey(h.Sum64())
}

// suspect is one error answer held in doubt: recorded nowhere yet.
type suspect struct {
	u       *upstream.Upstream
	code    int
	msg     string
	latency time.Duration
}

type doubt struct {
	at       time.Time
	suspects []suspect
	// fault, when set, is the error two operators gave: the request's
	// fault. Later identical answers are forgiven at once.
	fault *jsonrpc.Error
}

// doubts holds, per request, the error answers in doubt.
type doubts struct {
	clock clock.Clock
	n     atomic.Int64 // len(byKey), read without the lock

	mu    sync.Mutex
	byKey map[doubtKey]*doubt
	order []doubtKey // by creation, for expiry and eviction
}

func newDoubts(c clock.Clock) *doubts {
	return &doubts{clock: c, byKey: make(map[doubtKey]*doubt)}
}

// add holds e from s.u in doubt for request k. fault reports that another
// operator gave the identical answer (now or before): the request is at
// fault and forgiven are the answers that are now never counted (s's
// among them). due are answers whose doubt ended otherwise (expired,
// evicted): the caller counts them as failures.
func (d *doubts) add(k doubtKey, s suspect) (fault bool, forgiven, due []suspect) {
	now := d.clock.Now()
	d.mu.Lock()
	defer d.mu.Unlock()
	due = d.sweep(now)
	dt := d.byKey[k]
	if dt == nil {
		if len(d.order) >= maxDoubts {
			due = append(due, d.drop(d.order[0])...)
		}
		dt = &doubt{at: now}
		d.byKey[k] = dt
		d.order = append(d.order, k)
		d.n.Store(int64(len(d.byKey)))
	}
	if dt.fault != nil && dt.fault.Code == s.code && dt.fault.Message == s.msg {
		return true, []suspect{s}, due
	}
	agrees := false
	for _, o := range dt.suspects {
		if o.code == s.code && o.msg == s.msg && o.u.Operator != s.u.Operator {
			agrees = true
			break
		}
	}
	if !agrees {
		dt.suspects = append(dt.suspects, s)
		return false, nil, due
	}
	dt.fault = &jsonrpc.Error{Code: s.code, Message: s.msg}
	kept := dt.suspects[:0]
	forgiven = append(forgiven, s)
	for _, o := range dt.suspects {
		if o.code == s.code && o.msg == s.msg {
			forgiven = append(forgiven, o)
		} else {
			kept = append(kept, o)
		}
	}
	dt.suspects = kept
	return true, forgiven, due
}

// answered ends the doubt about request c: an upstream answered it, so
// the failures held for it were the nodes' own. They are returned to be
// counted, with any others whose doubt expired.
func (d *doubts) answered(c Call) []suspect {
	if d.n.Load() == 0 {
		return nil
	}
	k := keyOf(c)
	d.mu.Lock()
	defer d.mu.Unlock()
	due := d.sweep(d.clock.Now())
	if _, ok := d.byKey[k]; ok {
		due = append(due, d.drop(k)...)
	}
	return due
}

// expired returns the failures whose doubt has run out, to be counted.
func (d *doubts) expired() []suspect {
	if d.n.Load() == 0 {
		return nil
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.sweep(d.clock.Now())
}

// sweep drops the doubts older than doubtWindow and returns their
// suspects. d.mu is held.
func (d *doubts) sweep(now time.Time) []suspect {
	var due []suspect
	for len(d.order) > 0 {
		dt, ok := d.byKey[d.order[0]]
		if ok && now.Sub(dt.at) < doubtWindow {
			break
		}
		due = append(due, d.drop(d.order[0])...)
	}
	return due
}

// drop forgets request k and returns its suspects. d.mu is held.
func (d *doubts) drop(k doubtKey) []suspect {
	dt := d.byKey[k]
	delete(d.byKey, k)
	for i, o := range d.order {
		if o != k {
			continue
		}
		if i == 0 {
			d.order = d.order[1:]
		} else {
			d.order = append(d.order[:i], d.order[i+1:]...)
		}
		break
	}
	d.n.Store(int64(len(d.byKey)))
	if dt == nil {
		return nil
	}
	return dt.suspects
}

// failedAnswer records an error answer that says the node failed: at once
// on a single-operator network, otherwise in doubt until another operator
// answers the same request. It returns rejected when an operator already
// gave this very answer to this request (nothing is counted against
// anyone, and the answer is the call's), failed otherwise.
func (r *Router) failedAnswer(u *upstream.Upstream, c Call, e *jsonrpc.Error, latency time.Duration) verdict {
	if r.doubts == nil {
		r.count([]suspect{{u: u, latency: latency}})
		return failed
	}
	u.Record(upstream.Outcome{Kind: upstream.Deferred, Class: c.Class, Latency: latency}) // its outcome is not known yet
	fault, forgiven, due := r.doubts.add(keyOf(c), suspect{u: u, code: e.Code, msg: e.Message, latency: latency})
	r.count(due)
	if !fault {
		return failed
	}
	for _, s := range forgiven {
		s.u.Record(upstream.Outcome{Kind: upstream.Rejected, Latency: s.latency})
	}
	r.log.Debug("error answer is the request's fault: two operators gave it", "network", r.network,
		"method", c.Method, "code", e.Code, "upstream", u.Name)
	return rejected
}

// count records failures whose doubt ended: the nodes failed.
func (r *Router) count(failures []suspect) {
	for _, s := range failures {
		s.u.Record(upstream.Outcome{Kind: upstream.Failure, Latency: s.latency})
	}
}
