package simulation

import (
	mrand "math/rand"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/braidrpc/braid/internal/ledger"
	"github.com/braidrpc/braid/internal/peers"
)

// fetch is one peer's request for one block, asked of its holders in
// order over the rounds of a step.
type fetch struct {
	from    *node
	b       uint64
	order   []peer.ID
	next    int
	holders int
	done    bool
}

// placeholder fills a holder's slots while a round's requests queue, so
// the ledger hands them out by standing (its Admit under contention).
var placeholder = peer.ID("simulation-placeholder")

// demand makes every online peer but the archival ones ask for one block,
// its depth drawn from a Zipf law, and runs the rounds of requests. A
// block less than ProviderDepth deep comes from the providers (they prune
// what is older: EIP-4444) and is offered to the asking peer's store;
// older ones are asked of peers.
func (w *world) demand() {
	head, _ := w.head()
	z := mrand.NewZipf(w.zrnd, w.p.ZipfS, 1, head)
	var fs []*fetch
	for _, n := range w.nodes {
		if !n.online || n.gone || n.role == Archival {
			continue
		}
		b := head - z.Uint64()
		if n.store.has(b) {
			n.store.use(b, w.clk.Now())
			continue
		}
		if !w.pruned(b) { // providers still serve it; the gateway keeps what it verified
			w.win.provided++
			w.keep(n, b)
			continue
		}
		f := &fetch{from: n, b: b, order: w.findHolders(n, b)}
		f.holders = len(f.order)
		if n.led != nil && w.regime == Braid {
			f.order = n.led.Rank(w.key(b), w.age(b), f.order)
		}
		w.win.asked[n.role]++
		if n.honest() {
			w.win.oldAsked++
		}
		fs = append(fs, f)
	}
	for range w.p.Rounds {
		w.round(fs)
	}
}

// old reports whether block b is old: AgeDepth or more below the tip.
func (w *world) old(b uint64) bool { return w.age(b).Depth >= w.cfg.AgeDepth }

// pruned reports whether the providers no longer serve block b:
// ProviderDepth or more below the tip.
func (w *world) pruned(b uint64) bool { return w.age(b).Depth >= w.p.ProviderDepth }

// round sends every pending fetch to its next holder that can answer:
// offline peers, liars and fakes answer at once (and the fetch moves on);
// requests to honest holders are admitted by each holder in one batch.
func (w *world) round(fs []*fetch) {
	inbox := map[int][]*fetch{}
	var slots []int
	for _, i := range w.rnd.Perm(len(fs)) {
		f := fs[i]
		for !f.done && f.next < len(f.order) {
			to := w.byID[f.order[f.next]]
			res, ok := w.unadmitted(to, f.b)
			if ok {
				if inbox[to.slot] == nil {
					slots = append(slots, to.slot)
				}
				inbox[to.slot] = append(inbox[to.slot], f)
				break
			}
			if to == nil {
				to = &node{id: f.order[f.next]}
			}
			w.record(f.from, to, f.b, res, f.holders)
			f.next++
		}
	}
	for _, s := range slots {
		to := w.nodes[s]
		served, refused := w.admit(to, inbox[s])
		for _, f := range served {
			w.record(f.from, to, f.b, w.serve(to, f.b), f.holders)
			f.done = true
			w.got(f)
		}
		for _, f := range refused {
			w.record(f.from, to, f.b, peers.Refused, f.holders)
			f.next++
		}
	}
}

// got counts a fetch that succeeded and offers the block to the
// fetcher's store.
func (w *world) got(f *fetch) {
	w.win.got[f.from.role]++
	if f.from.honest() {
		w.win.oldGot++
	}
	w.keep(f.from, f.b)
}

// admit splits a holder's requests of a round into served and refused:
// in regime None the first come (in random order) up to its capacity and
// budget; otherwise by its ledger, as Admit decides under contention.
func (w *world) admit(to *node, in []*fetch) (served, refused []*fetch) {
	give := min(w.capacity(to), to.budget)
	if give <= 0 {
		return nil, in
	}
	if to.led == nil {
		if len(in) <= give {
			return in, nil
		}
		return in[:give], in[give:]
	}
	var tickets []*ledger.Ticket
	var waiting []*fetch
	var ph []*ledger.Ticket
	if len(in) > give { // contention: every slot taken, so all queue
		for range w.capacity(to) {
			t, _ := to.led.Request(peers.Inbound{Peer: placeholder})
			ph = append(ph, t)
		}
	}
	for _, f := range in {
		t, err := to.led.Request(peers.Inbound{Peer: f.from.id, Key: w.key(f.b), Age: w.age(f.b), At: w.clk.Now()})
		if err != nil {
			refused = append(refused, f) // low standing, or pushed out
			continue
		}
		tickets, waiting = append(tickets, t), append(waiting, f)
	}
	for i := 0; i < give && i < len(ph); i++ {
		ph[i].Done() // a slot for the best waiting request
	}
	var admitted []*ledger.Ticket
	for i, t := range tickets {
		if t.Admitted() {
			served = append(served, waiting[i])
			admitted = append(admitted, t)
			continue
		}
		t.Cancel()
		refused = append(refused, waiting[i])
	}
	for _, t := range ph {
		t.Done()
	}
	for _, t := range admitted {
		t.Done()
	}
	return served, refused
}

// capacity is the requests a peer serves per round.
func (w *world) capacity(n *node) int {
	if n.role == Archival {
		return w.p.ArchivalCapacity
	}
	return w.p.Capacity
}
