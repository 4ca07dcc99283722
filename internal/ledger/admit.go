package ledger

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/braidrpc/braid/internal/peers"
)

// queue is the serving state: requests being served and those waiting.
type queue struct {
	inUse   int
	waiting []*Ticket
	seq     uint64
	handed  uint64 // slots handed to waiting requests, for NewcomerEvery
}

type ticketState uint8

const (
	waiting ticketState = iota
	admitted
	refused
	cancelled
	finished
)

// Ticket is one request's place in the serving order (Request). Once
// Ready is closed, Err says whether it was admitted (nil: serve it, then
// call Done) or refused.
type Ticket struct {
	l     *Ledger
	peer  peer.ID
	seq   uint64
	ready chan struct{}
	state ticketState // under l.mu
	err   error
}

// errCancelled is a cancelled ticket's Err.
var errCancelled = errors.New("ledger: request withdrawn")

// Admit implements peers.Ledger: a request is served at once when a slot
// is free and nobody waits; otherwise it waits, and slots are handed out
// by balance (those who gave more first; every NewcomerEvery-th to the
// longest-waiting newcomer), until ctx ends (then CodeBusy). A debtor
// (balance below −DebtLimit) is served only from spare capacity: with
// others waiting it is refused at once with CodeLowStanding and a reason
// that says its balance, the limit and how to recover.
func (l *Ledger) Admit(ctx context.Context, in peers.Inbound) (func(), error) {
	t, err := l.Request(in)
	if err != nil {
		return nil, err
	}
	select {
	case <-t.ready:
	case <-ctx.Done():
		if t.Cancel() {
			return nil, l.timedOut(in.Peer)
		}
	}
	if err := t.Err(); err != nil {
		return nil, err
	}
	return t.Done, nil
}

// Request is Admit without waiting (the simulation drives it on its own
// clock): it returns a Ticket, admitted already or waiting, or a
// *peers.Refusal.
func (l *Ledger) Request(in peers.Inbound) (*Ticket, error) {
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return nil, &peers.Refusal{Code: peers.CodeBusy, Reason: "shutting down"}
	}
	l.q.seq++
	t := &Ticket{l: l, peer: in.Peer, seq: l.q.seq, ready: make(chan struct{})}
	if l.q.inUse < l.cfg.Capacity && len(l.q.waiting) == 0 {
		l.q.inUse++
		t.state = admitted
		close(t.ready)
		l.metrics.admission("now")
		return t, nil
	}
	bal := l.balanceAt(in.Peer, now)
	if bal < -l.cfg.DebtLimit {
		l.metrics.admission("low_standing")
		return nil, l.lowStanding(bal)
	}
	if len(l.q.waiting) >= l.cfg.MaxWaiting {
		w := l.worstWaiting(now)
		if l.balanceAt(l.q.waiting[w].peer, now) >= bal {
			l.metrics.admission("busy")
			return nil, &peers.Refusal{Code: peers.CodeBusy, Reason: fmt.Sprintf(
				"busy: %d requests of better standing wait; your balance here is %.0f credits", len(l.q.waiting), bal)}
		}
		out := l.q.waiting[w]
		l.q.waiting = slices.Delete(l.q.waiting, w, w+1)
		out.state, out.err = refused, &peers.Refusal{Code: peers.CodeBusy,
			Reason: "busy: pushed out of the queue by a request of better standing"}
		close(out.ready)
		l.metrics.admission("busy")
	}
	t.state = waiting
	l.q.waiting = append(l.q.waiting, t)
	l.metrics.admission("queued")
	return t, nil
}

// balanceAt is p's balance at now (0 without an account). l.mu must be
// held.
func (l *Ledger) balanceAt(p peer.ID, now time.Time) float64 {
	a := l.accounts[p]
	if a == nil {
		return 0
	}
	a.settle(now, l.cfg.ForgiveRate)
	return a.Balance
}

// newcomerAt reports whether p is a newcomer at now. l.mu must be held.
func (l *Ledger) newcomerAt(p peer.ID, now time.Time) bool {
	a := l.accounts[p]
	if a != nil {
		a.settle(now, l.cfg.ForgiveRate)
	}
	return a.newcomer(&l.cfg)
}

// lowStanding is the refusal of a debtor with balance bal. l.mu must be
// held.
func (l *Ledger) lowStanding(bal float64) *peers.Refusal {
	wait := time.Duration((-l.cfg.DebtLimit - bal) / l.cfg.ForgiveRate * float64(time.Second)).Round(time.Second)
	return &peers.Refusal{Code: peers.CodeLowStanding, Reason: fmt.Sprintf(
		"low standing: your balance here is %.0f credits, past the debt limit of -%.0f: served only from spare capacity, "+
			"and %d requests wait. Serve this peer content, or wait %s for forgiveness",
		bal, l.cfg.DebtLimit, len(l.q.waiting), wait)}
}

// timedOut is the refusal of a request that waited until its deadline.
func (l *Ledger) timedOut(p peer.ID) *peers.Refusal {
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	l.metrics.admission("timeout")
	return &peers.Refusal{Code: peers.CodeBusy, Reason: fmt.Sprintf(
		"busy: waited behind requests of better standing; your balance here is %.0f credits: serve this peer content to move up",
		l.balanceAt(p, now))}
}

// worstWaiting is the index of the waiting request served last: the
// lowest balance, the latest among equals. l.mu must be held.
func (l *Ledger) worstWaiting(now time.Time) int {
	worst, wb := 0, 0.0
	for i, t := range l.q.waiting {
		b := l.balanceAt(t.peer, now)
		if i == 0 || b < wb || (b == wb && t.seq > l.q.waiting[worst].seq) {
			worst, wb = i, b
		}
	}
	return worst
}

// next is the index of the waiting request to serve next: every
// NewcomerEvery-th slot the longest-waiting newcomer's, if one waits;
// otherwise the highest balance, the earliest among equals. l.mu must be
// held, and a request must be waiting.
func (l *Ledger) next(now time.Time) int {
	l.q.handed++
	if every := l.cfg.NewcomerEvery; every > 0 && l.q.handed%uint64(every) == 0 {
		for i, t := range l.q.waiting { // in arrival order
			if l.newcomerAt(t.peer, now) {
				return i
			}
		}
	}
	best, bb := 0, 0.0
	for i, t := range l.q.waiting {
		b := l.balanceAt(t.peer, now)
		if i == 0 || b > bb {
			best, bb = i, b
		}
	}
	return best
}

// admitNext hands free slots to waiting requests. l.mu must be held.
func (l *Ledger) admitNext() {
	now := l.now()
	for l.q.inUse < l.cfg.Capacity && len(l.q.waiting) > 0 {
		i := l.next(now)
		t := l.q.waiting[i]
		l.q.waiting = slices.Delete(l.q.waiting, i, i+1)
		l.q.inUse++
		t.state = admitted
		close(t.ready)
	}
}

// Ready is closed once the request is admitted or refused.
func (t *Ticket) Ready() <-chan struct{} { return t.ready }

// Err is nil for a request admitted (or still waiting), the refusal of
// one pushed out of the queue, errCancelled for one withdrawn.
func (t *Ticket) Err() error {
	t.l.mu.Lock()
	defer t.l.mu.Unlock()
	switch t.state {
	case refused:
		return t.err
	case cancelled:
		return errCancelled
	}
	return nil
}

// Admitted reports whether the request holds a slot now (admitted and
// not Done).
func (t *Ticket) Admitted() bool {
	t.l.mu.Lock()
	defer t.l.mu.Unlock()
	return t.state == admitted
}

// Cancel withdraws a waiting request and reports whether it did; false
// means it was admitted (call Done) or refused already.
func (t *Ticket) Cancel() bool {
	t.l.mu.Lock()
	defer t.l.mu.Unlock()
	if t.state != waiting {
		return false
	}
	if i := slices.Index(t.l.q.waiting, t); i >= 0 {
		t.l.q.waiting = slices.Delete(t.l.q.waiting, i, i+1)
	}
	t.state = cancelled
	close(t.ready)
	return true
}

// Done frees an admitted request's slot for the next one. It may be
// called more than once.
func (t *Ticket) Done() {
	t.l.mu.Lock()
	defer t.l.mu.Unlock()
	if t.state != admitted {
		return
	}
	t.state = finished
	t.l.q.inUse--
	t.l.admitNext()
}

// Queue reports the requests being served and those waiting.
func (l *Ledger) Queue() (serving, waiting int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.q.inUse, len(l.q.waiting)
}
