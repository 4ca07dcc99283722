package beacon

import (
	"fmt"
	"sync"

	"github.com/ethereum/go-ethereum/beacon/light"
	"github.com/ethereum/go-ethereum/beacon/light/request"
	lsync "github.com/ethereum/go-ethereum/beacon/light/sync"
	"github.com/ethereum/go-ethereum/beacon/params"
	"github.com/ethereum/go-ethereum/beacon/types"
	"github.com/ethereum/go-ethereum/common"
)

// Bounds of the gate's bookkeeping.
const (
	goodKeys   = 16  // recently accepted updates: identical copies skip checks
	maxPending = 256 // updates awaiting the head tracker's verdict
)

// gate is a request.Module wrapping go-ethereum's forward update sync and
// head sync. Updates from the endpoints' event streams come to it directly
// (not as scheduler server events, which go-ethereum rate-limits per server
// to five per second); it checks each before head sync sees it:
//   - fewer than Threshold signers: refused (the endpoint is not blamed);
//   - a bad Merkle proof or a signature the committee did not make: refused
//     and the endpoint quarantined (unregistered for a while);
//   - a head more than one slot in the future or, for optimistic updates,
//     older than max_head_age: refused (go-ethereum only logs these).
//
// It learns the head tracker's verdict through a probe, so a forged update
// is blamed on the endpoints that sent it, and then publishes the result.
type gate struct {
	c       *Client
	forward *lsync.ForwardUpdateSync
	heads   *lsync.HeadSync
	probe   *probe
	servers map[request.Server]*endpoint
	good    []updateKey
	sentBy  map[updateKey][]*endpoint

	mu    sync.Mutex
	queue map[*endpoint]*queued
}

type queued struct {
	opt *types.OptimisticUpdate
	fin *types.FinalityUpdate
}

// updateKey identifies one signed update (header, signers, signature).
type updateKey struct {
	root     common.Hash
	signers  [params.SyncCommitteeBitmaskSize]byte
	sig      [params.BLSSignatureSize]byte
	sigSlot  uint64
	finality bool
}

func keyOf(sh types.SignedHeader, finality bool) updateKey {
	return updateKey{root: sh.Header.Hash(), signers: sh.Signature.Signers, sig: sh.Signature.Signature, sigSlot: sh.SignatureSlot, finality: finality}
}

// probe is the head tracker head sync uses; it records each verdict.
type probe struct {
	*light.HeadTracker
	verdicts map[updateKey]verdict
}

type verdict struct {
	accepted bool
	err      error
	sh       types.SignedHeader
}

func (p *probe) record(k updateKey, sh types.SignedHeader, ok bool, err error) {
	v := p.verdicts[k]
	p.verdicts[k] = verdict{accepted: v.accepted || ok, err: err, sh: sh}
}

func (p *probe) ValidateOptimistic(u types.OptimisticUpdate) (bool, error) {
	ok, err := p.HeadTracker.ValidateOptimistic(u)
	p.record(keyOf(u.SignedHeader(), false), u.SignedHeader(), ok, err)
	return ok, err
}

func (p *probe) ValidateFinality(u types.FinalityUpdate) (bool, error) {
	ok, err := p.HeadTracker.ValidateFinality(u)
	p.record(keyOf(u.SignedHeader(), true), u.SignedHeader(), ok, err)
	return ok, err
}

func newGate(c *Client) *gate {
	p := &probe{HeadTracker: c.heads, verdicts: make(map[updateKey]verdict)}
	return &gate{
		c:       c,
		forward: lsync.NewForwardUpdateSync(chainGuard{c}),
		heads:   lsync.NewHeadSync(p, chainGuard{c}),
		probe:   p,
		servers: make(map[request.Server]*endpoint),
		sentBy:  make(map[updateKey][]*endpoint),
		queue:   make(map[*endpoint]*queued),
	}
}

// push queues an endpoint's decoded update (the latest of each kind per
// endpoint wins) and wakes the scheduler. Endpoint goroutines call it.
func (g *gate) push(ep *endpoint, u any) {
	g.mu.Lock()
	q := g.queue[ep]
	if q == nil {
		q = new(queued)
		g.queue[ep] = q
	}
	switch u := u.(type) {
	case types.OptimisticUpdate:
		q.opt = &u
	case types.FinalityUpdate:
		q.fin = &u
	}
	g.mu.Unlock()
	g.c.sched.Trigger()
}

// Process implements request.Module.
func (g *gate) Process(r request.Requester, events []request.Event) {
	var fwd, head []request.Event
	for _, ev := range events {
		if ev.IsRequestEvent() {
			_, req, resp := ev.RequestInfo()
			switch req.(type) {
			case lsync.ReqUpdates:
				fwd = append(fwd, ev)
			case lsync.ReqFinality:
				if u, ok := resp.(types.FinalityUpdate); ok && ev.Type == request.EvResponse && g.admitFinality(r, ev.Server, u) {
					head = append(head, ev)
				}
			}
			continue
		}
		g.track(ev)
		fwd, head = append(fwd, ev), append(head, ev)
	}
	for _, ev := range g.drain(r) {
		if ev.Type == lsync.EvNewOptimisticUpdate {
			fwd = append(fwd, ev)
		}
		head = append(head, ev)
	}
	g.forward.Process(r, fwd)
	clear(g.probe.verdicts)
	g.heads.Process(r, head)
	g.judge(r)
	g.c.publish()
}

func (g *gate) track(ev request.Event) {
	switch ev.Type {
	case request.EvRegistered:
		for _, ep := range g.c.eps {
			if ep.server() == ev.Server {
				g.servers[ev.Server] = ep
			}
		}
	case request.EvUnregistered:
		delete(g.servers, ev.Server)
	}
}

// drain turns the queued updates of registered endpoints into head sync
// events, after admitting them.
func (g *gate) drain(r request.Requester) []request.Event {
	g.mu.Lock()
	q := g.queue
	g.queue = make(map[*endpoint]*queued)
	g.mu.Unlock()
	var out []request.Event
	for ep, item := range q {
		srv := ep.server()
		if srv == nil {
			continue // dropped
		}
		if g.servers[srv] != ep { // registration not seen yet: next round
			g.requeue(ep, item)
			continue
		}
		if item.opt != nil && g.admitOptimistic(r, srv, *item.opt) {
			out = append(out, request.Event{Type: lsync.EvNewOptimisticUpdate, Server: srv, Data: *item.opt})
		}
		if item.fin != nil && g.admitFinality(r, srv, *item.fin) {
			out = append(out, request.Event{Type: lsync.EvNewFinalityUpdate, Server: srv, Data: *item.fin})
		}
	}
	return out
}

func (g *gate) requeue(ep *endpoint, item *queued) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if _, newer := g.queue[ep]; !newer {
		g.queue[ep] = item
	}
}

func (g *gate) admitOptimistic(r request.Requester, srv request.Server, u types.OptimisticUpdate) bool {
	return g.admit(r, srv, u.SignedHeader(), false, func() error { return u.Validate(g.c.spec.chain) })
}

func (g *gate) admitFinality(r request.Requester, srv request.Server, u types.FinalityUpdate) bool {
	return g.admit(r, srv, u.SignedHeader(), true, func() error { return u.Validate(g.c.spec.chain) })
}

// admit decides whether an update may reach head sync.
func (g *gate) admit(r request.Requester, srv request.Server, sh types.SignedHeader, finality bool, validate func() error) bool {
	ep := g.servers[srv]
	if ep == nil || ep.quarantined() {
		return false
	}
	kind := kindName(finality)
	if n := sh.Signature.SignerCount(); n < Threshold {
		g.c.m.update(kind, "low_signers")
		ep.noteErr(fmt.Errorf("%s update for slot %d has %d signers, below %d", kind, sh.Header.Slot, n, Threshold))
		return false
	}
	if err := validate(); err != nil {
		g.c.m.update(kind, "bad_proof")
		g.blame(r, srv, ep, fmt.Sprintf("%s update with an invalid proof: %v", kind, err))
		return false
	}
	now, slotTime := g.c.clock.Now(), g.c.spec.SlotTime(sh.Header.Slot)
	if slotTime.After(now.Add(g.c.spec.SlotDuration)) {
		g.c.m.update(kind, "future")
		ep.noteErr(fmt.Errorf("%s update for slot %d, which starts in %v: check the clock", kind, sh.Header.Slot, slotTime.Sub(now)))
		return false
	}
	if !finality && now.Sub(slotTime) > g.c.cfg.MaxHeadAge {
		g.c.m.update(kind, "stale")
		ep.noteErr(fmt.Errorf("signed head for slot %d is %v old, over max_head_age", sh.Header.Slot, now.Sub(slotTime)))
		return false
	}
	key := keyOf(sh, finality)
	if g.isGood(key) {
		g.c.m.update(kind, "duplicate")
		return true
	}
	if !g.newer(sh, finality) {
		g.settle(r, key, verdict{sh: sh}, []*endpoint{ep})
		return false
	}
	if len(g.sentBy) >= maxPending {
		clear(g.sentBy)
	}
	g.sentBy[key] = append(g.sentBy[key], ep)
	return true
}

// newer applies the head tracker's rule: a later slot, or more signers.
func (g *gate) newer(sh types.SignedHeader, finality bool) bool {
	var cur types.SignedHeader
	var ok bool
	if finality {
		var f types.FinalityUpdate
		f, ok = g.c.heads.ValidatedFinality()
		cur = f.SignedHeader()
	} else {
		var o types.OptimisticUpdate
		o, ok = g.c.heads.ValidatedOptimistic()
		cur = o.SignedHeader()
	}
	return !ok || sh.Header.Slot > cur.Header.Slot ||
		(sh.Header.Slot == cur.Header.Slot && sh.Signature.SignerCount() > cur.Signature.SignerCount())
}

// judge settles the head tracker's verdicts on the updates the gate passed.
func (g *gate) judge(r request.Requester) {
	for key, v := range g.probe.verdicts {
		eps, ok := g.sentBy[key]
		if !ok {
			continue // a duplicate, counted when admitted
		}
		delete(g.sentBy, key)
		g.settle(r, key, v, eps)
	}
}

// settle counts a verdict; an update not accepted is checked against the
// committee, and a signature the committee did not make is blamed on the
// endpoints that sent it.
func (g *gate) settle(r request.Requester, key updateKey, v verdict, eps []*endpoint) {
	kind := kindName(key.finality)
	if v.accepted {
		g.markGood(key)
		g.c.m.update(kind, "accepted")
		return
	}
	if ok, _, err := g.c.chain.VerifySignedHeader(v.sh); err == nil && !ok {
		g.c.m.update(kind, "bad_signature")
		for _, ep := range eps {
			if srv := ep.server(); srv != nil {
				g.blame(r, srv, ep, fmt.Sprintf("%s update for slot %d with a signature the sync committee did not make", kind, v.sh.Header.Slot))
			}
		}
		return
	}
	if v.err != nil {
		g.c.m.update(kind, "rejected")
		g.c.log.Debug("beacon update rejected", "kind", kind, "slot", v.sh.Header.Slot, "err", v.err)
		return
	}
	g.c.m.update(kind, "old")
}

func (g *gate) blame(r request.Requester, srv request.Server, ep *endpoint, reason string) {
	r.Fail(srv, reason)
	until, first := ep.quarantine(reason)
	if !first {
		return
	}
	g.c.log.Warn("beacon API quarantined", "beacon_api", ep.name, "reason", reason, "until", until)
	g.c.drop(ep, until)
}

func (g *gate) isGood(k updateKey) bool {
	for _, good := range g.good {
		if good == k {
			return true
		}
	}
	return false
}

func (g *gate) markGood(k updateKey) {
	if len(g.good) >= goodKeys {
		g.good = g.good[1:]
	}
	g.good = append(g.good, k)
}

func kindName(finality bool) string {
	if finality {
		return "finality"
	}
	return "optimistic"
}
