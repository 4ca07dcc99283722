package ledger

import (
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/ethdb/pebble"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/braidrpc/braid/internal/await"
	"github.com/braidrpc/braid/internal/history"
	"github.com/braidrpc/braid/internal/peers"
)

// TestPersistence: accounts (balances, flows, penalties, audits, claims)
// and the counted rarity of held blocks survive Close and Open; an
// unreadable record is dropped, not fatal.
func TestPersistence(t *testing.T) {
	dir := t.TempDir()
	e := &env{clk: newEnv(t, Config{}).clk, head: testHead}
	l, err := Open(dir, e.opts(Config{}))
	if err != nil {
		t.Fatal(err)
	}
	e.l = l
	e.give(id(1), 5000)
	e.take(id(2), 3000)
	l.Lied(peers.Transfer{Peer: id(3), Direction: peers.In, Result: peers.Lie})
	l.recordAudit(Audit{Peer: id(1), Outcome: Passed})
	l.Rank(key(peers.Receipts, 100), e.age(100), []peer.ID{id(1), id(3)})
	l.OnStored(history.Event{Hash: synthHeader(100).Hash(), Number: 100, Parts: history.AllParts})
	l.OnStored(history.Event{Hash: synthHeader(101).Hash(), Number: 101, Parts: history.HeaderPart})
	before := l.Snapshot()
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	kv, err := pebble.New(dir, 8, 0, "test/", false)
	if err != nil {
		t.Fatal(err)
	}
	junk := map[string][]byte{accountPrefix + "junk": []byte("{not json"), heldPrefix + "short": []byte("{}")}
	for k, v := range junk {
		if err := kv.Put([]byte(k), v); err != nil {
			t.Fatal(err)
		}
	}
	kv.Close()

	again, err := Open(dir, e.opts(Config{}))
	if err != nil {
		t.Fatal(err)
	}
	defer again.Close()
	after := again.Snapshot()
	if !reflect.DeepEqual(before.Peers, after.Peers) {
		b, _ := json.Marshal(before.Peers)
		a, _ := json.Marshal(after.Peers)
		t.Fatalf("accounts changed across a restart:\n%s\n%s", b, a)
	}
	if !reflect.DeepEqual(before.Held, after.Held) || after.Held.Buckets[3].Blocks != 2 || after.Held.Buckets[3].Counted != 1 {
		t.Fatalf("held blocks changed: %+v, %+v", before.Held, after.Held)
	}
	if s, _ := again.Peer(id(1)); s.Claims != 1 || s.AuditsPassed != 1 || s.Balance != 5000 {
		t.Fatalf("account %+v", s)
	}
	for k := range junk {
		if ok, _ := again.db.kv.Has([]byte(k)); ok {
			t.Fatalf("unreadable record %q kept", k)
		}
	}
}

// TestMaxPeers: past MaxPeers accounts, one that only advertised goes
// before one that exchanged content, and the least recently seen first.
func TestMaxPeers(t *testing.T) {
	e := newEnv(t, Config{MaxPeers: 2})
	e.give(id(1), 100)
	e.clk.Advance(time.Second)
	e.l.Rank(key(peers.Body, 10), e.age(10), []peer.ID{id(2)}) // a claim only
	e.clk.Advance(time.Second)
	e.give(id(3), 100)
	if _, ok := e.l.Peer(id(2)); ok {
		t.Fatal("the advertiser was kept over a trading partner")
	}
	e.clk.Advance(time.Second)
	e.give(id(4), 100)
	if _, ok := e.l.Peer(id(1)); ok {
		t.Fatal("the least recently seen was kept")
	}
	if _, ok := e.l.Peer(id(3)); !ok {
		t.Fatal("a recent partner was forgotten")
	}
}

// fakeStore is a store for Run: what it holds, no bodies.
type fakeStore struct{ items []history.Item }

func (f fakeStore) Items() []history.Item              { return f.items }
func (fakeStore) Body(common.Hash) (*types.Body, bool) { return nil, false }

// gathered is every sample of reg by name{labels}.
func gathered(t *testing.T, reg *prometheus.Registry) map[string]float64 {
	t.Helper()
	fams, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for _, f := range fams {
		for _, m := range f.GetMetric() {
			name := f.GetName()
			if len(m.GetLabel()) > 0 {
				var parts []string
				for _, lp := range m.GetLabel() {
					parts = append(parts, lp.GetName()+"="+strconv.Quote(lp.GetValue()))
				}
				name += "{" + strings.Join(parts, ",") + "}"
			}
			out[name] = m.GetCounter().GetValue() + m.GetGauge().GetValue()
		}
	}
	return out
}

// TestRunAuditsCountsRepairsAndFlushes: Run, on the fake clock, takes
// what the store holds, audits at random times, counts holders, repairs
// and flushes; it stops with its context, flushing.
func TestRunAuditsCountsRepairsAndFlushes(t *testing.T) {
	dir := t.TempDir()
	e := &env{clk: newEnv(t, Config{}).clk, head: testHead}
	cfg := Config{AuditInterval: time.Minute, SampleInterval: time.Minute, RepairInterval: time.Minute, RepairFrom: 9000}
	l, err := Open(dir, e.opts(cfg))
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	e.l = l
	net := newFakeNet(l)
	for n := uint64(9000); n < 9900; n++ {
		net.advertise(n, id(int(n%5)))
	}
	store := fakeStore{items: []history.Item{{Hash: synthHeader(9000).Hash(), Number: 9000, Parts: history.AllParts}}}
	fills := make(chan uint64, 1000)
	fill := func(_ context.Context, n uint64, _ common.Hash) error { fills <- n; return nil }
	ctx, cancel := context.WithCancel(context.Background())
	ran := make(chan error, 1)
	go func() { ran <- l.Run(ctx, Tasks{Network: net, Headers: synthHeaders{}, Store: store, Fill: fill}) }()
	await.Until(t, "audits, counts and fills", func() bool {
		if e.clk.Waiters() >= 4 {
			e.clk.Advance(30 * time.Second)
		}
		s := l.Snapshot()
		return s.Audits["passed"] > 0 && s.Held.Buckets[2].Counted == 1 && len(fills) > 0
	})
	cancel()
	if err := <-ran; !errors.Is(err, context.Canceled) {
		t.Fatalf("Run returned %v", err)
	}
	if ok, _ := l.db.kv.Has([]byte(heldPrefix + string(synthHeader(9000).Hash().Bytes()))); !ok {
		t.Fatal("the held block's count was not flushed")
	}
}

// TestMetrics: the braid_ledger_* metrics count flows, penalties, audits
// and admissions and report held content; a registry takes one ledger at
// a time.
func TestMetrics(t *testing.T) {
	reg := prometheus.NewRegistry()
	e := newEnv(t, Config{})
	cfg := e.opts(Config{Capacity: 1})
	cfg.Registerer = reg
	l, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	e.l = l
	e.give(id(1), 1000)
	e.take(id(2), 500)
	l.Lied(peers.Transfer{Peer: id(3), Direction: peers.In, Result: peers.Lie})
	l.recordAudit(Audit{Peer: id(1), Outcome: Passed})
	l.OnStored(history.Event{Hash: synthHeader(5).Hash(), Number: 5, Parts: history.AllParts})
	tk, _ := l.Request(inbound(id(1)))
	l.Request(inbound(id(2)))
	net := newFakeNet(l)
	for n := uint64(testHead - 127); n <= testHead; n++ {
		net.advertise(n, id(1), id(4))
	}
	if _, err := l.SurveyOnce(context.Background(), net, synthHeaders{}, 2); err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]float64{
		`braid_ledger_survey_samples_total`:                    6, // three age buckets below a tip of 10,000
		`braid_ledger_history_holders{age="0-127"}`:            2,
		`braid_ledger_history_unheld_ratio{age="0-127"}`:       0,
		`braid_ledger_history_unheld_ratio{age="128-7199"}`:    1,
		`braid_ledger_credits_total{direction="in"}`:           1000,
		`braid_ledger_credits_total{direction="out"}`:          500,
		`braid_ledger_bytes_total{age="0-127",direction="in"}`: 1000,
		`braid_ledger_penalties_total{reason="lie"}`:           1,
		`braid_ledger_audits_total{result="passed"}`:           1,
		`braid_ledger_admissions_total{decision="now"}`:        1,
		`braid_ledger_admissions_total{decision="queued"}`:     1,
		`braid_ledger_waiting`:                                 1,
		`braid_ledger_serving`:                                 1,
		`braid_ledger_peers`:                                   3,
		`braid_ledger_held_blocks{age="7200-215999"}`:          1,
	} {
		if got := gathered(t, reg)[name]; got != want {
			t.Errorf("%s = %v, want %v", name, got, want)
		}
	}
	tk.Done()
	second := e.opts(Config{})
	second.Registerer = reg
	if _, err := New(second); err == nil {
		t.Fatal("two ledgers on one registry")
	}
	l.Close()
	if l2, err := New(second); err != nil {
		t.Fatalf("after Close: %v", err)
	} else {
		l2.Close()
	}
}
