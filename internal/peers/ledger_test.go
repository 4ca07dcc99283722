package peers

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/braidrpc/braid/internal/await"
)

// ledger is a test Ledger: it records every call and admits as told.
type ledger struct {
	admit func(ctx context.Context, in Inbound) (func(), error)

	mu                              sync.Mutex
	inbound                         []Inbound
	delivered, lied, missed, served []Transfer
}

func (l *ledger) Admit(ctx context.Context, in Inbound) (func(), error) {
	l.mu.Lock()
	l.inbound = append(l.inbound, in)
	l.mu.Unlock()
	if l.admit == nil {
		return nil, nil
	}
	return l.admit(ctx, in)
}

func (l *ledger) add(to *[]Transfer, t Transfer) {
	l.mu.Lock()
	defer l.mu.Unlock()
	*to = append(*to, t)
}

func (l *ledger) Delivered(t Transfer) { l.add(&l.delivered, t) }
func (l *ledger) Lied(t Transfer)      { l.add(&l.lied, t) }
func (l *ledger) Missed(t Transfer)    { l.add(&l.missed, t) }
func (l *ledger) Served(t Transfer)    { l.add(&l.served, t) }

func (l *ledger) snapshot() (in []Inbound, delivered, missed, served []Transfer) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]Inbound(nil), l.inbound...), append([]Transfer(nil), l.delivered...),
		append([]Transfer(nil), l.missed...), append([]Transfer(nil), l.served...)
}

// TestLedgerSeesEveryTransfer: both sides' Ledgers are told of a served
// and a delivered transfer with the content's age (the holder's store
// knows the number, Options.Head the tip), the rarity and the bytes; the
// metrics count them.
func TestLedgerSeesEveryTransfer(t *testing.T) {
	b := busyBlock(t)
	store := openStore(t)
	storeBlock(t, store, b)
	var holderBook, fetcherBook ledger
	reg := prometheus.NewRegistry()
	head := b.Number() + 1000
	nodes := cluster(t, 2, func(i int, o *Options) {
		o.Head = func() (uint64, bool) { return head, true }
		if i == 0 {
			o.Ledger = &fetcherBook
		} else {
			o.Ledger, o.Holder, o.Registerer = &holderBook, store, reg
		}
	})
	fetcher, holder := nodes[0], nodes[1]
	key := Key{Receipts, b.Hash()}
	holder.Provide(key)
	waitHolders(t, fetcher, key, 1)
	data, tr, err := fetcher.Fetch(context.Background(), key, Age{Number: b.Number(), Known: true}, checkFor(b, Receipts))
	if err != nil {
		t.Fatal(err)
	}
	// The holder records its serve once its reply is written, which the
	// fetcher may have read before that (it failed once under load), and
	// counts it in its metrics (transfers, then bytes) after telling its
	// ledger.
	outServed := map[string]string{"direction": "out", "kind": "receipts", "result": "served"}
	await.Within(t, peerWait, "the holder records the serve", func() bool {
		_, _, _, served := holderBook.snapshot()
		return len(served) > 0 && metricValue(t, reg, "braid_peer_bytes_total", map[string]string{"direction": "out"}) > 0
	})
	in, _, _, served := holderBook.snapshot()
	if len(in) != 1 || in[0].Peer != fetcher.ID() || in[0].Key != key || in[0].Age.Depth != 1000 {
		t.Fatalf("admissions %+v", in)
	}
	if len(served) != 1 || served[0].Result != Served || served[0].Bytes != len(data) ||
		served[0].Direction != Out || served[0].Age.Number != b.Number() || served[0].Peer != fetcher.ID() {
		t.Fatalf("served %+v", served)
	}
	_, delivered, _, _ := fetcherBook.snapshot()
	if len(delivered) != 1 || delivered[0] != tr || tr.Age.Depth != 1000 || tr.Holders != 1 {
		t.Fatalf("delivered %+v (returned %+v)", delivered, tr)
	}
	if v := metricValue(t, reg, "braid_peer_transfers_total", outServed); v != 1 {
		t.Fatalf("transfers metric %v", v)
	}
	if v := metricValue(t, reg, "braid_peer_bytes_total", map[string]string{"direction": "out"}); v != float64(len(data)) {
		t.Fatalf("bytes metric %v, want %d", v, len(data))
	}
	if v := metricValue(t, reg, "braid_peers", nil); v < 1 {
		t.Fatalf("peers gauge %v", v)
	}
	if v := metricValue(t, reg, "braid_peer_provided_keys", nil); v != 1 {
		t.Fatalf("provided keys gauge %v", v)
	}
}

// TestLedgerRefusesAndQueues: a Ledger's refusal reaches the fetcher with
// its code and reason; a request it queues is served once let through,
// and one it holds past AdmitTimeout is answered busy; done is called
// after each served request.
func TestLedgerRefusesAndQueues(t *testing.T) {
	b := busyBlock(t)
	store := openStore(t)
	storeBlock(t, store, b)
	var (
		mode     = make(chan string, 1)
		release  = make(chan struct{})
		doneMu   sync.Mutex
		doneCall int
	)
	holderBook := ledger{admit: func(ctx context.Context, in Inbound) (func(), error) {
		m := <-mode
		mode <- m
		switch m {
		case "refuse":
			return nil, &Refusal{Code: CodeLowStanding, Reason: "balance below threshold: served from spare capacity only"}
		case "queue":
			select {
			case <-release:
			case <-ctx.Done():
				return nil, ctx.Err()
			}
		}
		return func() { doneMu.Lock(); doneCall++; doneMu.Unlock() }, nil
	}}
	var fetcherBook ledger
	nodes := cluster(t, 2, func(i int, o *Options) {
		if i == 0 {
			o.Ledger = &fetcherBook
		} else {
			o.Ledger, o.Holder = &holderBook, store
			o.Limits.AdmitTimeout = 300 * time.Millisecond
		}
	})
	fetcher, holder := nodes[0], nodes[1]
	key := Key{Header, b.Hash()}
	holder.Provide(key)
	waitHolders(t, fetcher, key, 1)

	mode <- "refuse"
	resp, err := ask(fetcher, holder, key)
	if err != nil || resp.Code != CodeLowStanding || string(resp.Payload) != "balance below threshold: served from spare capacity only" {
		t.Fatalf("refusal: %v %q %v", resp.Code, resp.Payload, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	_, _, err = fetcher.Fetch(ctx, key, Age{}, CheckHeader(b.Hash()))
	cancel()
	if err == nil {
		t.Fatal("a refused fetch succeeded")
	}
	_, _, missed, _ := fetcherBook.snapshot()
	var r *Refusal
	if len(missed) == 0 || missed[0].Result != Refused || !errors.As(missed[0].Err, &r) || r.Code != CodeLowStanding {
		t.Fatalf("fetcher's misses %+v", missed)
	}

	<-mode
	mode <- "queue" // held past AdmitTimeout: busy
	resp, err = ask(fetcher, holder, key)
	if err != nil || resp.Code != CodeBusy {
		t.Fatalf("queued past the deadline: %v %q %v", resp.Code, resp.Payload, err)
	}
	in, _, _, _ := holderBook.snapshot()
	asked := len(in)
	got := make(chan Response, 1)
	go func() { resp, _ := ask(fetcher, holder, key); got <- resp }()
	await.Within(t, peerWait, "the request queued", func() bool { in, _, _, _ := holderBook.snapshot(); return len(in) == asked+1 })
	close(release)
	if resp := <-got; resp.Code != CodeOK {
		t.Fatalf("queued request: %v %q", resp.Code, resp.Payload)
	}
	await.Within(t, peerWait, "done called", func() bool { doneMu.Lock(); defer doneMu.Unlock(); return doneCall == 1 })
}

// TestMetricsRegistryTakesOneNodeAtATime: a second node on a registry in
// use is an error, not a panic; after Close the registry takes another.
func TestMetricsRegistryTakesOneNodeAtATime(t *testing.T) {
	reg := prometheus.NewRegistry()
	o := loopback(t)
	o.Registerer = reg
	first := startNode(t, o)
	second := loopback(t)
	second.Registerer = reg
	if n, err := New(second); err == nil {
		n.Close()
		t.Fatal("two nodes on one registry")
	}
	if err := first.Close(); err != nil {
		t.Fatal(err)
	}
	startNode(t, second)
	if v := metricValue(t, reg, "braid_peer_provided_keys", nil); v != 0 {
		t.Fatalf("gauge %v", v)
	}
}
