package peers

import (
	"context"
	"sync"
	"time"

	"github.com/braidrpc/braid/internal/history"
)

// provider announces the keys a node holds in the DHT (a provider record
// at the peers closest to each key), with Workers at once, announces again
// those that failed after Retry and every key every Interval (records
// expire after 48 h). It tracks at most MaxKeys keys; its queue holds each
// key at most once, so it is bounded by them too.
type provider struct {
	n    *Node
	opts ProvideOptions

	mu      sync.Mutex
	keys    map[Key]*provState
	queue   []Key
	refused int64
	made    int64 // successful announcements
	wake    chan struct{}
	wg      sync.WaitGroup
}

type provState struct {
	queued    bool
	announced bool // the last announcement succeeded
}

func newProvider(n *Node) *provider {
	return &provider{n: n, opts: n.opts.Provide, keys: map[Key]*provState{}, wake: make(chan struct{}, 1)}
}

func (p *provider) start() {
	for range p.opts.Workers {
		p.wg.Go(p.work)
	}
	p.wg.Go(p.schedule)
}

func (p *provider) wait() { p.wg.Wait() }

// add tracks keys and queues them for announcing.
func (p *provider) add(keys []Key) {
	p.mu.Lock()
	for _, k := range keys {
		if !k.Kind.Valid() {
			continue
		}
		st, ok := p.keys[k]
		if !ok {
			if len(p.keys) >= p.opts.MaxKeys {
				p.refused++
				continue
			}
			st = &provState{}
			p.keys[k] = st
		}
		p.enqueue(k, st)
	}
	p.mu.Unlock()
	p.signal()
}

// enqueue queues a tracked key once. p.mu must be held.
func (p *provider) enqueue(k Key, st *provState) {
	if !st.queued {
		st.queued = true
		p.queue = append(p.queue, k)
	}
}

func (p *provider) signal() {
	select {
	case p.wake <- struct{}{}:
	default:
	}
}

// remove stops tracking keys; records already announced expire.
func (p *provider) remove(keys []Key) {
	p.mu.Lock()
	for _, k := range keys {
		delete(p.keys, k)
	}
	p.mu.Unlock()
}

// next pops a key still tracked.
func (p *provider) next() (Key, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for len(p.queue) > 0 {
		k := p.queue[0]
		p.queue = p.queue[1:]
		if st, ok := p.keys[k]; ok {
			st.queued = false
			return k, true
		}
	}
	p.queue = nil
	return Key{}, false
}

func (p *provider) work() {
	ctx := p.n.ctx
	for ctx.Err() == nil {
		k, ok := p.next()
		if !ok {
			select {
			case <-ctx.Done():
			case <-p.wake:
			}
			continue
		}
		p.signal() // another worker may take the next key meanwhile
		actx, cancel := context.WithTimeout(ctx, p.opts.Timeout)
		err := p.n.dht.Provide(actx, k.CID(), true)
		cancel()
		p.mu.Lock()
		if st, ok := p.keys[k]; ok {
			st.announced = err == nil
		}
		if err == nil {
			p.made++
		}
		p.mu.Unlock()
		if err != nil && ctx.Err() == nil {
			p.n.log.Debug("announce failed", "key", k.String(), "err", err)
		}
	}
}

// firstRetry is the first wait before failed announcements are tried
// again. A node that has just started has often not joined the DHT yet
// (its routing table is empty until a bootstrap peer answers), so every
// announcement fails at once; waiting the whole Retry then would keep a
// restarted gateway's content unfindable for a minute for no reason.
const firstRetry = time.Second

// schedule queues failed keys again and every key every Interval. The
// first retry comes after firstRetry and each round that still finds
// failures (or keys not yet tried) doubles the wait, up to Retry; a round
// with none waits Retry.
func (p *provider) schedule() {
	ctx := p.n.ctx
	last := p.n.clock.Now()
	wait := min(firstRetry, p.opts.Retry)
	for {
		select {
		case <-ctx.Done():
			return
		case <-p.n.clock.After(wait):
		}
		all := p.n.clock.Now().Sub(last) >= p.opts.Interval
		if all {
			last = p.n.clock.Now()
		}
		failed := false
		p.mu.Lock()
		for k, st := range p.keys {
			if !st.announced {
				failed = true
			}
			if all || !st.announced {
				p.enqueue(k, st)
			}
		}
		p.mu.Unlock()
		p.signal()
		if failed {
			wait = min(2*wait, p.opts.Retry)
		} else {
			wait = p.opts.Retry
		}
	}
}

// counts returns the keys announced, those waiting (queued or failed),
// those refused over MaxKeys and the announcements made.
func (p *provider) counts() (announced, pending int, refused, made int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, st := range p.keys {
		if st.announced {
			announced++
		} else {
			pending++
		}
	}
	return announced, pending, p.refused, p.made
}

func (p *provider) count() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.keys)
}

// Provide announces that this node holds keys (queued: each announcement
// is a DHT walk) and keeps them announced until Withdraw. Keys over
// ProvideOptions.MaxKeys are refused (Status counts them).
func (n *Node) Provide(keys ...Key) { n.prov.add(keys) }

// Withdraw stops announcing keys. The DHT has no withdrawal: records
// already out expire within 48 h, and a peer asking meanwhile is told
// CodeNotHeld.
func (n *Node) Withdraw(keys ...Key) { n.prov.remove(keys) }

// OnStored adapts history.Options.Notify: the parts of a block the store
// now holds are announced, the others withdrawn (all of them when it was
// evicted). After a restart, announce history.Store.Items the same way.
func (n *Node) OnStored(ev history.Event) {
	var add, drop []Key
	for _, k := range Kinds {
		key := Key{Kind: k, Hash: ev.Hash}
		if ev.Parts&partOf(k) != 0 {
			add = append(add, key)
		} else {
			drop = append(drop, key)
		}
	}
	n.Withdraw(drop...)
	n.Provide(add...)
}

// partOf is the store's part of a kind.
func partOf(k Kind) history.Parts {
	switch k {
	case Header:
		return history.HeaderPart
	case Body:
		return history.BodyPart
	case Receipts:
		return history.ReceiptsPart
	}
	return 0
}
